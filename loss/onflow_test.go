package loss_test

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

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
	dir := t.TempDir()
	orig, capture := filepath.Join(dir, "orig.pcap"), filepath.Join(dir, "thin.pcap")
	f, err := os.Create(orig)
	if err != nil {
		t.Fatal(err)
	}
	_, err = synth.Generate(f, synth.Config{Flows: 12, Frames: 3000, Payload: 500, AckEvery: 2, Handshake: true, Upstream: 0.01, Seed: 7}, false)
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

// runOnFlow accounts a capture with cfg and onFlow.
func runOnFlow(t *testing.T, path string, cfg loss.Config, onFlow func(*loss.Flow)) *loss.Summary {
	t.Helper()
	cfg.OnFlow = onFlow
	return account(t, path, join.Options{}, cfg)
}
