package parquet_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/parquet"
)

// BenchmarkWriteDataset writes the three tables of a capture: the corpus's
// largest real capture, or GAPAN_BENCH_CAPTURE (e.g. the 1 GB bench
// capture of bench/parquet.sh).
func BenchmarkWriteDataset(b *testing.B) {
	capture := os.Getenv("GAPAN_BENCH_CAPTURE")
	if capture == "" {
		capture = corpus + "zeek-echo-connections.pcap"
	}
	st, err := os.Stat(capture)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(st.Size())
	dir := b.TempDir()
	var frames int64
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		out := filepath.Join(dir, "ds")
		res, err := parquet.WriteDataset(out, []string{capture}, parquet.Options{Force: true})
		if err != nil {
			b.Fatal(err)
		}
		frames += res.Captures[0].Frames
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
