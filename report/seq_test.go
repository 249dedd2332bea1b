package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/simulate"
)

// TestSequenceFamiliesShown: a capture whose GTP-U tunnel lost 3
// numbered packets in recorded gaps (internal/synth's SampleGTPU, frames
// 12, 13 and 22 deleted by simulate) shows the GTP-U figures in every
// format: text and Markdown lines, an HTML card, JSON and NDJSON keys, a
// CSV column.
func TestSequenceFamiliesShown(t *testing.T) {
	in, err := synth.SeqSample(t.TempDir(), synth.SampleGTPU)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "gtp6.pcap")
	if _, err := simulate.Run(simulate.Config{Input: in, Output: p, Model: simulate.List{Ranges: [][2]uint64{{12, 13}, {22, 22}}}}); err != nil {
		t.Fatal(err)
	}
	text := reportsShow(t, p, map[string][]string{
		"text":     {"TCP and sequence evidence", "GTP-U packets ", "GTP-U lost in capture ", "GTP-U lost upstream "},
		"markdown": {"GTP-U lost in capture"},
		"html":     {`summary.gtpu_lost_capture`, "GTP-U lost in capture"},
		"json":     {`"gtpu_lost_capture": 3`, `"gtpu_packets": 11`},
		"ndjson":   {`"gtpu_lost_capture":3`},
		"csv":      {"gtpu_packets,gtpu_lost_capture,gtpu_lost_upstream"},
	})
	if !strings.Contains(text, "GTP-U lost in capture      3") {
		t.Errorf("text report does not say 3 GTP-U packets lost in the capture:\n%s", text)
	}
}

// reportsShow writes the report of the capture at p in each format of
// want and requires each to contain want's strings; it returns the text
// report.
func reportsShow(t *testing.T, p string, want map[string][]string) (text string) {
	t.Helper()
	for format, want := range want {
		var b bytes.Buffer
		out, err := NewOutput(format, &b, DefaultOptions())
		if err != nil {
			t.Fatal(err)
		}
		r := run(t, []string{p}, false, func(c *analyze.Config) { out.Hook(c) })
		if err := out.Write(r); err != nil {
			t.Fatal(err)
		}
		out.Close()
		for _, w := range want {
			if !strings.Contains(b.String(), w) {
				t.Errorf("%s report lacks %q", format, w)
			}
		}
		if format == "text" {
			text = b.String()
		}
	}
	return text
}
