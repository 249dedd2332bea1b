package report

import (
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/loss"
)

// BenchmarkRunJSON measures the whole report: join, accounting and the
// JSON rendering of a simulated 3,087-frame capture.
func BenchmarkRunJSON(b *testing.B) {
	dir := b.TempDir()
	p := simulated(b, dir, "tls.pcap", "tls-subjectaltname.pcap", "list:10-20,100,2000-2040")
	st, err := os.Stat(p)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	b.ReportAllocs()
	var frames uint64
	for b.Loop() {
		r, err := analyze.Run(analyze.Config{Captures: []string{p}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
		if err != nil {
			b.Fatal(err)
		}
		if err := WriteJSON(io.Discard, r); err != nil {
			b.Fatal(err)
		}
		frames += r.Summary.FramesCaptured
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkWriteText measures the text rendering alone.
func BenchmarkWriteText(b *testing.B) {
	dir := b.TempDir()
	p := simulated(b, dir, "tls.pcap", "tls-subjectaltname.pcap", "list:10-20,100,2000-2040")
	r, err := analyze.Run(analyze.Config{Captures: []string{p}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if err := WriteText(io.Discard, r, DefaultOptions()); err != nil {
			b.Fatal(err)
		}
	}
}

// benchResult is a run with every flow kept over a generated capture of
// 20,000 TCP flows (3 frames each, uniformly interleaved, some segments
// lost upstream and resent so that the loss counters are not all 0): the
// flows the writer benchmarks render.
var benchResult = sync.OnceValues(func() (*analyze.Result, error) {
	dir, err := os.MkdirTemp("", "gapan-report-bench-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	p := filepath.Join(dir, "flows.pcap")
	f, err := os.Create(p)
	if err != nil {
		return nil, err
	}
	cfg := synth.Config{Flows: 20000, Frames: 60000, Payload: 100, Upstream: 0.05, Seed: 21, Order: synth.Uniform}
	if _, err := synth.Generate(f, cfg, false); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Close(); err != nil {
		return nil, err
	}
	return analyze.Run(analyze.Config{Captures: []string{p}, KernelDrops: -1,
		Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
})

// benchWriter measures write, one rendering of benchResult's flows, and
// reports its throughput in flows/s and output bytes.
func benchWriter(b *testing.B, write func(w io.Writer, r *analyze.Result) error) {
	r, err := benchResult()
	if err != nil {
		b.Fatal(err)
	}
	var cw countWriter
	if err := write(&cw, r); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(cw.n)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if err := write(io.Discard, r); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(r.Summary.List))*float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}

// countWriter counts the bytes written to it.
type countWriter struct{ n int64 }

func (w *countWriter) Write(p []byte) (int, error) {
	w.n += int64(len(p))
	return len(p), nil
}

// BenchmarkWriteJSON measures the JSON report of 20,000 flows from the
// Summary's list.
func BenchmarkWriteJSON(b *testing.B) { benchWriter(b, WriteJSON) }

// BenchmarkWriteJSONSpilled measures the JSON report as gapan report
// writes it: each flow encoded into a FlowSpill as it ends (4 MB budget,
// so that most of them go through the temporary file), then merged.
func BenchmarkWriteJSONSpilled(b *testing.B) {
	dir := b.TempDir()
	benchWriter(b, func(w io.Writer, r *analyze.Result) error {
		s := NewFlowSpillChecked(dir, 4<<20, JSONFlowEncoding, JSONFlowCheck)
		for _, f := range r.Summary.List {
			s.Flow(f)
		}
		return WriteJSONSpilled(w, r, nil, s)
	})
}

// BenchmarkWriteJSONHeld is BenchmarkWriteJSONSpilled with the default
// budget: every flow held in memory, none written to the temporary file,
// as gapan report keeps the 50,000 flows of the bench captures.
func BenchmarkWriteJSONHeld(b *testing.B) {
	dir := b.TempDir()
	benchWriter(b, func(w io.Writer, r *analyze.Result) error {
		s := NewFlowSpillChecked(dir, 0, JSONFlowEncoding, JSONFlowCheck)
		for _, f := range r.Summary.List {
			s.Flow(f)
		}
		return WriteJSONSpilled(w, r, nil, s)
	})
}

// BenchmarkWriteCSV measures the CSV rows of 20,000 flows.
func BenchmarkWriteCSV(b *testing.B) {
	benchWriter(b, func(w io.Writer, r *analyze.Result) error { return WriteCSV(w, r.Summary.List) })
}

// BenchmarkWriteCSVSpilled is BenchmarkWriteJSONSpilled for CSV.
func BenchmarkWriteCSVSpilled(b *testing.B) {
	dir := b.TempDir()
	benchWriter(b, func(w io.Writer, r *analyze.Result) error {
		s := NewFlowSpill(dir, 4<<20, CSVFlowEncoding)
		for _, f := range r.Summary.List {
			s.Flow(f)
		}
		return WriteCSVFlows(w, s)
	})
}

// BenchmarkWriteNDJSON measures the NDJSON stream of 20,000 flows and its
// summary line.
func BenchmarkWriteNDJSON(b *testing.B) {
	benchWriter(b, func(w io.Writer, r *analyze.Result) error {
		nw := NewNDJSONWriter(w)
		for _, f := range r.Summary.List {
			nw.Flow(f)
		}
		return nw.Finish(r)
	})
}
