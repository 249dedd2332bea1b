package annotate

import (
	"bytes"
	"io"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/simulate"
)

// BenchmarkWriter measures the Writer alone on 82582 small frames held in
// memory, one frame in 64 with a gap.
func BenchmarkWriter(b *testing.B) {
	rd, err := reader.Open(corpus + "zeek-echo-connections.pcap")
	if err != nil {
		b.Fatal(err)
	}
	ifc := rd.Interfaces()[0]
	var frames []reader.Frame
	var size int64
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		c := *f
		c.Data = bytes.Clone(f.Data)
		frames = append(frames, c)
		size += int64(len(c.Data))
	}
	rd.Close()
	b.SetBytes(size)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		w := NewWriter(io.Discard, Options{})
		if _, err := w.AddInterface(ifc); err != nil {
			b.Fatal(err)
		}
		for i := range frames {
			var gap uint64
			if i%64 == 63 {
				gap = 3
			}
			if err := w.WriteFrame(0, &frames[i], gap, true); err != nil {
				b.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(frames))*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkRun measures a whole annotation from files: read, join with a
// simulated 1% loss sidecar, write; with fates (two passes, the first
// running the accounting) and without (--fates=false).
func BenchmarkRun(b *testing.B) {
	dir := b.TempDir()
	sim := filepath.Join(dir, "sim.pcap")
	m, _ := simulate.ParseModel("uniform:0.01")
	st, err := simulate.Run(simulate.Config{Input: corpus + "zeek-echo-connections.pcap", Output: sim, Model: m, Seed: 1})
	if err != nil {
		b.Fatal(err)
	}
	size := int64(0)
	if fs, _, _ := readFrames(b, sim); len(fs) > 0 {
		for _, f := range fs {
			size += int64(len(f.data))
		}
	}
	for _, c := range []struct {
		name    string
		noFates bool
	}{{"fates", false}, {"nofates", true}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(size)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := Write(io.Discard, Config{Inputs: []string{sim}, NoFates: c.noFates}); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(st.FramesOut)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}
