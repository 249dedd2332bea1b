package report

import (
	"io"
	"os"
	"testing"

	"github.com/gapan/gapan/analyze"
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
