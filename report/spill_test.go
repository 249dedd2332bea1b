package report

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/synth"
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
	eachCorpusRun(t, func(c []string, cfg analyze.Config, ref *analyze.Result) {
		var wantJSON, wantCSV bytes.Buffer
		if err := WriteJSON(&wantJSON, ref); err != nil {
			t.Fatal(err)
		}
		if err := WriteCSV(&wantCSV, ref.Summary.List); err != nil {
			t.Fatal(err)
		}
		for _, budget := range []int{0, 4096, 1} {
			js := NewFlowSpill(spillDir, budget, JSONFlowEncoding)
			jc := NewFlowSpillChecked(spillDir, budget, JSONFlowEncoding, JSONFlowCheck)
			cs := NewFlowSpill(spillDir, budget, CSVFlowEncoding)
			cfg.Engine = loss.Config{KeepGaps: true, OnFlow: func(f *loss.Flow) { js.Flow(f); jc.Flow(f); cs.Flow(f) }}
			r, _ := analyze.Run(cfg)
			if js.Len() != len(ref.Summary.List) {
				t.Fatalf("%s: %d flows spilled, want %d", c[0], js.Len(), len(ref.Summary.List))
			}
			merged = merged || len(js.runs) > 10
			if entries, _ := os.ReadDir(spillDir); len(entries) != 0 {
				t.Fatalf("%s: the spill left %d files in its directory", c[0], len(entries))
			}
			var gotJSON, gotCSV bytes.Buffer
			if err := WriteJSONSpilled(&gotJSON, r, nil, js); err != nil {
				t.Fatal(err)
			}
			if err := WriteCSVFlows(&gotCSV, cs); err != nil {
				t.Fatal(err)
			}
			if gotJSON.String() != wantJSON.String() {
				t.Fatalf("%s, budget %d: JSON differs at %s", c[0], budget, firstDiff(gotJSON.String(), wantJSON.String()))
			}
			gotJSON.Reset()
			if err := WriteJSONSpilled(&gotJSON, r, nil, jc); err != nil {
				t.Fatal(err)
			}
			if gotJSON.String() != wantJSON.String() {
				t.Fatalf("%s, budget %d, checked: JSON differs at %s", c[0], budget, firstDiff(gotJSON.String(), wantJSON.String()))
			}
			if gotCSV.String() != wantCSV.String() {
				t.Fatalf("%s, budget %d: CSV differs at %s", c[0], budget, firstDiff(gotCSV.String(), wantCSV.String()))
			}
			// The flows live at the end deferred (loss.Config.DeferLive)
			// and added to the spill (AddLive): the same bytes.
			for _, tc := range []struct {
				name  string
				spill *FlowSpill
				check func(*loss.LiveFlows) error
				want  *bytes.Buffer
			}{
				{"JSON", NewFlowSpill(spillDir, budget, JSONFlowEncoding), JSONLiveCheck, &wantJSON},
				{"JSON checked", NewFlowSpillChecked(spillDir, budget, JSONFlowEncoding, JSONFlowCheck), JSONLiveCheck, &wantJSON},
				{"CSV", NewFlowSpill(spillDir, budget, CSVFlowEncoding), nil, &wantCSV},
			} {
				cfg.Engine = loss.Config{KeepGaps: true, OnFlow: tc.spill.Flow, DeferLive: true}
				r, _ := analyze.Run(cfg)
				tc.spill.AddLive(r.Live, tc.check)
				if tc.spill.Len() != len(ref.Summary.List) {
					t.Fatalf("%s, %s: %d flows spilled and live, want %d", c[0], tc.name, tc.spill.Len(), len(ref.Summary.List))
				}
				var got bytes.Buffer
				var err error
				if tc.check == nil {
					err = WriteCSVFlows(&got, tc.spill)
				} else {
					err = WriteJSONSpilled(&got, r, nil, tc.spill)
				}
				if err != nil {
					t.Fatal(err)
				}
				if got.String() != tc.want.String() {
					t.Fatalf("%s, budget %d, %s, live flows deferred: differs at %s", c[0], budget, tc.name, firstDiff(got.String(), tc.want.String()))
				}
			}
		}
	})
	if !merged {
		t.Error("no capture made more than 10 runs: the merge is not covered")
	}
}

