package infer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/synth"
)

// TestIdleTimeoutAsReport: infer accounts the capture with the report's
// idle timeout (loss.DefaultIdleTimeout), so that its flows are the
// report's: an ICMP echo stream that pauses for 6 minutes is two flows,
// the first ended by the idle timeout.
func TestIdleTimeoutAsReport(t *testing.T) {
	var buf bytes.Buffer
	if err := synth.WritePackets(&buf, synth.EchoPause(6*time.Minute)); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "idle.pcap")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Run(Config{Capture: in, KernelDrops: -1, Sequence: true})
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Run.Summary.FlowStats; st.Flows != 2 || st.Idle != 1 {
		t.Errorf("%d flows, %d ended idle; want 2 and 1 (one pause longer than the idle timeout)", st.Flows, st.Idle)
	}
}
