package testfiles

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestCutSidecar: the cut sidecar keeps every record and header of the
// original and ends with ErrNoTrailer; the returned frame is its last
// record's.
func TestCutSidecar(t *testing.T) {
	capture := filepath.Join(t.TempDir(), "c.pcap")
	recs := []sidecar.Record{{Frame: 3, Gap: 2}, {Frame: 9, Gap: 1}}
	f, err := os.Create(sidecar.PathFor(capture))
	if err != nil {
		t.Fatal(err)
	}
	h := sidecar.Header{Source: sidecar.SourceKernel, Tool: "testfiles"}
	if err := sidecar.Write(f, &sidecar.File{Header: h, Records: recs, Trailer: sidecar.Trailer{Frames: 10}, HasTrailer: true}); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if last := CutSidecar(t, capture); last != 9 {
		t.Errorf("last frame %d, want 9", last)
	}
	f, _ = os.Open(sidecar.PathFor(capture))
	defer f.Close()
	r, err := sidecar.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	got, err := sidecar.ReadAll(r)
	if !errors.Is(err, sidecar.ErrNoTrailer) || len(got.Records) != 2 || got.Records[1] != recs[1] || got.Header != h {
		t.Errorf("cut sidecar: %v, %+v", err, got)
	}
}

// TestFIFO: what is written into the FIFO is what read returns.
func TestFIFO(t *testing.T) {
	path, read := FIFO(t, t.TempDir())
	w, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("through")
	w.Close()
	if s := read(); s != "through" {
		t.Errorf("read %q", s)
	}
}