// TestFlowSpillBlocks holds flows that fill several of the arena's
// blocks, in memory and with runs that span blocks, given out of order:
// the rows come back sorted by flow id, each the flow's own encoding.
func TestFlowSpillBlocks(t *testing.T) {
	const n = 20000 // CSV rows of about 150 bytes: some 3 MB
	order := rand.New(rand.NewPCG(1, 2)).Perm(n)
	var want []byte
	for id := range n {
		var err error
		if want, err = CSVFlowEncoding(want, spillTestFlow(uint64(id))); err != nil {
			t.Fatal(err)
		}
	}
	for _, budget := range []int{64 << 20, 3 << 19} {
		s := NewFlowSpill(t.TempDir(), budget, CSVFlowEncoding)
		blocks := 0
		for _, id := range order {
			s.Flow(spillTestFlow(uint64(id)))
			blocks = max(blocks, len(s.arena))
		}
		if blocks < 2 {
			t.Fatalf("budget %d: the flows took %d block, want several", budget, blocks)
		}
		if runs := len(s.runs); (budget < 4<<20) != (runs > 1) {
			t.Fatalf("budget %d: %d runs written", budget, runs)
		}
		var got []byte
		if err := s.Each(func(b []byte) error { got = append(got, b...); return nil }); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want) {
			t.Fatalf("budget %d: rows differ at %s", budget, firstDiff(string(got), string(want)))
		}
	}
}

// TestFlowSpillParallel holds the parallel merge (eachParallel: enough
// flows kept as records, two cores or more) to the flows' own encodings,
// concatenated in flow id order: 2,577 JSON flows given out of order, checked
// (JSONFlowCheck) or encoded when taken, held in memory and spilled in
// runs. An encoding that fails mid-way and a writer that fails mid-way
// stop it with their error after exactly the flows before.
func TestFlowSpillParallel(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // the path runs on 2 procs, even on one core
	const n = 10*eachBatchLen + 17
	order := rand.New(rand.NewPCG(3, 4)).Perm(n)
	flow := func(id int) *loss.Flow {
		f := spillTestFlow(uint64(id))
		f.EstLost = float64(id) / 7
		return f
	}
	for _, tc := range []struct {
		name   string
		encode FlowEncoding
		check  FlowCheck
	}{{"checked", JSONFlowEncoding, JSONFlowCheck}, {"unchecked", JSONFlowEncoding, nil}} {
		var want []byte
		var ends []int
		for id := range n {
			var err error
			if want, err = tc.encode(want, flow(id)); err != nil {
				t.Fatal(err)
			}
			ends = append(ends, len(want))
		}
		for _, budget := range []int{0, 64 << 10} {
			fill := func(encode FlowEncoding) *FlowSpill {
				s := NewFlowSpillChecked(t.TempDir(), budget, encode, tc.check)
				for _, id := range order {
					s.Flow(flow(id))
				}
				if s.recorded < parallelMin {
					t.Fatalf("%s, budget %d: %d flows kept as records, too few for the parallel merge", tc.name, budget, s.recorded)
				}
				if (budget != 0) != (len(s.runs) > 1) {
					t.Fatalf("%s, budget %d: %d runs", tc.name, budget, len(s.runs))
				}
				return s
			}
			var got []byte
			if err := fill(tc.encode).Each(func(b []byte) error { got = append(got, b...); return nil }); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("%s, budget %d: differs at %s", tc.name, budget, firstDiff(string(got), string(want)))
			}

			// An encoding that refuses flow 1500 (its check, if any, did
			// not) and a writer that fails at its 1000th flow.
			boom := errors.New("boom")
			refusing := func(dst []byte, f *loss.Flow) ([]byte, error) {
				if f.FlowID == 1500 {
					return dst, boom
				}
				return tc.encode(dst, f)
			}
			for _, fail := range []struct {
				encode FlowEncoding
				fn     func(calls int) error
				flows  int
			}{{refusing, func(int) error { return nil }, 1500}, {tc.encode, func(calls int) error {
				if calls == 1000 {
					return boom
				}
				return nil
			}, 1000}} {
				got, calls := got[:0], 0
				err := fill(fail.encode).Each(func(b []byte) error {
					calls++
					got = append(got, b...)
					return fail.fn(calls)
				})
				if !errors.Is(err, boom) {
					t.Fatalf("%s, budget %d: %v, want boom", tc.name, budget, err)
				}
				before := 0 // unchecked, the refused flow fails the spill as it is taken
				if fail.flows != 1500 || tc.check != nil {
					before = ends[fail.flows-1]
				}
				if !bytes.Equal(got, want[:before]) {
					t.Fatalf("%s, budget %d: %d flows before the failure at flow %d", tc.name, budget, calls, fail.flows)
				}
			}
		}
	}
}

