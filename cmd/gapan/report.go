package main

import (
	"errors"
	"fmt"
	"github.com/gapan/gapan/internal/memlimit"
	"io"
	"os"
	"time"

	"github.com/gapan/gapan/analyze"
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

// config checks the flags against the captures and returns the run's
// configuration.
func (fl *runFlags) config(captures []string) (analyze.Config, error) {
	cfg, j := fl.cfg, &fl.cfg.Join
	cfg.Captures = captures
	var err error
	if cfg.Select, err = fl.sel.selection(); err != nil {
		return cfg, err
	}
	switch {
	case len(j.Sidecars) > len(captures):
		return cfg, usagef("%d --sidecar files given for %d captures", len(j.Sidecars), len(captures))
	case j.NoSidecar && len(j.Sidecars) > 0:
		return cfg, usagef("--sidecar and --no-sidecar exclude each other")
	case cfg.Engine.MaxFlows < 0:
		return cfg, usagef("--max-flows takes a number of 0 or more")
	case cfg.Engine.IdleTimeout < 0:
		return cfg, usagef("--idle-timeout takes a duration of 0 or more")
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
}

const reportLong = `Read a capture with its gap sidecar (CAPTURE.gaps, or --sidecar) and report
the loss: frames captured and lost (gaps plus the tail gap), the loss ratio,
the gap events and the largest gaps in words, loss per second, and per flow
the estimated loss and the TCP/RTP sequence evidence of capture loss versus
upstream loss.

Several captures (a rotated set, cap_*.pcap) are read in order as one
capture; frame numbers stay per file, each file has its own sidecar, and
loss at a file boundary belongs to the next file's first frame. A directory
means the captures in it, in name order; sidecars among the arguments are
skipped (docs/report.md, Input).

Without a sidecar the report still works: gaps come from pcapng
epb_dropcount if present, and the report says that no sidecar was found.
Loss known only as a capture-wide total (pcapng isb_ifdrop, or tcpdump's
"N packets dropped by kernel" given as --kernel-drops N) is reported as
"N frames lost, position unknown".

Formats: text (default), json (schema "gapan.report/2", docs/report.md),
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
says where it stopped, and exits 0.`

const reportExample = `  gapan report testdata/demo/demo.pcap
  gapan report testdata/demo/demo.pcap --format json -o /tmp/demo.json
  gapan report testdata/demo/demo.pcap --format csv --top 0
  gapan report testdata/demo/demo.pcap --format html -o /tmp/demo.html
  gapan report testdata/corpus/zeek-http-1000-requests-one-dropped-response.pcap --kernel-drops 1
  gapan report testdata/corpus/suricata-smtp-to-comma-corrupt.pcap --keep-going
  gapan report testdata/corpus/tls-subjectaltname.pcap tcp port 443 --start +30s`

func newReportCmd() *cobra.Command {
	fl := reportFlags{opt: report.DefaultOptions()}
	c := &cobra.Command{
		Use:     "report CAPTURE...",
		Short:   "Report where a capture lost frames, which flows lost what, and who lost it",
		Long:    reportLong,
		Example: reportExample,
		Args:    args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := fl.sel.split(cmd, a)
			if err != nil {
				return err
			}
			a, err = expandCaptures(cmd.ErrOrStderr(), a)
			if err != nil {
				return err
			}
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a, fl)
		},
	}
	f := c.Flags()
	formatFlag(c, &fl.format, reportFormats)
	f.StringVarP(&fl.out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	fl.add(f, "output file")
	f.IntVar(&fl.opt.Top, "top", report.DefaultTop, "list the `N` flows that lost most (text, markdown; 0: none)")
	f.IntVar(&fl.opt.Gaps, "gaps", report.DefaultGaps, "list the `N` largest gaps (text, markdown; 0: none)")
	f.BoolVar(&fl.local, "local", false, "print times in local time instead of UTC (text, markdown)")
	f.Int64Var(&fl.cfg.KernelDrops, "kernel-drops", -1, "capture-wide loss `N` known from elsewhere (tcpdump's \"N packets dropped by kernel\")")
	f.BoolVar(&fl.infer, "infer", false, "infer the gaps from the capture's own evidence (TCP, ICMP echo) instead of reading a sidecar (gapan infer; one capture)")
	return c
}

func runReport(stdout, stderr io.Writer, captures []string, fl reportFlags) error {
	cfg, err := fl.config(captures)
	switch {
	case err != nil:
		return err
	case checkFormat(fl.format, reportFormats...) != nil:
		return checkFormat(fl.format, reportFormats...)
	case fl.opt.Top < 0 || fl.opt.Gaps < 0:
		return usagef("--top and --gaps take a number of 0 or more")
	case cfg.KernelDrops < -1:
		return usagef("--kernel-drops takes a number of 0 or more")
	case fl.sel.frames != "" && len(captures) > 1:
		return usagef("--frames takes frame numbers of one capture, not of a set of %d (frame numbers are per file)", len(captures))
	case fl.infer && (len(captures) != 1 || cfg.Join.NoSidecar || len(cfg.Join.Sidecars) > 0):
		return usagef("--infer takes one capture and excludes --sidecar and --no-sidecar")
	}
	if fl.infer {
		path, remove, err := inferSidecar(stderr, captures[0], cfg.KernelDrops)
		if err != nil {
			return err
		}
		defer remove()
		cfg.Join.Sidecars = []string{path}
	}
	fl.opt.NoSidecar = cfg.Join.NoSidecar
	if fl.local {
		fl.opt.Loc = time.Local
	}
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
	warnAll(stderr, r.Warnings)
	for _, n := range out.Notes(r) {
		fmt.Fprintf(stderr, "gapan: note: %s\n", n)
	}
	return nil
}

// runMetered runs cfg with a progress meter on a terminal's stderr, and
// adds a hint to an error on damaged capture input.
// reportMemoryLimit and reportHeadroom are gapan report's soft memory
// limit, as parquetMemoryLimit's: the base, and the multiple of the live
// heap above it. A million live flows hold about 310 MB.
const (
	reportMemoryLimit = 360 << 20
	reportHeadroom    = 1.1
)

func runMetered(stderr io.Writer, quiet bool, label string, cfg *analyze.Config) (*analyze.Result, error) {
	// The outputs that list every flow (json, csv, ndjson, html) turn
	// each into a record and its bytes, garbage the collector leaves to
	// pile up to twice the live heap (GOGC): the soft limit gapan parquet
	// uses keeps the peak near the live set. GOMEMLIMIT, when set, wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		defer memlimit.Follow(reportMemoryLimit, reportHeadroom, 100*time.Millisecond)()
	}
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
