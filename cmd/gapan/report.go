package main

import (
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/report"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runFlags are the flags of the commands that run the pipeline (report,
// parquet). They bind to the run's configuration itself: a flag means what
// its field means (0 is none for --idle-timeout as for
// loss.Config.IdleTimeout), so nothing is translated on the way down.
type runFlags struct {
	cfg          analyze.Config
	out          string
	force, quiet bool
	sel          selectFlags
}

// add registers the flags; what names the output --force replaces.
func (fl *runFlags) add(f *pflag.FlagSet, what string) {
	j, e := &fl.cfg.Join, &fl.cfg.Engine
	f.BoolVar(&fl.force, "force", false, "replace an existing "+what)
	f.StringArrayVar(&j.Sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat for a set, in order; default CAPTURE.gaps)")
	f.BoolVar(&j.NoSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from pcapng epb_dropcount only")
	f.BoolVar(&j.AllowMismatch, "allow-mismatch", false, "use a sidecar, with a warning, even when it does not belong to its capture (identity, frame count)")
	f.BoolVar(&j.KeepGoing, "keep-going", false, "on damaged input, use what was read up to the damage and say where it stopped")
	f.BoolVar(&j.Strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.DurationVar(&e.IdleTimeout, "idle-timeout", loss.DefaultIdleTimeout, "end flows idle for this long (capture time; 0: never)")
	f.IntVar(&e.MaxFlows, "max-flows", 0, "cap the flows tracked at once (0: the default cap); the oldest are ended early")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress meter on standard error")
	fl.cfg.KernelDrops = -1
	fl.sel.add(f)
}

// config checks the flags against the captures (analyze.Config.Validate)
// and returns the run's configuration.
func (fl *runFlags) config(captures []string) (analyze.Config, error) {
	cfg := fl.cfg
	cfg.Captures = captures
	var err error
	if cfg.Select, err = fl.sel.selection(); err != nil {
		return cfg, err
	}
	if err := cfg.Validate(); err != nil {
		return cfg, usageError{err}
	}
	return cfg, nil
}

// reportFlags are the flags of gapan report.
type reportFlags struct {
	runFlags
	format string
	opt    report.Options
	local  bool
	infer  bool // report --infer (infer.go)
	// inferSequence is report --infer-sequence: infer's --sequence.
	inferSequence bool
}

func newReportCmd() *cobra.Command {
	fl := reportFlags{opt: report.DefaultOptions()}
	c := withHelp("report", &cobra.Command{
		Use:   "report CAPTURE...",
		Short: "Report where a capture lost frames, which flows lost what, and who lost it",
		Args:  args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := captureArgs(cmd, &fl.sel, a)
			if err != nil {
				return err
			}
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a, fl)
		},
	})
	f := c.Flags()
	formatFlag(c, &fl.format, report.Formats)
	f.StringVarP(&fl.out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	fl.add(f, "output file")
	f.IntVar(&fl.opt.Top, "top", report.DefaultTop, "list the `N` flows that lost most (text, markdown; 0: none)")
	f.IntVar(&fl.opt.Gaps, "gaps", report.DefaultGaps, "list the `N` largest gaps (text, markdown; 0: none)")
	f.BoolVar(&fl.local, "local", false, "print times in local time instead of UTC (text, markdown)")
	f.Int64Var(&fl.cfg.KernelDrops, "kernel-drops", -1, "capture-wide loss `N` known from elsewhere (tcpdump's \"N packets dropped by kernel\")")
	f.BoolVar(&fl.infer, "infer", false, "infer the gaps from the capture's own evidence (TCP, ICMP echo) instead of reading a sidecar (gapan infer; one capture)")
	f.BoolVar(&fl.inferSequence, "infer-sequence", false, "with --infer, also take the packets RTP, ESP, GTP-U and ICMP echo find missing as evidence (gapan infer --sequence)")
	return c
}

func runReport(stdout, stderr io.Writer, captures []string, fl reportFlags) error {
	cfg, err := fl.config(captures)
	switch {
	case err != nil:
		return err
	case checkFormat(fl.format, report.Formats...) != nil:
		return checkFormat(fl.format, report.Formats...)
	case fl.opt.Top < 0 || fl.opt.Gaps < 0:
		return usagef("--top and --gaps take a number of 0 or more")
	case fl.sel.frames != "" && len(captures) > 1:
		return usagef("--frames takes frame numbers of one capture, not of a set of %d (frame numbers are per file)", len(captures))
	case fl.infer && (len(captures) != 1 || cfg.Join.NoSidecar || len(cfg.Join.Sidecars) > 0):
		return usagef("--infer takes one capture and excludes --sidecar and --no-sidecar")
	case fl.inferSequence && !fl.infer:
		return usagef("--infer-sequence goes with --infer")
	}
	if fl.infer {
		if cfg.Join.Readers, err = inferGaps(stderr, captures[0], cfg.KernelDrops, fl.inferSequence); err != nil {
			return err
		}
	}
	fl.opt.NoSidecar = cfg.Join.NoSidecar
	if fl.local {
		fl.opt.Loc = time.Local
	}
	o, err := openOutput(stdout, fl.out, atomicfile.Options{Overwrite: fl.force, Inputs: cfg.Inputs()})
	if err != nil {
		return err
	}
	out, _ := report.NewOutput(fl.format, o, fl.opt)
	out.Hook(&cfg)
	r, err := runMetered(stderr, fl.quiet, "report", &cfg)
	if err == nil {
		err = out.Write(r)
	}
	out.Close()
	if err := o.Finish(err); err != nil {
		return err
	}
	warnAll(stderr, r.Warnings)
	for _, n := range out.Notes(r) {
		fmt.Fprintf(stderr, "gapan: note: %s\n", n)
	}
	return nil
}

// reportMemoryLimit and reportHeadroom are gapan report's soft memory
// limit, as parquetMemoryLimit's: the base, and the multiple of the live
// heap above it. A million live flows hold about 330 MB (the limit is
// then 1.1 times that); once they are handed out the limit comes back
// down to the base (docs/performance.md, issue 21).
const (
	reportMemoryLimit = 320 << 20
	reportHeadroom    = 1.1
)

// runMetered runs cfg with a progress meter on a terminal's stderr, and
// adds a hint to an error on damaged capture input.
func runMetered(stderr io.Writer, quiet bool, label string, cfg *analyze.Config) (*analyze.Result, error) {
	// The outputs that list every flow (json, csv, ndjson, html) turn
	// each into a record and its bytes, garbage the collector leaves to
	// pile up to twice the live heap (GOGC): the soft limit gapan parquet
	// uses keeps the peak near the live set.
	defer memlimit.FollowUnlessSet(reportMemoryLimit, reportHeadroom)()
	meter := progress.ForTerminal(stderr, quiet, label)
	meter.Start()
	cfg.Progress = meter.Files(progress.Sizes(cfg.Captures))
	r, err := analyze.Run(*cfg)
	meter.Done()
	var fe *reader.FormatError
	if errors.As(err, &fe) && fe.FramesRead > 0 {
		err = fmt.Errorf("%w; --keep-going reports the %d frames before the damage", err, fe.FramesRead)
	}
	return r, err
}
