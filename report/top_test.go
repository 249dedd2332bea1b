package report

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
)

// TestKeepTopMatchesKeepFlows holds the top-only run (loss.Config.KeepTop,
// what the CLI uses for text and Markdown) to the run that keeps every
// flow: for every corpus capture with a simulated sidecar, and for several
// list sizes, the text and Markdown reports must be byte-identical, the
// kept flows must be exactly the first ones of the report's ordering over
// all flows, and LossyFlows must count the flows with loss.
func TestKeepTopMatchesKeepFlows(t *testing.T) {
	names, err := filepath.Glob(corpus + "*.pcap")
	if err != nil || len(names) < 10 {
		t.Fatalf("corpus: %d captures, %v", len(names), err)
	}
	dir := t.TempDir()
	lossy := 0
	for _, name := range names {
		base := filepath.Base(name)
		if strings.Contains(base, "invalid") || strings.Contains(base, "corrupt") || strings.Contains(base, "truncated") {
			continue
		}
		caps := []string{simulated(t, dir, base, base, "list:3,10-12,50-90,200-203,1000,1001,5000-5100")}
		all, err := analyze.Run(analyze.Config{Captures: caps, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
		if err != nil {
			t.Fatalf("%s: %v", base, err)
		}
		for _, n := range []int{1, 3, 10} {
			top, err := analyze.Run(analyze.Config{Captures: caps, KernelDrops: -1, Engine: loss.Config{KeepTop: n, KeepGaps: true}})
			if err != nil {
				t.Fatalf("%s: %v", base, err)
			}
			want, wantTotal := topFlows(all.Summary.List, n)
			got, _ := topFlows(top.Summary.List, n)
			if !top.Summary.TopOnly || top.Summary.LossyFlows != uint64(wantTotal) || len(top.Summary.List) != len(want) {
				t.Fatalf("%s top %d: TopOnly %v, LossyFlows %d (want %d), kept %d (want %d)", base, n,
					top.Summary.TopOnly, top.Summary.LossyFlows, wantTotal, len(top.Summary.List), len(want))
			}
			for i := range want {
				if got[i].FlowID != want[i].FlowID || got[i].LossScore != want[i].LossScore || got[i].SrcIP != want[i].SrcIP || got[i].Counters != want[i].Counters {
					t.Fatalf("%s top %d: flow %d is %+v, want %+v", base, n, i, got[i], want[i])
				}
			}
			if all.Summary.Flows != top.Summary.Flows || all.Summary.FlowCount != top.Summary.FlowCount {
				t.Fatalf("%s top %d: flow sums differ", base, n)
			}
			for _, w := range []func(*bytes.Buffer, *analyze.Result) error{
				func(b *bytes.Buffer, r *analyze.Result) error {
					return WriteText(b, r, Options{Top: n, Gaps: DefaultGaps, Seconds: DefaultSeconds})
				},
				func(b *bytes.Buffer, r *analyze.Result) error {
					return WriteMarkdown(b, r, Options{Top: n, Gaps: DefaultGaps, Seconds: DefaultSeconds})
				},
			} {
				var a, b bytes.Buffer
				if err := w(&a, all); err != nil {
					t.Fatal(err)
				}
				if err := w(&b, top); err != nil {
					t.Fatal(err)
				}
				if a.String() != b.String() {
					t.Fatalf("%s top %d: report differs:\n%s\n----\n%s", base, n, a.String(), b.String())
				}
			}
		}
		if len(all.Summary.List) > 0 && all.Summary.LossyFlows > 0 {
			lossy++
		}
	}
	if lossy < 5 {
		t.Errorf("only %d captures with lossy flows: the test compares little", lossy)
	}
}

// TestHTMLOrderIsTextOrder: the HTML flow table lists flows in the text
// report's order. Flow 1 (est_lost 0.014286, 2 capture-lost segments) and
// flow 2 (1.014286, 1 segment) both lost 2.014286: a tie, broken by the
// flow id, so flow 1 comes first. The HTML page used to add the rounded
// estimate to the segments without rounding the sum, which made flow 2's
// score 2.0142860000000002 and put it first.
func TestHTMLOrderIsTextOrder(t *testing.T) {
	mk := func(id uint64, est float64, segs uint64) *loss.Flow {
		f := &loss.Flow{FlowID: id, Proto: "tcp", SrcIP: "10.0.0.1", DstIP: "10.0.0.2", SrcPort: uint16(1000 + id), DstPort: 80}
		f.EstLost, f.CaptureLostSegments, f.Packets = est, segs, 10
		f.LossScore = loss.Score(&f.Counters)
		return f
	}
	flows := []*loss.Flow{mk(2, 1.014286, 1), mk(1, 0.014286, 2)}
	r := &analyze.Result{Summary: &loss.Summary{List: flows, FlowCount: 2, LossyFlows: 2}, KernelDrops: -1}
	order := func(name, out, before, after string) {
		t.Helper()
		i, j := strings.Index(out, before), strings.Index(out, after)
		if i < 0 || j < 0 || i > j {
			t.Errorf("%s: %q should come before %q (at %d, %d)", name, before, after, i, j)
		}
	}
	var b bytes.Buffer
	if err := WriteText(&b, r, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	order("text", b.String(), "10.0.0.1:1001", "10.0.0.1:1002")
	b.Reset()
	if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	order("html", b.String(), "10.0.0.1:1001", "10.0.0.1:1002")
	b.Reset()
	hf := NewHTMLFlows(0)
	for _, f := range flows {
		hf.Flow(f)
	}
	if err := WriteHTML(&b, r, HTMLOptions{Flows: hf}); err != nil {
		t.Fatal(err)
	}
	order("html (HTMLFlows)", b.String(), "10.0.0.1:1001", "10.0.0.1:1002")
}
