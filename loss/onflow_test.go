package loss_test

import (
	"cmp"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
)

// TestOnFlowRecord holds the contract of Config.OnFlow: a flow the engine
// keeps (KeepFlows, KeepTop) is handed out as the record it keeps; the
// others share one record, reused from flow to flow, whose figures during
// each call are those of the flow (the same as the records a run with
// KeepFlows keeps).
func TestOnFlowRecord(t *testing.T) {
	capture := thinCapture(t, synth.Config{Flows: 12, Frames: 3000, Payload: 500, AckEvery: 2, Handshake: true, Upstream: 0.01, Seed: 7})
	all := runOnFlow(t, capture, loss.Config{KeepFlows: true}, nil)
	if len(all.List) != 12 || all.LossyFlows < 3 {
		t.Fatalf("%d flows, %d lossy: want 12, several lossy", len(all.List), all.LossyFlows)
	}
	byID := map[uint64]*loss.Flow{}
	for _, f := range all.List {
		byID[f.FlowID] = f
	}
	for _, cfg := range []loss.Config{{KeepFlows: true}, {KeepTop: 2}, {}} {
		seen := map[*loss.Flow]int{}
		var copies []loss.Flow
		sum := runOnFlow(t, capture, cfg, func(f *loss.Flow) {
			seen[f]++
			copies = append(copies, *f)
		})
		if len(copies) != len(all.List) {
			t.Fatalf("%+v: %d flows handed out, want %d", cfg, len(copies), len(all.List))
		}
		for _, c := range copies {
			if want := byID[c.FlowID]; want == nil || !reflect.DeepEqual(&c, want) {
				t.Errorf("%+v: flow %d handed out as %+v, want %+v", cfg, c.FlowID, c, want)
			}
		}
		if cfg.KeepTop > 0 && len(sum.List) != cfg.KeepTop {
			t.Fatalf("%+v: %d flows kept", cfg, len(sum.List))
		}
		for _, f := range sum.List {
			if seen[f] != 1 {
				t.Errorf("%+v: kept flow %d handed out %d times as its kept record, want once", cfg, f.FlowID, seen[f])
			}
		}
		// Besides the kept records (and those of flows that entered the
		// top and left it), one record serves every other flow.
		reused := 0
		for _, n := range seen {
			if n > 1 {
				reused++
			}
		}
		if reused > 1 {
			t.Errorf("%+v: %d records handed out more than once, want at most one", cfg, reused)
		}
		if cfg.KeepFlows && len(seen) != len(copies) {
			t.Errorf("%+v: %d records for %d kept flows", cfg, len(seen), len(copies))
		}
		if !cfg.KeepFlows && cfg.KeepTop == 0 && len(seen) != 1 {
			t.Errorf("%+v: %d records for the flows, none kept, want one reused", cfg, len(seen))
		}
	}
}

// thinCapture writes a capture generated with cfg, 2 % of its frames
// deleted at random with their sidecar (simulate), and returns its path.
func thinCapture(t *testing.T, cfg synth.Config) string {
	t.Helper()
	dir := t.TempDir()
	orig, capture := filepath.Join(dir, "orig.pcap"), filepath.Join(dir, "thin.pcap")
	f, err := os.Create(orig)
	if err != nil {
		t.Fatal(err)
	}
	_, err = synth.Generate(f, cfg, false)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	model, err := simulate.ParseModel("uniform:0.02")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := simulate.Run(simulate.Config{Input: orig, Output: capture, Model: model, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return capture
}

// runOnFlow accounts a capture with cfg and onFlow.
func runOnFlow(t *testing.T, path string, cfg loss.Config, onFlow func(*loss.Flow)) *loss.Summary {
	t.Helper()
	cfg.OnFlow = onFlow
	return account(t, path, join.Options{}, cfg)
}

// TestDeferLive holds Config.DeferLive to the plain run: over a capture
// whose Zipf-sized flows partly end early (idle) and partly live to the
// end, with capture loss (a simulated sidecar) and upstream loss, the
// flows OnFlow gets plus those taken from Engine.Live, two goroutines
// taking them at once, are every flow's record of a KeepFlows run, field
// for field; the summary is the same but for the flows it lists; the
// kept lists (KeepFlows, KeepTop) are the same; and FlowJSON.CheckLive
// passes, as FlowJSON.Check does for every record.
func TestDeferLive(t *testing.T) {
	capture := thinCapture(t, synth.Config{Flows: 400, Frames: 20000, Payload: 300, AckEvery: 2, Handshake: true,
		Upstream: 0.01, Seed: 11, Order: synth.Zipf, StepNs: 10_000})
	const idle = 20 * time.Millisecond // a rare flow's frames come further apart
	all := account(t, capture, join.Options{}, loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: idle})
	byID := map[uint64]*loss.Flow{}
	for _, f := range all.List {
		byID[f.FlowID] = f
	}
	for _, cfg := range []loss.Config{{KeepGaps: true}, {KeepFlows: true, KeepGaps: true}, {KeepTop: 5, KeepGaps: true}} {
		cfg.IdleTimeout, cfg.DeferLive = idle, true
		var got []loss.Flow
		cfg.OnFlow = func(f *loss.Flow) { got = append(got, *f) }
		e, sum := accountEngine(t, capture, join.Options{}, cfg)
		live := e.Live()
		ended := len(got)
		if ended < 10 || live.Len() < 100 {
			t.Fatalf("%d flows ended early, %d live at the end: want both many", ended, live.Len())
		}
		if err := loss.NewFlowJSON("", "", true).CheckLive(live); err != nil {
			t.Errorf("CheckLive: %v", err)
		}
		for i := 1; i < live.Len(); i++ {
			if live.ID(i-1) >= live.ID(i) {
				t.Fatalf("live flows not in flow-id order: %d then %d", live.ID(i-1), live.ID(i))
			}
		}
		taken := make([]loss.Flow, live.Len())
		var wg sync.WaitGroup
		for w := range 2 {
			wg.Go(func() {
				for i := w; i < live.Len(); i += 2 {
					live.Take(i, &taken[i])
				}
			})
		}
		wg.Wait()
		got = append(got, taken...)
		if len(got) != len(all.List) {
			t.Fatalf("%+v: %d flows handed out and taken, want %d", cfg, len(got), len(all.List))
		}
		for i := range got {
			if want := byID[got[i].FlowID]; want == nil || !reflect.DeepEqual(&got[i], want) {
				t.Fatalf("flow %d: got %+v, want %+v", got[i].FlowID, got[i], want)
			}
		}
		want := *all
		want.List, want.TopOnly = nil, false
		switch {
		case cfg.KeepFlows:
			want.List = all.List
		case cfg.KeepTop > 0:
			want.List, want.TopOnly = topOf(all.List, cfg.KeepTop), true
		}
		if !reflect.DeepEqual(sum, &want) {
			t.Errorf("%+v: the summary differs from the plain run's", cfg)
		}
	}
}

// topOf returns the n flows of list that lost most (CompareLoss, a
// LossScore above 0), in flow-id order.
func topOf(list []*loss.Flow, n int) []*loss.Flow {
	var top []*loss.Flow
	for _, f := range list {
		if f.LossScore > 0 {
			top = append(top, f)
		}
	}
	slices.SortFunc(top, loss.CompareLoss)
	top = top[:min(n, len(top))]
	slices.SortFunc(top, func(a, b *loss.Flow) int { return cmp.Compare(a.FlowID, b.FlowID) })
	return top
}
