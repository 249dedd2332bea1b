package sidecar_test

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestOpenAuto: OpenAuto reads a binary sidecar, a text one, and "-" from
// the stdin it is given; a missing file is fs.ErrNotExist and a pcap given
// as a sidecar a *CaptureGivenError.
func TestOpenAuto(t *testing.T) {
	dir := t.TempDir()
	want := []sidecar.Record{{Frame: 12, Gap: 3}, {Frame: 40, Gap: 1}}
	var bin bytes.Buffer
	if err := sidecar.Write(&bin, &sidecar.File{Header: sidecar.Header{Source: sidecar.SourceSimulated}, Records: want, Trailer: sidecar.Trailer{Frames: 50}, HasTrailer: true}); err != nil {
		t.Fatal(err)
	}
	text := "# gapan-sidecar-text 1\n# frame gap\n12 3\n40 1\n# frames 50\n"
	binPath, textPath := filepath.Join(dir, "b.gaps"), filepath.Join(dir, "t.txt")
	pcapPath := filepath.Join(dir, "c.pcap")
	for p, b := range map[string][]byte{binPath: bin.Bytes(), textPath: []byte(text), pcapPath: {0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0}} {
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		path  string
		stdin string
	}{{binPath, ""}, {textPath, ""}, {"-", text}, {"-", bin.String()}} {
		r, c, err := sidecar.OpenAuto(tc.path, strings.NewReader(tc.stdin))
		if err != nil {
			t.Fatalf("%s: %v", tc.path, err)
		}
		_, isText := r.(*sidecar.TextReader)
		if wantText := tc.stdin == text || tc.path == textPath; isText != wantText {
			t.Errorf("%s: reader %T, want a text reader: %v", tc.path, r, wantText)
		}
		f, err := sidecar.ReadAll(r)
		if err != nil || !slices.Equal(f.Records, want) || f.Trailer.Frames != 50 {
			t.Errorf("%s: records %v, frames %d, %v; want %v, 50", tc.path, f.Records, f.Trailer.Frames, err, want)
		}
		if err := c.Close(); err != nil {
			t.Errorf("%s: Close: %v", tc.path, err)
		}
	}
	if _, _, err := sidecar.OpenAuto(filepath.Join(dir, "none.gaps"), nil); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v, want fs.ErrNotExist", err)
	}
	var cg *sidecar.CaptureGivenError
	if _, _, err := sidecar.OpenAuto(pcapPath, nil); !errors.As(err, &cg) || cg.File != pcapPath {
		t.Errorf("pcap as a sidecar: %v, want a *CaptureGivenError naming it", err)
	}
}
