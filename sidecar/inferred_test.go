package sidecar

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// inferredFile writes an inferred sidecar: brackets before each records
// block, the totals before the trailer.
func inferredFile(t *testing.T, bs []Bracket, gaps []uint64, totals InferredTotals) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := NewWriter(&b, Header{Source: SourceInferred, Tool: "t"})
	if err != nil {
		t.Fatal(err)
	}
	for lo := 0; lo < len(bs); lo += 2 { // two records a block
		hi := min(lo+2, len(bs))
		p, err := AppendBrackets(nil, bs[lo:hi])
		if err != nil {
			t.Fatal(err)
		}
		if err := w.WriteAncillary(BlockBrackets, p); err != nil {
			t.Fatal(err)
		}
		for i := lo; i < hi; i++ {
			if err := w.Add(Record{Frame: bs[i].Frame, Gap: gaps[i]}); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.WriteAncillary(BlockInferredTotals, AppendInferredTotals(nil, totals)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(Trailer{Frames: 100}); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

// TestInferredBlocks writes an inferred sidecar with brackets and totals
// and requires: a reader that does not know the ancillary blocks (the
// skipping path of every version-1 reader) returns the same records and
// trailer; the dumps show each record's bracket and the totals; the text
// dump reads back, comments ignored, to the same records; damaged
// bracket payloads are ErrMalformed.
func TestInferredBlocks(t *testing.T) {
	bs := []Bracket{{5, 3, 5, 333}, {20, 12, 25, 71}, {40, 40, 40, 1000}}
	gaps := []uint64{2, 1, 7}
	file := inferredFile(t, bs, gaps, InferredTotals{HasTotal: true, Total: 15, Unplaced: 5})

	read := func(skip bool) (*Reader, *File) {
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		r.skipKnown = skip
		f, err := ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		return r, f
	}
	_, old := read(true)
	r, f := read(false)
	if len(old.Records) != 3 || old.Records[1] != (Record{20, 1}) || !old.HasTrailer || old.Trailer.Frames != 100 {
		t.Fatalf("old reader: %+v", old)
	}
	if len(f.Records) != 3 || f.Records[2] != old.Records[2] {
		t.Fatalf("reader: %+v", f)
	}
	if it, ok := r.InferredTotals(); !ok || it != (InferredTotals{true, 15, 5}) {
		t.Errorf("totals %+v %v", it, ok)
	}

	dump := func(fn func(w *bytes.Buffer, r RecordReader) error) string {
		r, err := NewReader(bytes.NewReader(file))
		if err != nil {
			t.Fatal(err)
		}
		var b bytes.Buffer
		if err := fn(&b, r); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	csv := dump(func(w *bytes.Buffer, r RecordReader) error { return WriteCSV(w, r) })
	if want := "frame,gap,first,last,confidence\n5,2,3,5,0.333\n20,1,12,25,0.071\n40,7,40,40,1.000\n"; csv != want {
		t.Errorf("csv:\n%s\nwant\n%s", csv, want)
	}
	text := dump(func(w *bytes.Buffer, r RecordReader) error { return ConvertToText(w, r) })
	for _, l := range []string{"20 1\n# bracket first=12 last=25 confidence=0.071\n", "# inferred total=15 unplaced=5\n# frames 100\n"} {
		if !strings.Contains(text, l) {
			t.Errorf("text dump lacks %q:\n%s", l, text)
		}
	}
	back, err := ReadText(strings.NewReader(text), "x")
	if err != nil || len(back.Records) != 3 || back.Records[2] != (Record{40, 7}) || back.Header.Source != SourceInferred {
		t.Errorf("text dump reads back as %+v, %v", back, err)
	}
	var j struct {
		Records []struct {
			Frame, Gap, First, Last uint64
			Confidence              float64
		}
		Inferred struct{ Total, Unplaced uint64 }
	}
	js := dump(func(w *bytes.Buffer, r RecordReader) error { return WriteJSON(w, r) })
	if err := json.Unmarshal([]byte(js), &j); err != nil {
		t.Fatal(err, js)
	}
	if len(j.Records) != 3 || j.Records[1].First != 12 || j.Records[1].Last != 25 || j.Records[0].Confidence != 0.333 || j.Inferred.Unplaced != 5 || j.Inferred.Total != 15 {
		t.Errorf("json: %s", js)
	}

	for _, bad := range [][]byte{
		{1, 0, 0, 0},                   // count 1, nothing
		{1, 0, 0, 0, 5, 5, 0, 1},       // first would be frame 0
		{1, 0, 0, 0, 5, 0, 0, 0xe9, 7}, // confidence 1001
		{1, 0, 0, 0, 5, 0, 0, 1, 9},    // trailing byte
	} {
		if _, err := ParseBrackets(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseBrackets(% x) = %v, want ErrMalformed", bad, err)
		}
	}
	if _, err := AppendBrackets(nil, []Bracket{{5, 6, 7, 1}}); !errors.Is(err, ErrMalformed) {
		t.Errorf("a bracket that does not hold its frame: %v", err)
	}
}

// FuzzBrackets: ParseBrackets and ParseInferredTotals never panic, and
// what they accept, appended again, parses to the same.
func FuzzBrackets(f *testing.F) {
	p, _ := AppendBrackets(nil, []Bracket{{5, 3, 5, 333}, {20, 12, 25, 71}})
	f.Add(p)
	f.Add(AppendInferredTotals(nil, InferredTotals{true, 15, 5}))
	f.Add([]byte{1, 0, 0, 0, 5, 0, 0, 0xe8, 7})
	f.Fuzz(func(t *testing.T, b []byte) {
		if bs, err := ParseBrackets(b); err == nil {
			again, err := AppendBrackets(nil, bs)
			if err != nil {
				t.Fatalf("parsed %+v does not append: %v", bs, err)
			}
			back, err := ParseBrackets(again)
			if err != nil || len(back) != len(bs) {
				t.Fatalf("round trip %+v -> %+v, %v", bs, back, err)
			}
			for i := range bs {
				if back[i] != bs[i] {
					t.Fatalf("round trip %+v -> %+v", bs[i], back[i])
				}
			}
		}
		if it, err := ParseInferredTotals(b); err == nil {
			if back, err := ParseInferredTotals(AppendInferredTotals(nil, it)); err != nil || back != it {
				t.Fatalf("totals %+v -> %+v, %v", it, back, err)
			}
		}
	})
}
