package report

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/infer"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// TestInferredLabels: a report read with a sidecar that gapan infer wrote
// labels every figure made of its gaps as inferred, never as recorded
// (issue 19: "the report then labels every inferred figure as inferred"),
// in text, Markdown and HTML; the same capture with its recorded sidecar
// keeps the recorded words.
func TestInferredLabels(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "tls.pcap", "tls-subjectaltname.pcap", "uniform:0.02")
	res, err := infer.Run(infer.Config{Capture: capture, KernelDrops: -1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gaps) == 0 {
		t.Fatal("infer found no gap: the premise is a capture with inferred loss")
	}
	sc := filepath.Join(dir, "tls.pcap.inferred.gaps")
	f, err := os.Create(sc)
	if err != nil {
		t.Fatal(err)
	}
	if err := res.WriteSidecar(f, "gapan-infer test", 1); err != nil {
		t.Fatal(err)
	}
	f.Close()

	r, err := analyze.Run(analyze.Config{Captures: []string{capture}, Join: join.Options{Sidecars: []string{sc}}, KernelDrops: -1,
		Engine: loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: loss.DefaultIdleTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	txt := textOf(t, r, DefaultOptions())
	for _, want := range []string{
		sc + ": gaps inferred from the capture's own evidence (TCP, ICMP echo) by gapan-infer test, not recorded (docs/infer.md)",
		" inferred, not recorded (",
		"  gap events       " + num(r.Summary.GapEvents) + " (inferred)\n",
		"    in an inferred gap ",
		"fall in an inferred gap",
	} {
		if !strings.Contains(txt, want) {
			t.Errorf("text lacks %q:\n%s", want, txt)
		}
	}
	if strings.Contains(txt, "recorded gap") {
		t.Errorf("text says recorded gap on inferred gaps:\n%s", txt)
	}
	page, _ := writeHTMLAndJSON(t, r, HTMLOptions{})
	for _, want := range []string{"inferred from TCP evidence, not recorded", "in an inferred gap", "fall in an inferred gap"} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "recorded gap") {
		t.Error("page says recorded gap on inferred gaps")
	}

	// The recorded sidecar: the recorded words.
	r = run(t, []string{capture}, true, nil)
	txt = textOf(t, r, DefaultOptions())
	if strings.Contains(txt, "inferred") || !strings.Contains(txt, "in a recorded gap") {
		t.Errorf("with the recorded sidecar:\n%s", txt)
	}
}
