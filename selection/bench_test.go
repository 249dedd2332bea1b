package selection

import (
	"bytes"
	"context"
	"io"
	"slices"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/reader"
)

// BenchmarkMatch measures the filter alone, per frame, on the frames of
// the capture analyze's BenchmarkSelect runs: its ns/frame over that
// benchmark's ns/frame without a selection is the filter's overhead,
// free of the noise of whole runs.
func BenchmarkMatch(b *testing.B) {
	testenv.NeedTool(b, "tcpdump")
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.Config{Flows: 2000, Frames: 100_000, Payload: 500, AckEvery: 2, StartNs: 1e18, Upstream: 0.01, Seed: 1}, false); err != nil {
		b.Fatal(err)
	}
	r, err := reader.NewReader(&buf, "bench.pcap")
	if err != nil {
		b.Fatal(err)
	}
	var frames []reader.Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		c := *f
		c.Data = slices.Clone(f.Data)
		frames = append(frames, c)
	}
	for _, expr := range []string{"tcp", "tcp and (tcp[13] & 8 != 0 or tcp src port 80)", "host 192.168.0.1 and tcp port 80"} {
		b.Run(expr, func(b *testing.B) {
			m := Select{Filter: expr}.NewMatcher(context.Background())
			if _, err := m.Match(&frames[0]); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			n := 0
			for i := range b.N {
				ok, _ := m.Match(&frames[i%len(frames)])
				if ok {
					n++
				}
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/frame")
		})
	}
}
