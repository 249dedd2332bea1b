package loss_test

import (
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"

	"github.com/gapan/gapan/simulate"
)

// TestRTPAgainstTshark: per UDP flow, the RTP packets gapan finds missing
// equal the "Lost" of tshark's rtp,streams (with its rtp_udp heuristic on)
// summed over the flow's two directions; late packets that fill a gap
// within the reorder window are not loss, as in tshark's expected minus
// received.
func TestRTPAgainstTshark(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	row := regexp.MustCompile(`^\s*[\d.]+\s+[\d.]+\s+(\S+)\s+(\d+)\s+(\S+)\s+(\d+)\s+0x[0-9A-Fa-f]+\s+.*?\s(\d+)\s+(-?\d+) \(`)
	for _, tc := range []struct {
		file      string
		wantFlows int
	}{
		{"sipp-g711a-rtp.pcap", 1},
		{"ndpi-sip-rtp-t38-fax.pcap", 1},
		{"ndpi-kakaotalk-voice-sll.pcap", 2},
	} {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("..", "testdata", "corpus", tc.file)
			out, err := exec.Command("tshark", "-n", "-r", path, "-o", "rtp.heuristic_rtp:TRUE", "-q", "-z", "rtp,streams").Output()
			if err != nil {
				t.Fatal(err)
			}
			lost := map[string]int{} // canonical 5-tuple -> lost
			for _, l := range strings.Split(string(out), "\n") {
				m := row.FindStringSubmatch(l)
				if m == nil {
					continue
				}
				n, _ := strconv.Atoi(m[6])
				lost[pairKey(m[1], m[2], m[3], m[4])] += n
			}
			if len(lost) == 0 {
				t.Fatalf("no RTP stream in tshark's output:\n%s", out)
			}
			sum := run(t, path, false)
			flows := 0
			for _, fl := range sum.List {
				if !fl.IsRTP {
					continue
				}
				flows++
				k := pairKey(fl.SrcIP, strconv.Itoa(int(fl.SrcPort)), fl.DstIP, strconv.Itoa(int(fl.DstPort)))
				want, ok := lost[k]
				if !ok {
					t.Errorf("flow %d (%s): RTP for gapan, not for tshark", fl.FlowID, k)
					continue
				}
				if got := int(fl.RTPLostUpstream + fl.RTPLostCapture); got != want {
					t.Errorf("flow %d (%s): %d RTP packets lost, tshark says %d", fl.FlowID, k, got, want)
				}
			}
			if flows != tc.wantFlows {
				t.Errorf("%d RTP flows, want %d", flows, tc.wantFlows)
			}
		})
	}
}

func pairKey(a, ap, b, bp string) string {
	x, y := a+":"+ap, b+":"+bp
	if y < x {
		x, y = y, x
	}
	return x + "-" + y
}

// TestRTPSimulated: RTP packets removed by simulated drops are capture
// loss explained by the sidecar; without it they count as upstream loss.
func TestRTPSimulated(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "rtp.pcap")
	m, err := simulate.ParseModel("list:10,50-52,100,200-203")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := simulate.Run(simulate.Config{Input: filepath.Join("..", "testdata", "corpus", "sipp-g711a-rtp.pcap"), Output: out, Model: m}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		noSidecar         bool
		capture, upstream uint64
	}{{false, 9, 0}, {true, 0, 9}} {
		sum := run(t, out, tc.noSidecar)
		if sum.Flows.RTPLostCapture != tc.capture || sum.Flows.RTPLostUpstream != tc.upstream || sum.Flows.RTPPackets != 236-9 {
			t.Errorf("no sidecar %v: rtp lost capture %d upstream %d packets %d; want %d, %d, %d",
				tc.noSidecar, sum.Flows.RTPLostCapture, sum.Flows.RTPLostUpstream, sum.Flows.RTPPackets, tc.capture, tc.upstream, 236-9)
		}
		// Each dropped frame was one of the stream's packets: est_lost
		// puts all nine on the stream's flow.
		if !tc.noSidecar {
			for _, fl := range sum.List {
				if fl.IsRTP && (fl.EstLost < 8.999 || fl.EstLost > 9.001) {
					t.Errorf("est_lost %v, want 9", fl.EstLost)
				}
			}
		}
	}
}
