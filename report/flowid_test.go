package report

import (
	"bytes"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
)

// TestFlowIDIsWiresharkStreamIndex: flow ids are 0-based on purpose, as
// Wireshark's tcp.stream and udp.stream indexes are (docs/report.md, "Flow
// ids"). In a capture of one transport, where Wireshark's one counter and
// gapan's coincide, every flow's flow_id is tshark's stream index of its
// first frame: `tcp.stream eq N` shows flow N.
func TestFlowIDIsWiresharkStreamIndex(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	for _, tc := range []struct{ capture, field string }{
		{corpus + "ndpi-quickplay-sll.pcap", "tcp.stream"},           // TCP only, 21 connections
		{corpus + "gopacket-pcapng-be-test101.pcapng", "udp.stream"}, // UDP only, 3 flows
	} {
		t.Run(tc.field, func(t *testing.T) {
			cmd := exec.Command(tshark, "-r", tc.capture, "-T", "fields", "-E", "separator=,", "-e", "frame.number", "-e", tc.field)
			var stderr bytes.Buffer
			cmd.Stderr = &stderr
			out, err := cmd.Output()
			if err != nil {
				t.Fatalf("tshark: %v: %s", err, stderr.Bytes())
			}
			stream := map[uint64]uint64{} // frame number -> stream index
			for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
				f := strings.Split(line, ",")
				if len(f) < 2 || f[1] == "" {
					continue
				}
				n, err1 := strconv.ParseUint(f[0], 10, 64)
				s, err2 := strconv.ParseUint(f[1], 10, 64)
				if err1 != nil || err2 != nil {
					t.Fatalf("tshark line %q", line)
				}
				stream[n] = s
			}
			r := run(t, []string{tc.capture}, true, nil)
			if len(r.Summary.List) < 3 {
				t.Fatalf("%d flows, want several", len(r.Summary.List))
			}
			sawZero := false
			for _, f := range r.Summary.List {
				s, ok := stream[f.FirstFrame]
				if !ok || s != f.FlowID {
					t.Errorf("flow %d (first frame %d): tshark's %s is %d (known %v)", f.FlowID, f.FirstFrame, tc.field, s, ok)
				}
				sawZero = sawZero || f.FlowID == 0
			}
			if !sawZero {
				t.Error("no flow 0: flow ids are documented as 0-based")
			}
		})
	}
}
