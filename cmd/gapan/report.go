package main

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/report"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// runFlags are the flags of the commands that run the pipeline (report,
// parquet): which sidecars, how strict the join, the accounting's limits,
// and the output. Their values mean what the library's fields mean, so
// they go down as they are.
type runFlags struct {
	out                                    string
	force, noSidecar, allowMismatch, quiet bool
	keepGoing, strict                      bool
	sidecars                               []string
	idleTimeout                            time.Duration
	maxFlows                               int
	sel                                    selectFlags
	selected                               selection.Select
}

// add registers the flags; what names the output --force replaces.
func (fl *runFlags) add(f *pflag.FlagSet, what string) {
	f.BoolVar(&fl.force, "force", false, "replace an existing "+what)
	f.StringArrayVar(&fl.sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat for a set, in order; default CAPTURE.gaps)")
	f.BoolVar(&fl.noSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from pcapng epb_dropcount only")
	f.BoolVar(&fl.allowMismatch, "allow-mismatch", false, "use a sidecar, with a warning, even when it does not belong to its capture (identity, frame count)")
	f.BoolVar(&fl.keepGoing, "keep-going", false, "on damaged input, use what was read up to the damage and say where it stopped")
	f.BoolVar(&fl.strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.DurationVar(&fl.idleTimeout, "idle-timeout", loss.DefaultIdleTimeout, "end flows idle for this long (capture time; 0: never)")
	f.IntVar(&fl.maxFlows, "max-flows", 0, "cap the flows tracked at once (0: the default cap); the oldest are ended early")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress meter on standard error")
	fl.sel.add(f)
}

// check checks the flags against the captures.
func (fl *runFlags) check(captures []string) error {
	switch {
	case len(fl.sidecars) > len(captures):
		return usagef("%d --sidecar files given for %d captures", len(fl.sidecars), len(captures))
	case fl.noSidecar && len(fl.sidecars) > 0:
		return usagef("--sidecar and --no-sidecar exclude each other")
	case fl.maxFlows < 0:
		return usagef("--max-flows takes a number of 0 or more")
	case fl.idleTimeout < 0:
		return usagef("--idle-timeout takes a duration of 0 or more")
	}
	var err error
	fl.selected, err = fl.sel.selection()
	return err
}

// config is the run's configuration from the flags.
func (fl *runFlags) config(captures []string) analyze.Config {
	return analyze.Config{
		Captures:    captures,
		Join:        join.Options{Sidecars: fl.sidecars, NoSidecar: fl.noSidecar, AllowMismatch: fl.allowMismatch, KeepGoing: fl.keepGoing, Strict: fl.strict},
		Engine:      loss.Config{IdleTimeout: fl.idleTimeout, MaxFlows: fl.maxFlows},
		KernelDrops: -1,
		Select:      fl.selected,
	}
}

// reportFlags are the flags of gapan report.
type reportFlags struct {
	runFlags
	format      string
	opt         report.Options
	local       bool
	kernelDrops int64
}

func newReportCmd() *cobra.Command {
	fl := reportFlags{opt: report.DefaultOptions()}
	c := &cobra.Command{
		Use:   "report CAPTURE... [FILTER WORDS...]",
		Short: "Report where a capture lost frames, which flows lost what, and who lost it",
		Long: `Read a capture with its gap sidecar (CAPTURE.gaps, or --sidecar) and report
the loss: frames captured and lost (gaps plus the tail gap), the loss ratio,
the gap events and the largest gaps in words, loss per second, and per flow
the estimated loss and the TCP/RTP sequence evidence of capture loss versus
upstream loss.

Several captures (a rotated set, cap_*.pcap) are read in order as one
capture; frame numbers stay per file, each file has its own sidecar, and
loss at a file boundary belongs to the next file's first frame.

Without a sidecar the report still works: gaps come from pcapng
epb_dropcount if present, and the report says that no sidecar was found.
Loss known only as a capture-wide total (pcapng isb_ifdrop, or tcpdump's
"N packets dropped by kernel" given as --kernel-drops N) is reported as
"N frames lost, position unknown".

Formats: text (default), json (schema "gapan.report/1", docs/report.md),
csv (one row per flow), ndjson (one flow per line as flows end, then a
summary line; for captures with millions of flows), markdown, html (one
self-contained page with charts and sortable tables, docs/html.md).

--filter EXPR (tcpdump syntax, or words after the captures: gapan report
cap.pcap tcp port 443), --start, --end and --frames choose the frames to
analyze: the gaps and capture totals cover the whole window, the flows only
the selected frames, and frame numbers stay those of the file
(docs/report.md, "Selecting frames").

Damaged input stops the report with an error naming the file, frame and
byte offset; --keep-going reports what was read up to the damage instead,
says where it stopped, and exits 0.`,
		Example: `  gapan report testdata/demo/demo.pcap
  gapan report testdata/demo/demo.pcap --format json -o /tmp/demo.json
  gapan report testdata/demo/demo.pcap --format csv --top 0
  gapan report testdata/demo/demo.pcap --format html -o /tmp/demo.html
  gapan report testdata/corpus/zeek-http-1000-requests-one-dropped-response.pcap --kernel-drops 1
  gapan report testdata/corpus/suricata-smtp-to-comma-corrupt.pcap --keep-going
  gapan report testdata/corpus/tls-subjectaltname.pcap tcp port 443 --start +30s`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := fl.sel.split(cmd, a)
			if err != nil {
				return err
			}
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a, fl)
		},
	}
	f := c.Flags()
	f.StringVar(&fl.format, "format", "text", "output format: text, json, csv, ndjson, markdown or html")
	f.StringVarP(&fl.out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	fl.add(f, "output file")
	f.IntVar(&fl.opt.Top, "top", report.DefaultTop, "list the `N` flows that lost most (text, markdown; 0: none)")
	f.IntVar(&fl.opt.Gaps, "gaps", report.DefaultGaps, "list the `N` largest gaps (text, markdown; 0: none)")
	f.BoolVar(&fl.local, "local", false, "print times in local time instead of UTC (text, markdown)")
	f.Int64Var(&fl.kernelDrops, "kernel-drops", -1, "capture-wide loss `N` known from elsewhere (tcpdump's \"N packets dropped by kernel\")")
	return c
}

func runReport(stdout, stderr io.Writer, captures []string, fl reportFlags) error {
	switch err := fl.check(captures); {
	case err != nil:
		return err
	case !slices.Contains(report.Formats, fl.format):
		return usagef("unknown --format %q (want one of %v)", fl.format, report.Formats)
	case fl.opt.Top < 0 || fl.opt.Gaps < 0:
		return usagef("--top and --gaps take a number of 0 or more")
	case fl.kernelDrops < -1:
		return usagef("--kernel-drops takes a number of 0 or more")
	case fl.sel.frames != "" && len(captures) > 1:
		return usagef("--frames takes frame numbers of one capture, not of a set of %d (frame numbers are per file)", len(captures))
	}
	fl.opt.NoSidecar = fl.noSidecar
	if fl.local {
		fl.opt.Loc = time.Local
	}
	cfg := fl.config(captures)
	cfg.KernelDrops = fl.kernelDrops
	o, err := openOutput(stdout, fl.out, fl.force, cfg.Inputs())
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
	if err := o.finish(err); err != nil {
		return err
	}
	warn(stderr, r.Warnings)
	for _, fi := range r.Files { // text and Markdown say it in the report
		if fi.Source == join.SourceNone && !fl.noSidecar && fi.Name != "-" && fl.format != "text" && fl.format != "markdown" {
			fmt.Fprintf(stderr, "gapan: note: no sidecar found for %s (looked for %s): loss positions unknown\n", fi.Name, sidecar.PathFor(fi.Name))
		}
	}
	return nil
}

// warn prints the join's warnings.
func warn(stderr io.Writer, ws []join.Warning) {
	for _, w := range ws {
		fmt.Fprintf(stderr, "gapan: warning: %v\n", w)
	}
}

// runMetered runs cfg with a progress meter on a terminal's stderr, and
// adds a hint to an error on damaged capture input.
func runMetered(stderr io.Writer, quiet bool, label string, cfg *analyze.Config) (*analyze.Result, error) {
	meter := progressMeter(stderr, quiet, label)
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

// progressMeter returns a progress meter on stderr when it is a terminal
// and quiet is not set, else nil (no progress).
func progressMeter(stderr io.Writer, quiet bool, label string) *progress.Meter {
	return progress.ForTerminal(stderr, quiet, label)
}