// TestPipelineDeferLive holds the JSON, CSV and NDJSON reports, written
// as gapan report writes them (NewOutput, Hook, Write: the flows live at
// the end deferred and encoded at the merge, on two procs), to WriteJSON
// and WriteCSV of every flow of a plain run, and to the NDJSON stream of
// a plain run (every flow through OnFlow), byte for byte: 3,000 Zipf-sized
// flows, those seen rarely ending early (idle) between those that live to
// the end, with upstream loss, in memory and spilled in runs. (Its name
// puts it in the race detector's run of scripts/test.)
func TestPipelineDeferLive(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2)) // the parallel merge, even on one core
	capture := filepath.Join(t.TempDir(), "zipf.pcap")
	f, err := os.Create(capture)
	if err != nil {
		t.Fatal(err)
	}
	_, err = synth.Generate(f, synth.Config{Flows: 3000, Frames: 60000, Payload: 200, AckEvery: 2, Handshake: true,
		Upstream: 0.01, Seed: 5, Order: synth.Zipf, StepNs: 10_000}, false)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	const idle = 100 * time.Millisecond
	cfg := analyze.Config{Captures: []string{capture}, KernelDrops: -1, Workers: 2,
		Engine: loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: idle}}
	ref, err := analyze.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wantJSON, wantCSV bytes.Buffer
	if err := WriteJSON(&wantJSON, ref); err != nil {
		t.Fatal(err)
	}
	if err := WriteCSV(&wantCSV, ref.Summary.List); err != nil {
		t.Fatal(err)
	}
	var wantNDJSON bytes.Buffer
	nw := NewNDJSONWriter(&wantNDJSON)
	plain, err := analyze.Run(analyze.Config{Captures: cfg.Captures, KernelDrops: -1, Workers: 2, Engine: loss.Config{IdleTimeout: idle, OnFlow: nw.Flow}})
	if err != nil {
		t.Fatal(err)
	}
	if err := nw.Finish(plain); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"json": wantJSON.String(), "csv": wantCSV.String(), "ndjson": wantNDJSON.String()}
	for _, format := range []string{"json", "csv", "ndjson"} {
		for _, budget := range []int{0, 64 << 10} {
			if format == "ndjson" && budget != 0 {
				continue // it spills nothing
			}
			var got bytes.Buffer
			out, err := NewOutput(format, &got, DefaultOptions())
			if err != nil {
				t.Fatal(err)
			}
			run := analyze.Config{Captures: cfg.Captures, KernelDrops: -1, Workers: 2, Engine: loss.Config{IdleTimeout: idle}}
			out.Hook(&run)
			spill := &FlowSpill{} // none for NDJSON
			switch o := out.(type) {
			case *jsonOutput:
				spill = o.flows
			case *csvOutput:
				spill = o.flows
			}
			if budget != 0 {
				spill.budget = budget
			}
			ended := 0
			onFlow := run.Engine.OnFlow
			run.Engine.OnFlow = func(f *loss.Flow) { ended++; onFlow(f) }
			r, err := analyze.Run(run)
			if err != nil {
				t.Fatal(err)
			}
			if ended < 100 || r.Live.Len() < parallelMin || (budget != 0) != (len(spill.runs) > 0) {
				t.Fatalf("%s, budget %d: %d flows ended early, %d live at the end, %d runs: want many of each, runs only with a budget", format, budget, ended, r.Live.Len(), len(spill.runs))
			}
			if err := out.Write(r); err != nil {
				t.Fatal(err)
			}
			out.Close()
			if got.String() != want[format] {
				t.Fatalf("%s, budget %d: differs at %s", format, budget, firstDiff(got.String(), want[format]))
			}
		}
	}
}

// spillTestFlow is a flow whose figures all derive from its id.
func spillTestFlow(id uint64) *loss.Flow {
	return &loss.Flow{FlowID: id, Proto: "udp", IPVersion: 4, SrcIP: "10.0.0.1", DstIP: "10.0.0.2",
		SrcPort: uint16(id), DstPort: 53, FirstNs: int64(id), LastNs: int64(id) + 1, EndReason: "idle",
		PacketsFwd: id, BytesFwd: 100 * id, Counters: loss.Counters{Packets: id, Bytes: 100 * id}}
}

