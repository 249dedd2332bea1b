// Command parquetprof writes the Parquet dataset of captures
// (parquet.WriteDataset, as `gapan parquet` does, with its soft memory
// limit) under the CPU profiler, and takes a heap profile at the largest
// live heap of the run (and at its end, for what the whole run
// allocated), for docs/performance.md: where the time and the memory of
// `gapan parquet` go.
//
//	go run ./bench/parquetprof -cpuprofile cpu.pprof -memprofile heap.pprof big.pcap
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"runtime/metrics"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/parquet"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	mem := flag.String("memprofile", "", "write a heap profile taken at the largest live heap to `FILE`")
	allocs := flag.String("allocprofile", "", "write the heap profile at the end of the run to `FILE` (alloc_space: where the whole run allocated)")
	base := flag.Int64("limit", memlimit.ParquetBase, "soft memory limit base in bytes (memlimit.Follow; gapan parquet's); 0: none")
	headroom := flag.Float64("headroom", memlimit.ParquetHeadroom, "soft memory limit: headroom over the live heap")
	rgBytes := flag.Int("rowgroupbytes", 0, "parquet.WriterOptions.RowGroupBytes (0: the default)")
	out := flag.String("o", "", "dataset directory (default: a temporary one, removed)")
	flag.Parse()
	dir := *out
	if dir == "" {
		tmp, err := os.MkdirTemp("", "parquetprof-*")
		if err != nil {
			fatal(err)
		}
		defer os.RemoveAll(tmp)
		dir = filepath.Join(tmp, "ds")
	}
	if *cpu != "" {
		f, err := os.Create(*cpu)
		if err != nil {
			fatal(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fatal(err)
		}
		defer pprof.StopCPUProfile()
	}
	if *base > 0 {
		defer memlimit.Follow(*base, *headroom, 100*time.Millisecond)()
	}
	var peak uint64
	var heap []byte
	done := make(chan struct{})
	sampled := make(chan struct{})
	go func() {
		defer close(sampled)
		s := []metrics.Sample{{Name: "/gc/heap/live:bytes"}}
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
			}
			metrics.Read(s)
			if live := s[0].Value.Uint64(); live > peak {
				peak = live
				if *mem != "" {
					heap = heapProfile()
				}
			}
		}
	}()
	start := time.Now()
	res, err := parquet.WriteDataset(dir, flag.Args(), parquet.Options{Force: true, Writer: parquet.WriterOptions{RowGroupBytes: *rgBytes}})
	close(done)
	<-sampled
	if err != nil {
		fatal(err)
	}
	el := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	t := res.Total()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "%d frames, %d flows in %v (cpu %v): %.2f M frames/s\n", t.Frames, t.Flows, el.Round(time.Millisecond),
		time.Duration(ru.Utime.Nano()+ru.Stime.Nano()).Round(time.Millisecond), float64(t.Frames)/el.Seconds()/1e6)
	fmt.Fprintf(os.Stderr, "peak RSS %d MB, largest live heap %d MB, %d GCs\n", ru.Maxrss>>10, peak>>20, ms.NumGC)
	if *mem != "" {
		if err := os.WriteFile(*mem, heap, 0o644); err != nil {
			fatal(err)
		}
	}
	if *allocs != "" {
		if err := os.WriteFile(*allocs, heapProfile(), 0o644); err != nil {
			fatal(err)
		}
	}
}

// heapProfile returns the heap profile as of the last collection.
func heapProfile() []byte {
	f, err := os.CreateTemp("", "parquetprof-heap-*")
	if err != nil {
		fatal(err)
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := pprof.WriteHeapProfile(f); err != nil {
		fatal(err)
	}
	b, err := os.ReadFile(f.Name())
	if err != nil {
		fatal(err)
	}
	return b
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "parquetprof:", err)
	os.Exit(1)
}
