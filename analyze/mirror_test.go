package analyze

import (
	"reflect"
	"testing"

	"github.com/gapan/gapan/loss"
)

// TestMirrorPipelined: the mirror sessions of the synthetic ERSPAN sample
// (mirror and capture loss, a wrap, a restart) are the same on the
// sequential and the pipelined run, whose batches carry the decoded
// packet's Mirror field.
func TestMirrorPipelined(t *testing.T) {
	var sessions [2][]loss.MirrorSession
	for i, workers := range []int{1, 2} {
		r, err := Run(Config{Captures: []string{"../testdata/mirror/synth/mirror-loss.pcap"}, KernelDrops: -1, Workers: workers})
		if err != nil {
			t.Fatal(err)
		}
		sessions[i] = r.Summary.MirrorSessions
	}
	if len(sessions[0]) != 5 || sessions[0][0].Missing == 0 {
		t.Fatalf("sequential run: %d sessions, the first missing %d; want 5 sessions with loss", len(sessions[0]), sessions[0][0].Missing)
	}
	if !reflect.DeepEqual(sessions[0], sessions[1]) {
		t.Errorf("pipelined sessions %+v differ from the sequential run's %+v", sessions[1], sessions[0])
	}
}
