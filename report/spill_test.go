package report

import (
	"bytes"
	"os"
	"strings"
	"testing"

	"github.com/gapan/gapan/loss"
)

// TestFlowSpillMatches holds the JSON and CSV reports written from a
// FlowSpill to those written from Summary.List, byte for byte, for every
// corpus capture, plain and with a simulated sidecar: with the flows all
// held in memory, with a budget that writes a run every few flows, and
// with one run per flow (the merge of many runs). The temporary file
// never shows in its directory.
func TestFlowSpillMatches(t *testing.T) {
	spillDir := t.TempDir()
	merged := false
	eachCorpusRun(t, func(c []string, cfg Config, ref *Report) {
		var wantJSON, wantCSV bytes.Buffer
		if err := WriteJSON(&wantJSON, ref); err != nil {
			t.Fatal(err)
		}
		if err := WriteCSV(&wantCSV, ref.Summary.List); err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int{0, 4096, 1} {
			js := NewFlowSpill(spillDir, budget, JSONFlowEncoding)
			cs := NewFlowSpill(spillDir, budget, CSVFlowEncoding)
			cfg.Engine = loss.Config{KeepGaps: true, OnFlow: func(f *loss.Flow) { js.Flow(f); cs.Flow(f) }}
			r, _ := Run(cfg)
			if js.Len() != len(ref.Summary.List) {
				t.Fatalf("%s: %d flows spilled, want %d", c[0], js.Len(), len(ref.Summary.List))
			}
			merged = merged || len(js.runs) > 10
			if entries, _ := os.ReadDir(spillDir); len(entries) != 0 {
				t.Fatalf("%s: the spill left %d files in its directory", c[0], len(entries))
			}
			var gotJSON, gotCSV bytes.Buffer
			if err := WriteJSONFlows(&gotJSON, r, js); err != nil {
				t.Fatal(err)
			}
			if err := WriteCSVFlows(&gotCSV, cs); err != nil {
				t.Fatal(err)
			}
			if gotJSON.String() != wantJSON.String() {
				t.Fatalf("%s, budget %d: JSON differs at %s", c[0], budget, firstDiff(gotJSON.String(), wantJSON.String()))
			}
			if gotCSV.String() != wantCSV.String() {
				t.Fatalf("%s, budget %d: CSV differs at %s", c[0], budget, firstDiff(gotCSV.String(), wantCSV.String()))
			}
		}
	})
	if !merged {
		t.Error("no capture made more than 10 runs: the merge is not covered")
	}
}

// TestFlowSpillError: a spill that cannot create its file says so when
// the flows are written, and writes none.
func TestFlowSpillError(t *testing.T) {
	s := NewFlowSpill(t.TempDir()+"/missing", 1, CSVFlowEncoding)
	s.Flow(&loss.Flow{FlowID: 1})
	s.Flow(&loss.Flow{FlowID: 2})
	var buf bytes.Buffer
	err := WriteCSVFlows(&buf, s)
	if err == nil || !strings.Contains(err.Error(), "spilling flows") {
		t.Fatalf("WriteCSVFlows: %v, want the spill's error", err)
	}
	if strings.Count(buf.String(), "\n") > 1 {
		t.Errorf("rows written despite the error: %q", buf.String())
	}
}
