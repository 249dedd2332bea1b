package parquet_test

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	pq "github.com/apache/arrow/go/v15/parquet"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/parquet"
)

// dataPageEncodings returns, for each row group, the encodings of a
// column's data pages.
func dataPageEncodings(t *testing.T, path, column string) [][]pq.Encoding {
	t.Helper()
	pr := openParquet(t, path)
	defer pr.Close()
	idx := pr.MetaData().Schema.ColumnIndexByName(column)
	if idx < 0 {
		t.Fatalf("%s: no column %s", path, column)
	}
	var out [][]pq.Encoding
	for g := 0; g < pr.NumRowGroups(); g++ {
		cc, err := pr.MetaData().RowGroup(g).ColumnChunk(idx)
		if err != nil {
			t.Fatal(err)
		}
		var encs []pq.Encoding
		for _, st := range cc.EncodingStats() {
			if st.PageType.String() == "DATA_PAGE" && !slices.Contains(encs, st.Encoding) {
				encs = append(encs, st.Encoding)
			}
		}
		slices.Sort(encs)
		out = append(out, encs)
	}
	return out
}

// TestFramesDictionaries writes the frames table of a capture with many
// addresses (120,000 clients: nearly every address of a row group is
// distinct) in two row groups, 150,000 frames and 50,000, reads every
// value back, and checks the string columns' encodings: direction
// dictionary-encoded (the batch's own indices), src_ip and dst_ip plain
// (the batch writes their text; no dictionary to hash).
func TestFramesDictionaries(t *testing.T) {
	dir := t.TempDir()
	capture := filepath.Join(dir, "many.pcap")
	f, err := os.Create(capture)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(f, synth.Config{Flows: 120000, Frames: 200000, Payload: 10, AckEvery: 2, Seed: 3}, false); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	rg := 150000
	_, want, _ := writeRun(t, capture, dir, parquet.WriterOptions{RowGroupRows: rg, RowGroupBytes: 1 << 30})
	path := filepath.Join(dir, "frames.parquet")
	got := readParquet(t, path)
	if len(got.rows) != len(want) || got.groups != 2 {
		t.Fatalf("%d rows in %d row groups, want %d in 2", len(got.rows), got.groups, len(want))
	}
	for i := range want {
		if !reflect.DeepEqual(got.rows[i], want[i]) {
			t.Fatalf("frame row %d:\n got %v\nwant %v", i, got.rows[i], want[i])
		}
	}
	encodings := map[string][]pq.Encoding{
		"direction": {pq.Encodings.RLEDict},
		"src_ip":    {pq.Encodings.Plain},
		"dst_ip":    {pq.Encodings.Plain},
	}
	for col, w := range encodings {
		if enc := dataPageEncodings(t, path, col); !reflect.DeepEqual(enc, [][]pq.Encoding{w, w}) {
			t.Errorf("%s data page encodings by row group %v, want %v in each", col, enc, w)
		}
	}
}
