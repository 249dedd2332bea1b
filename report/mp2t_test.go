package report

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/simulate"
)

// TestMP2TShown: an MPEG transport stream whose capture lost two
// datagrams in recorded gaps (frames 80 and 200 deleted by simulate)
// shows the mp2t figures in every format, the TS packets those datagrams
// carried lost in the capture, said to be a lower bound in words.
func TestMP2TShown(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ts.pcap")
	truth, err := synth.MP2TFile(in, synth.MP2TConfig{Datagrams: 300, AFOnlyEvery: 9})
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "sim.pcap")
	if _, err := simulate.Run(simulate.Config{Input: in, Output: p, Model: simulate.List{Ranges: [][2]uint64{{80, 80}, {200, 200}}}}); err != nil {
		t.Fatal(err)
	}
	lost := truth.LostIn([]int{79, 199}) // datagrams are frames, 0-based
	reportsShow(t, p, map[string][]string{
		"text":     {"MPEG-TS packets ", fmt.Sprintf("MPEG-TS lost in capture (at least)  %d", lost), "MPEG-TS counter jumps "},
		"markdown": {"MPEG-TS lost in capture (at least)"},
		"html":     {`summary.mp2t_lost_capture`, "MPEG-TS lost in capture"},
		"json":     {fmt.Sprintf(`"mp2t_lost_capture": %d`, lost), `"mp2t_lost_upstream": 0`, `"mp2t": true`},
		"ndjson":   {fmt.Sprintf(`"mp2t_lost_capture":%d`, lost)},
		"csv":      {"mp2t_packets,mp2t_lost_capture,mp2t_lost_upstream"},
	})
}
