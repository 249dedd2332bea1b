package analyze

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// TestDecodeErrors: frames cut or damaged with gopacket (synth.DecodeFailures)
// are counted by reason, on the sequential and on the pipelined path, and
// still counted as captured.
func TestDecodeErrors(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	frames, want, err := synth.DecodeFailures(f)
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var total uint64
	for _, n := range want {
		total += n
	}
	for _, workers := range []int{1, 2} {
		r, err := Run(Config{Captures: []string{p}, Join: join.Options{NoSidecar: true}, KernelDrops: -1, Workers: workers, Engine: loss.Config{KeepFlows: true}})
		if err != nil {
			t.Fatal(err)
		}
		s := r.Summary
		if s.FramesCaptured != uint64(frames) {
			t.Errorf("workers %d: %d frames captured, want %d", workers, s.FramesCaptured, frames)
		}
		if s.DecodeFailed != total {
			t.Errorf("workers %d: DecodeFailed %d, want %d", workers, s.DecodeFailed, total)
		}
		got := map[string]uint64{}
		for _, d := range s.DecodeErrors {
			got[d.Reason] = d.Frames
		}
		if len(got) != len(want) {
			t.Errorf("workers %d: reasons %v, want %v", workers, got, want)
		}
		for reason, n := range want {
			if got[reason] != n {
				t.Errorf("workers %d: %q: %d frames, want %d (all: %v)", workers, reason, got[reason], n, got)
			}
		}
		for i := 1; i < len(s.DecodeErrors); i++ {
			if s.DecodeErrors[i].Frames > s.DecodeErrors[i-1].Frames {
				t.Errorf("workers %d: reasons not most frames first: %v", workers, s.DecodeErrors)
			}
		}
	}
}
