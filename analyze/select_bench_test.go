//go:build unix

package analyze

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/selection"
)

// BenchmarkSelect measures what a selection costs over the plain run of
// the report (top flows kept) on a generated capture: a filter that keeps
// every frame (the filter's whole cost), one that keeps about half of
// them, and a frame window. The filter must cost at most 30 % over none.
func BenchmarkSelect(b *testing.B) {
	testenv.NeedTool(b, "tcpdump")
	path := filepath.Join(b.TempDir(), "bench.pcap")
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	const frames = 400_000
	if _, err := synth.Generate(f, synth.Config{Flows: 2000, Frames: frames, Payload: 500, AckEvery: 2, StartNs: 1e18, Upstream: 0.01, Seed: 1}, false); err != nil {
		b.Fatal(err)
	}
	if err := f.Close(); err != nil {
		b.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		sel  selection.Select
	}{
		{"none", selection.Select{}},
		{"filter=all", selection.Select{Filter: "tcp"}},
		{"filter=half", selection.Select{Filter: "tcp and (tcp[13] & 8 != 0 or tcp src port 80)"}},
		{"frames=half", selection.Select{FirstFrame: frames / 4, LastFrame: frames * 3 / 4}},
	} {
		for _, workers := range []int{1, 2} {
			b.Run(bc.name+"/workers="+string(rune('0'+workers)), func(b *testing.B) {
				b.SetBytes(fi.Size())
				cpu0 := cpuTime(b)
				for range b.N {
					_, err := Run(Config{Captures: []string{path}, KernelDrops: -1, Workers: workers, Select: bc.sel,
						Join: join.Options{NoSidecar: true}, Engine: loss.Config{KeepTop: 20, IdleTimeout: loss.DefaultIdleTimeout}})
					if err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(frames)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
				// CPU time, of every goroutine: on a shared machine it
				// varies far less than the time on the wall.
				b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(frames*b.N), "cpu-ns/frame")
			})
		}
	}
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
