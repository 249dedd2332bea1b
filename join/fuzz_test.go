package join_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
)

// FuzzJoin feeds a capture and its sidecar, both arbitrary bytes, to the
// join (seeds in testdata/fuzz/FuzzJoin: real captures with binary, text,
// cut and empty sidecars). It must never panic; when it succeeds, the
// gaps it hands out add up to what its FileInfo says, no count is beyond
// sidecar.MaxLost, and a sidecar called incomplete has no trailer.
func FuzzJoin(f *testing.F) {
	f.Add([]byte{}, []byte{})
	f.Fuzz(func(t *testing.T, capture, sc []byte) {
		dir := t.TempDir()
		capPath := filepath.Join(dir, "c.pcap")
		if err := os.WriteFile(capPath, capture, 0o644); err != nil {
			t.Fatal(err)
		}
		if len(sc) > 0 || len(capture)%2 == 0 { // also without a sidecar
			if err := os.WriteFile(sidecar.PathFor(capPath), sc, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		for _, opt := range []join.Options{{}, {KeepGoing: true, AllowMismatch: true}} {
			s, err := join.Open([]string{capPath}, opt)
			if err != nil {
				continue
			}
			var frames, lost, gaps uint64
			for {
				fr, err := s.Next()
				if err == io.EOF {
					break
				}
				if err != nil {
					var ce *join.CountError
					if errors.As(err, &ce) && !errors.Is(err, sidecar.ErrImplausible) {
						t.Fatalf("CountError %v does not wrap ErrImplausible", err)
					}
					frames = 0
					break
				}
				frames++
				if fr.Number != frames {
					t.Fatalf("frame %d numbered %d", frames, fr.Number)
				}
				if fr.GapBefore > sidecar.MaxLost {
					t.Fatalf("frame %d: gap %d beyond MaxLost", fr.Number, fr.GapBefore)
				}
				if fr.GapBefore > 0 {
					gaps++
					lost += fr.GapBefore
				}
			}
			fi := s.Files()[0]
			s.Close()
			if frames == 0 {
				continue
			}
			if fi.Frames != frames || fi.Gaps != gaps || fi.Lost != lost {
				t.Fatalf("FileInfo frames %d gaps %d lost %d, stream gave %d, %d, %d", fi.Frames, fi.Gaps, fi.Lost, frames, gaps, lost)
			}
			if lost+fi.TailTotal() > sidecar.MaxLost {
				t.Fatalf("lost %d + tail %d beyond MaxLost", lost, fi.TailTotal())
			}
			if fi.SidecarIncomplete && fi.HasTrailer {
				t.Fatalf("sidecar both incomplete and with a trailer")
			}
			if fi.Truncated && !opt.KeepGoing && !fi.SidecarIncomplete && fi.Source != join.SourceSidecar {
				t.Fatalf("capture truncated without --keep-going and without a crashed recorder's sidecar")
			}
			for _, g := range fi.Tail {
				if n := max(len(fi.Interfaces), 1); int64(g.Interface) >= int64(n) {
					t.Fatalf("tail on interface %d of %d", g.Interface, n)
				}
			}
		}
	})
}