// TestFlowSpillError: a spill that cannot encode a flow, create its file
// or write a run says so when the flows are written, before a byte of the
// report is; one used after Each or Close says so too.
func TestFlowSpillError(t *testing.T) {
	boom := errors.New("boom")
	failing := func(dst []byte, f *loss.Flow) ([]byte, error) {
		if f.FlowID == 2 {
			return dst, boom
		}
		return JSONFlowEncoding(dst, f)
	}
	r, err := analyze.Run(analyze.Config{Captures: []string{demoCapture}, KernelDrops: -1})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		spill func() *FlowSpill
		want  string
	}{
		{"encoding", func() *FlowSpill { return NewFlowSpill(t.TempDir(), 0, failing) }, "boom"},
		{"first flow", func() *FlowSpill {
			return NewFlowSpill(t.TempDir(), 0, func(dst []byte, _ *loss.Flow) ([]byte, error) { return dst, boom })
		}, "boom"},
		{"no directory", func() *FlowSpill { return NewFlowSpill(t.TempDir()+"/missing", 1, CSVFlowEncoding) }, "spilling flows"},
		{"write", func() *FlowSpill {
			s := NewFlowSpill(t.TempDir(), 1, CSVFlowEncoding)
			s.Flow(&loss.Flow{FlowID: 7}) // the first run creates the file
			s.file.Close()                // and the next cannot be written
			return s
		}, "spilling flows"},
	} {
		for _, format := range []string{"json", "csv"} {
			s := tc.spill()
			for id := uint64(1); id <= 3; id++ {
				s.Flow(&loss.Flow{FlowID: id})
			}
			var buf bytes.Buffer
			var err error
			if format == "json" {
				err = WriteJSONSpilled(&buf, r, nil, s)
			} else {
				err = WriteCSVFlows(&buf, s)
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("%s, %s: %v, want an error saying %q", tc.name, format, err, tc.want)
			}
			if buf.Len() != 0 {
				t.Errorf("%s, %s: %d bytes written despite the error", tc.name, format, buf.Len())
			}
		}
	}
	s := NewFlowSpill(t.TempDir(), 0, CSVFlowEncoding)
	s.Flow(&loss.Flow{FlowID: 1})
	if err := s.Each(func([]byte) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if err := s.Each(func([]byte) error { return nil }); !errors.Is(err, errSpillUsed) {
		t.Errorf("Each after Each: %v, want errSpillUsed", err)
	}
}

// TestRunCheckStops: a Config.Check that fails stops the run with its
// error, on both paths, well before the end of the capture; with
// MaxFlows 100 the evicted flows reach a FlowSpill whose directory is
// missing, and the check that the gapan command installs sees it.
func TestRunCheckStops(t *testing.T) {
	name := filepath.Join(t.TempDir(), "many.pcap")
	f, err := os.Create(name)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(f, synth.Config{Flows: 1000, Frames: 600000, Payload: 10, AckEvery: 2, Seed: 1}, false); err != nil {
		t.Fatal(err)
	}
	f.Close()
	for _, workers := range []int{1, 2} {
		spill := NewFlowSpill(t.TempDir()+"/missing", 1, CSVFlowEncoding)
		var frames uint64
		_, err := analyze.Run(analyze.Config{Captures: []string{name}, KernelDrops: -1, Workers: workers,
			Engine:   loss.Config{MaxFlows: 100, OnFlow: spill.Flow},
			Progress: func(_ int, _, _ int64, n uint64) { frames = n },
			Check:    spill.Err})
		if err == nil || !strings.Contains(err.Error(), "spilling flows") {
			t.Errorf("workers %d: Run: %v, want the spill's error", workers, err)
		}
		if frames >= 600000/2 {
			t.Errorf("workers %d: stopped after %d frames, want well before the end", workers, frames)
		}
	}
}

// TestFlowSpillAllocs: keeping and merging JSON flows allocates nothing
// per flow (the merge decodes each record into one reused Flow whose
// strings share the record's bytes), so that writing the report of a
// million flows makes no garbage; gapan report writes it after its soft
// memory limit is lifted.
func TestFlowSpillAllocs(t *testing.T) {
	r, err := analyze.Run(analyze.Config{Captures: []string{demoCapture}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true}})
	if err != nil || len(r.Summary.List) == 0 {
		t.Fatalf("%v, %d flows", err, len(r.Summary.List))
	}
	allocs := func(n int, spill func(string, int, FlowEncoding) *FlowSpill) float64 {
		flows := make([]loss.Flow, n)
		for i := range flows {
			flows[i] = *r.Summary.List[i%len(r.Summary.List)]
			flows[i].FlowID = uint64(n - i)
		}
		return testing.AllocsPerRun(3, func() {
			s := spill(t.TempDir(), 0, JSONFlowEncoding)
			for i := range flows {
				s.Flow(&flows[i])
			}
			if err := s.Each(func([]byte) error { return nil }); err != nil {
				t.Fatal(err)
			}
		})
	}
	few, many := allocs(100, NewFlowSpill), allocs(5000, NewFlowSpill)
	if many-few > 50 {
		t.Errorf("%.0f allocations for 100 flows, %.0f for 5,000: the spill allocates per flow", few, many)
	}
	// With a FlowCheck, both merge in parallel.
	checked := func(dir string, budget int, encode FlowEncoding) *FlowSpill {
		return NewFlowSpillChecked(dir, budget, encode, JSONFlowCheck)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(2))
	few, many = allocs(2000, checked), allocs(20000, checked)
	if many-few > 50 {
		t.Errorf("checked: %.0f allocations for 2,000 flows, %.0f for 20,000: the spill allocates per flow", few, many)
	}
}
