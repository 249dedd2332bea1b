package main

import (
	"fmt"
	"io"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/report"
	"github.com/spf13/cobra"
)

// reportFlags are the flags of gapan report.
type reportFlags struct {
	cli.RunFlags
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
		Args:  cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := cli.Captures(cmd, &fl.Select, a)
			if err != nil {
				return err
			}
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a, fl)
		},
	})
	f := c.Flags()
	cli.FormatFlag(c, &fl.format, report.Formats)
	f.StringVarP(&fl.Output, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	fl.AddFlags(f, "output file")
	f.IntVar(&fl.opt.Top, "top", report.DefaultTop, "list the `N` flows that lost most (text, markdown; 0: none)")
	f.IntVar(&fl.opt.Gaps, "gaps", report.DefaultGaps, "list the `N` largest gaps (text, markdown; 0: none)")
	f.BoolVar(&fl.local, "local", false, "print times in local time instead of UTC (text, markdown)")
	f.Int64Var(&fl.Run.KernelDrops, "kernel-drops", -1, "capture-wide loss `N` known from elsewhere (tcpdump's \"N packets dropped by kernel\")")
	f.BoolVar(&fl.infer, "infer", false, "infer the gaps from the capture's own evidence (TCP, ICMP echo) instead of reading a sidecar (gapan infer; one capture)")
	f.BoolVar(&fl.inferSequence, "infer-sequence", false, "with --infer, also take the packets RTP, ESP, GTP-U and ICMP echo find missing as evidence (gapan infer --sequence)")
	return c
}

func runReport(stdout, stderr io.Writer, captures []string, fl reportFlags) error {
	cfg, err := fl.Config(captures)
	switch {
	case err != nil:
		return err
	case cli.CheckFormat(fl.format, report.Formats...) != nil:
		return cli.CheckFormat(fl.format, report.Formats...)
	case fl.opt.Top < 0 || fl.opt.Gaps < 0:
		return cli.Usagef("--top and --gaps take a number of 0 or more")
	case fl.Select.Frames != "" && len(captures) > 1:
		return cli.Usagef("--frames takes frame numbers of one capture, not of a set of %d (frame numbers are per file)", len(captures))
	case fl.infer && (len(captures) != 1 || cfg.Join.NoSidecar || len(cfg.Join.Sidecars) > 0):
		return cli.Usagef("--infer takes one capture and excludes --sidecar and --no-sidecar")
	case fl.inferSequence && !fl.infer:
		return cli.Usagef("--infer-sequence goes with --infer")
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
	o, err := cli.OpenOutput(stdout, fl.Output, atomicfile.Options{Overwrite: fl.Force, Inputs: cfg.Inputs()})
	if err != nil {
		return err
	}
	out, _ := report.NewOutput(fl.format, o, fl.opt)
	out.Hook(&cfg)
	var r *analyze.Result
	err = cli.Metered(stderr, fl.Quiet, "report", memlimit.ReportBase, memlimit.ReportHeadroom, func(m *progress.Meter) (err error) {
		cfg.Progress = m.Files(progress.Sizes(cfg.Captures))
		r, err = analyze.Run(cfg)
		return cli.KeepGoingHint(err)
	})
	if err == nil {
		err = out.Write(r)
	}
	out.Close()
	if err := o.Finish(err); err != nil {
		return err
	}
	cli.WarnAll(stderr, r.Warnings)
	for _, n := range out.Notes(r) {
		fmt.Fprintf(stderr, "gapan: note: %s\n", n)
	}
	return nil
}
