package report

import (
	"bytes"
	"cmp"
	"math/rand/v2"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
)

// TestGapKeepersMatch holds every report that lists gaps, written from
// the gaps kept during the run (the CLI's way: LargestGaps for text,
// Markdown and HTML, GapSpill for JSON), to the same report written from
// every gap (Summary.Gaps), byte for byte, over the corpus: text and
// Markdown with the default 10 gaps and with 3, HTML with its default
// rows and with 3, JSON with the gaps in memory, spilled every 3 gaps
// and one by one.
func TestGapKeepersMatch(t *testing.T) {
	spillDir := t.TempDir()
	cut, spilled, named := false, false, false
	eachCorpusRun(t, func(c []string, cfg analyze.Config, ref *analyze.Result) {
		var want, got bytes.Buffer
		for _, n := range []int{0, 3} {
			gn := cmp.Or(n, DefaultGaps) // 0: the default
			k := NewLargestGaps(gn)
			h := NewLargestGaps(max(n, HTMLMaxRows*(1-min(n, 1))))
			cfg.Engine = loss.Config{KeepFlows: true, OnGap: func(g loss.GapRef) { k.Gap(g); h.Gap(g) }}
			r, _ := analyze.Run(cfg)
			writers := []struct {
				name string
				w    func(*bytes.Buffer, *analyze.Result, *LargestGaps) error
			}{
				{"text", func(b *bytes.Buffer, r *analyze.Result, k *LargestGaps) error {
					return WriteText(b, r, Options{Top: DefaultTop, Gaps: gn, Seconds: DefaultSeconds, LargestGaps: k})
				}},
				{"markdown", func(b *bytes.Buffer, r *analyze.Result, k *LargestGaps) error {
					return WriteMarkdown(b, r, Options{Top: DefaultTop, Gaps: gn, Seconds: DefaultSeconds, LargestGaps: k})
				}},
			}
			for _, wr := range writers {
				want.Reset()
				got.Reset()
				if err := wr.w(&want, ref, nil); err != nil {
					t.Fatal(err)
				}
				if err := wr.w(&got, r, k); err != nil {
					t.Fatal(err)
				}
				if got.String() != want.String() {
					t.Fatalf("%s, %s, %d gaps: differs at %s", c[0], wr.name, n, firstDiff(got.String(), want.String()))
				}
			}
			want.Reset()
			got.Reset()
			if err := WriteHTML(&want, ref, HTMLOptions{MaxRows: n}); err != nil {
				t.Fatal(err)
			}
			if err := WriteHTML(&got, r, HTMLOptions{MaxRows: n, Options: Options{LargestGaps: h}}); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s, html, %d rows: differs at %s", c[0], n, firstDiff(got.String(), want.String()))
			}
			cut = cut || n > 0 && len(ref.Summary.Gaps) > n
			named = named || len(ref.Files) > 1 && len(ref.Summary.Gaps) > 0
		}
		want.Reset()
		if err := WriteJSON(&want, ref); err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int{0, 3, 1} {
			gs := NewGapSpill(spillDir, budget)
			cfg.Engine = loss.Config{KeepFlows: true, OnGap: gs.Gap}
			r, _ := analyze.Run(cfg)
			spilled = spilled || gs.file != nil && gs.size >= 3*gapRecLen
			if entries, _ := os.ReadDir(spillDir); len(entries) != 0 {
				t.Fatalf("%s: the gap spill left %d files in its directory", c[0], len(entries))
			}
			got.Reset()
			if err := WriteJSONSpilled(&got, r, gs, nil); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s, json, gap budget %d: differs at %s", c[0], budget, firstDiff(got.String(), want.String()))
			}
		}
	})
	if !cut || !spilled || !named {
		t.Errorf("coverage: a list cut short %v, 3 gaps or more spilled %v, a set of captures %v; want all", cut, spilled, named)
	}
}

// TestLargestGapsOrder feeds random gaps of few sizes (many ties) and
// holds LargestGaps to a stable sort of all of them by size: largest
// first, the earlier first among equals.
func TestLargestGapsOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	r := &analyze.Result{}
	for _, n := range []int{0, 1, 5, 50, 500} {
		var all []loss.GapRef
		k := NewLargestGaps(n)
		for i := range 300 {
			g := loss.GapRef{Frame: uint64(i + 1), Lost: 1 + rng.Uint64N(4)}
			all = append(all, g)
			k.Gap(g)
		}
		want := slices.Clone(all)
		slices.SortStableFunc(want, func(a, b loss.GapRef) int { return cmp.Compare(b.Lost, a.Lost) })
		want = want[:min(len(want), n)]
		got := k.Sorted(r)
		if !slices.Equal(got, want) {
			t.Errorf("%d kept: %v, want %v", n, got, want)
		}
		if k.Count() != uint64(len(all)) {
			t.Errorf("count %d, want %d", k.Count(), len(all))
		}
	}
}

// TestGapSpillError: a gap spill that cannot create its file says so
// before a byte of the JSON report is written.
func TestGapSpillError(t *testing.T) {
	r, err := analyze.Run(analyze.Config{Captures: []string{demoCapture}, KernelDrops: -1})
	if err != nil {
		t.Fatal(err)
	}
	gs := NewGapSpill(t.TempDir()+"/missing", 1)
	gs.Gap(loss.GapRef{Frame: 1, Lost: 1})
	var buf bytes.Buffer
	if err := WriteJSONSpilled(&buf, r, gs, nil); err == nil || !strings.Contains(err.Error(), "spilling gaps") || buf.Len() != 0 {
		t.Errorf("WriteJSONSpilled: %v, %d bytes; want the spill's error and nothing written", err, buf.Len())
	}
}
