// Command reportprof runs the report pipeline (analyze.Run, then the text
// rendering to /dev/null) over captures under the CPU profiler, for
// docs/performance.md: where the time of a full run goes. With -format it
// runs a format as gapan report does (report.NewOutput, its hooks and the
// command's soft memory limit) and writes the report to /dev/null.
//
//	go run ./bench/reportprof -cpuprofile docs/report.cpu.pprof big.pcap
//	go run ./bench/reportprof -format json -cpuprofile json.pprof big.pcap
package main

import (
	"flag"
	"fmt"
	"io"
	"os"
	"runtime"
	"runtime/pprof"
	"syscall"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/report"
)

func main() {
	cpu := flag.String("cpuprofile", "", "write a CPU profile to `FILE`")
	mem := flag.String("memprofile", "", "write a heap profile to `FILE` at the end")
	workers := flag.Int("workers", 0, "analyze.Config.Workers (0: the default)")
	format := flag.String("format", "", "run this `format` as gapan report does (report.Formats) instead")
	all := flag.Bool("all", false, "keep every flow (as the json and csv formats do) instead of the top 10 (the text format, the default)")
	flag.Parse()
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
	start := time.Now()
	// The engine configuration of `gapan report` (text format) or, with
	// -all, of its json and csv formats.
	ec := loss.Config{KeepTop: 10, KeepGaps: true, IdleTimeout: loss.DefaultIdleTimeout}
	if *all {
		ec = loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: loss.DefaultIdleTimeout}
	}
	var r *analyze.Result
	var err error
	if *format != "" {
		r, err = runFormat(*format, analyze.Config{Captures: flag.Args(), KernelDrops: -1, Workers: *workers})
	} else {
		r, err = analyze.Run(analyze.Config{Captures: flag.Args(), KernelDrops: -1, Workers: *workers, Engine: ec})
		if err == nil {
			err = report.WriteText(io.Discard, r, report.Options{})
		}
	}
	if err != nil {
		fatal(err)
	}
	el := time.Since(start)
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	cpuTime := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	fmt.Fprintf(os.Stderr, "%d frames, %d flows in %v (cpu %v): %.2f M frames/s\n", r.Summary.FramesCaptured, r.Summary.FlowCount,
		el.Round(time.Millisecond), cpuTime.Round(time.Millisecond), float64(r.Summary.FramesCaptured)/el.Seconds()/1e6)
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	fmt.Fprintf(os.Stderr, "peak RSS %d MB; at the end: heap in use %d MB, idle %d MB (released %d MB), sys %d MB, %d GCs\n",
		ru.Maxrss>>10, ms.HeapInuse>>20, ms.HeapIdle>>20, ms.HeapReleased>>20, ms.Sys>>20, ms.NumGC)
	if *mem != "" {
		f, err := os.Create(*mem)
		if err != nil {
			fatal(err)
		}
		pprof.WriteHeapProfile(f)
		f.Close()
	}
}

// runFormat runs cfg and writes its report in format to /dev/null, as gapan
// report does: the output's hooks, the default options, and the soft
// memory limit (memlimit.ReportBase, ReportHeadroom; GOMEMLIMIT wins).
func runFormat(format string, cfg analyze.Config) (*analyze.Result, error) {
	devnull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		return nil, err
	}
	defer devnull.Close()
	defer memlimit.FollowUnlessSet(memlimit.ReportBase, memlimit.ReportHeadroom)()
	cfg.Engine.IdleTimeout = loss.DefaultIdleTimeout
	out, err := report.NewOutput(format, devnull, report.DefaultOptions())
	if err != nil {
		return nil, err
	}
	defer out.Close()
	out.Hook(&cfg)
	// The end of the run, serial: the flows handed to the output (on a
	// capture whose flows all live to the end, loss.Engine.Finish hands
	// them all out between the first and the last call) and the writing.
	var first, last time.Time
	if onFlow := cfg.Engine.OnFlow; onFlow != nil {
		cfg.Engine.OnFlow = func(f *loss.Flow) {
			if first.IsZero() {
				first = time.Now()
			}
			onFlow(f)
			last = time.Now()
		}
	}
	r, err := analyze.Run(cfg)
	if err == nil {
		start := time.Now()
		err = out.Write(r)
		fmt.Fprintf(os.Stderr, "flows handed out in %v (first to last OnFlow), report written in %v\n",
			last.Sub(first).Round(time.Millisecond), time.Since(start).Round(time.Millisecond))
	}
	return r, err
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "reportprof:", err)
	os.Exit(1)
}
