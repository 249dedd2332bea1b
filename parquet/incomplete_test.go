package parquet_test

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/parquet"
	"github.com/gapan/gapan/sidecar"
)

// TestLossUnknownMetadata: a run whose sidecar has no trailer (a killed
// recorder) writes "loss unknown after frame N" into the key/value
// metadata of every table, N being the sidecar's last record.
func TestLossUnknownMetadata(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "zeek-dcerpc-20-fids-no-close.pcap", "list:5,17-19,40-49", 1)
	path := sidecar.PathFor(capture)
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	rd, err := sidecar.NewAutoReader(f, path)
	if err != nil {
		t.Fatal(err)
	}
	file, err := sidecar.ReadAll(rd)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	w, _ := sidecar.NewWriter(&b, file.Header)
	for _, r := range file.Records {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("loss unknown after frame %d (the sidecar ends there)", file.Records[len(file.Records)-1].Frame)

	out := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(out, []string{capture}, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{parquet.FramesTable, parquet.GapsTable, parquet.FlowsTable} {
		pr := openParquet(t, filepath.Join(out, table, parquet.PartFile))
		got := pr.MetaData().KeyValueMetadata().FindValue(parquet.MetaLossUnknown)
		pr.Close()
		if got == nil || *got != want {
			t.Errorf("%s: %s = %v, want %q", table, parquet.MetaLossUnknown, got, want)
		}
	}
}
