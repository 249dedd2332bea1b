package annotate

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// TestFateFlowIDsAsReport: the flow= of a fate record is the flow id the
// report gives the frame's flow (docs/wireshark.md), also for a flow idle
// for longer than the report's idle timeout, which ends it: an ICMP echo
// stream pauses for 6 minutes, then misses a number. The ids are taken
// from a run with the report's configuration (loss.DefaultIdleTimeout),
// the frame and the missing number from the packets written.
func TestFateFlowIDsAsReport(t *testing.T) {
	pkts := synth.EchoPause(6 * time.Minute) // > loss.DefaultIdleTimeout
	const revealing = 6                      // number 6 missing, seen at number 7
	var buf bytes.Buffer
	if err := synth.WritePackets(&buf, pkts); err != nil {
		t.Fatal(err)
	}
	in := filepath.Join(t.TempDir(), "idle.pcap")
	if err := os.WriteFile(in, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}

	flowOf := map[uint64]uint64{}
	if _, err := analyze.Run(analyze.Config{Captures: []string{in}, Join: join.Options{NoSidecar: true}, KernelDrops: -1,
		Engine: loss.Config{IdleTimeout: loss.DefaultIdleTimeout},
		Frame:  func(f *join.Frame, info *loss.FrameInfo) { flowOf[f.Number] = info.FlowID }}); err != nil {
		t.Fatal(err)
	}
	if flowOf[1] == flowOf[revealing] {
		t.Fatalf("the report's run kept one flow over the pause (flow %d): the test tests nothing", flowOf[1])
	}

	out := filepath.Join(t.TempDir(), "idle.pcapng")
	if _, err := Run(Config{Inputs: []string{in}, NoSidecar: true, Output: out}); err != nil {
		t.Fatal(err)
	}
	rows := tshark(t, out, `frame.comment contains "gapan/1"`, "frame.number", "frame.comment")
	if len(rows) == 0 {
		t.Fatal("no fate record written: the missing echo number gave none")
	}
	flowRE := regexp.MustCompile(`gapan/1 flow=(\d+) `)
	for _, r := range rows {
		frame, _ := strconv.ParseUint(r[0], 10, 64)
		m := flowRE.FindStringSubmatch(r[1])
		if m == nil {
			t.Errorf("frame %d: no flow in %q", frame, r[1])
			continue
		}
		if got, _ := strconv.ParseUint(m[1], 10, 64); got != flowOf[frame] {
			t.Errorf("frame %d: fate record names flow %d, the report flow %d", frame, got, flowOf[frame])
		}
	}
	if rows[0][0] != strconv.Itoa(revealing) {
		t.Errorf("fate records on frames %v, want one on frame %d", rows, revealing)
	}
}
