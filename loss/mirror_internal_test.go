package loss

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
)

// TestMirrorUntracked: beyond the sessions a run tracks, a new session's
// frames are counted as untracked and nowhere else, and the tracked
// sessions keep their figures.
func TestMirrorUntracked(t *testing.T) {
	var sessions []synth.MirrorSession
	var frames []synth.MirrorFrame
	for i := range 5 {
		sessions = append(sessions, synth.MirrorSession{Kind: "erspan2", Src: net.IP{192, 0, 2, byte(i + 1)}, Dst: net.IP{198, 51, 100, 9}, ID: 1})
	}
	for k := range 20 {
		for i := range sessions {
			if k == 10 && i == 0 {
				continue // a number of the first session never sent
			}
			frames = append(frames, synth.MirrorFrame{Session: i, Seq: uint32(k)})
		}
	}
	path := filepath.Join(t.TempDir(), "m.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.MirrorCapture(f, sessions, frames); err != nil {
		t.Fatal(err)
	}
	f.Close()
	s, err := join.Open([]string{path}, join.Options{NoSidecar: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := NewEngine(Config{})
	for {
		fr, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e.Add(fr)
		if e.mir != nil {
			e.mir.max = 3
		}
	}
	sum := e.Finish(s.Files())
	if len(sum.MirrorSessions) != 3 || sum.Mirror.Untracked != 2*20 || sum.Mirror.Frames != 3*20-1 || sum.MirrorSessions[0].Missing != 1 {
		t.Errorf("%d sessions, %d untracked frames, %d frames, first session missing %d; want 3, 40, 59, 1",
			len(sum.MirrorSessions), sum.Mirror.Untracked, sum.Mirror.Frames, sum.MirrorSessions[0].Missing)
	}
}
