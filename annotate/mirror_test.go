package annotate

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/report"
)

// TestPluginMirrorFates annotates the synthetic ERSPAN capture with known
// mirror and capture loss and requires the Wireshark plugin, run by
// tshark, to show mirrored frames lost by the capture and on the mirror
// path adding up to the JSON report's summary.mirror, the words of
// FateComment in the frames' comments.
func TestPluginMirrorFates(t *testing.T) {
	const sample = "../testdata/mirror/synth/mirror-loss.pcap"
	out := filepath.Join(t.TempDir(), "annotated.pcapng")
	if _, err := Run(Config{Inputs: []string{sample}, Output: out}); err != nil {
		t.Fatal(err)
	}
	r, err := analyze.Run(analyze.Config{Captures: []string{sample}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Summary struct {
			Mirror struct {
				CaptureLost uint64 `json:"capture_lost"`
				MirrorLost  uint64 `json:"mirror_lost"`
			} `json:"mirror"`
		} `json:"summary"`
	}
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	rows := tsharkLua(t, out, `gapan.fate_evidence == "mirror"`, "frame.number", "gapan.fate", "gapan.fate_packets", "gapan.fate_evidence", "frame.comment")
	got := map[string]uint64{}
	for _, r := range rows {
		fs, ps, es := strings.Split(r[1], ";"), strings.Split(r[2], ";"), strings.Split(r[3], ";")
		for j := range fs {
			if es[j] != "mirror" {
				continue
			}
			n, _ := strconv.ParseUint(ps[j], 10, 64)
			got[fs[j]] += n
		}
		if strings.Contains(r[1], "mirror") && !strings.Contains(r[4], "lost between the switch and the capture host") {
			t.Errorf("frame %s: mirror fate without its words: %q", r[0], r[4])
		}
	}
	if got["capture"] != doc.Summary.Mirror.CaptureLost || got["mirror"] != doc.Summary.Mirror.MirrorLost || got["mirror"] == 0 || got["capture"] == 0 {
		t.Errorf("plugin: %v mirrored frames by fate; report: capture %d, mirror %d", got, doc.Summary.Mirror.CaptureLost, doc.Summary.Mirror.MirrorLost)
	}
}
