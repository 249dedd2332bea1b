package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/report"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

// reportFlags are the flags of gapan report.
type reportFlags struct {
	format, out   string
	force         bool
	sidecars      []string
	noSidecar     bool
	allowMismatch bool
	keepGoing     bool
	strict        bool
	top, gaps     int
	local         bool
	kernelDrops   int64
	idleTimeout   time.Duration
	maxFlows      int
	quiet         bool
}

func newReportCmd() *cobra.Command {
	var fl reportFlags
	c := &cobra.Command{
		Use:   "report CAPTURE...",
		Short: "Report where a capture lost frames, which flows lost what, and who lost it",
		Long: `Read a capture with its gap sidecar (CAPTURE.gaps, or --sidecar) and report
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

Formats: text (default), json (schema "gapan.report/1", docs/report.md),
csv (one row per flow), ndjson (one flow per line as flows end, then a
summary line; for captures with millions of flows), markdown, html (one
self-contained page with charts and sortable tables, docs/html.md).

Damaged input stops the report with an error naming the file, frame and
byte offset; --keep-going reports what was read up to the damage instead,
says where it stopped, and exits 0.`,
		Example: `  gapan report testdata/demo/demo.pcap
  gapan report testdata/demo/demo.pcap --format json -o /tmp/demo.json
  gapan report testdata/demo/demo.pcap --format csv --top 0
  gapan report testdata/demo/demo.pcap --format html -o /tmp/demo.html
  gapan report testdata/corpus/zeek-http-1000-requests-one-dropped-response.pcap --kernel-drops 1
  gapan report testdata/corpus/suricata-smtp-to-comma-corrupt.pcap --keep-going`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := expandCaptures(cmd.ErrOrStderr(), a)
			if err != nil {
				return err
			}
			return runReport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a, fl)
		},
	}
	f := c.Flags()
	formatFlag(c, &fl.format, reportFormats)
	f.StringVarP(&fl.out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	f.BoolVar(&fl.force, "force", false, "replace an existing output file")
	f.StringArrayVar(&fl.sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat for a set, in order; default CAPTURE.gaps)")
	f.BoolVar(&fl.noSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from pcapng epb_dropcount only")
	f.BoolVar(&fl.allowMismatch, "allow-mismatch", false, "use a sidecar, with a warning, even when it does not belong to its capture (identity, frame count)")
	f.BoolVar(&fl.keepGoing, "keep-going", false, "on damaged input, report what was read up to the damage and say where it stopped")
	f.BoolVar(&fl.strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.IntVar(&fl.top, "top", 10, "list the `N` flows that lost most (text, markdown; 0: none)")
	f.IntVar(&fl.gaps, "gaps", 10, "list the `N` largest gaps (text, markdown; 0: none)")
	f.BoolVar(&fl.local, "local", false, "print times in local time instead of UTC (text, markdown)")
	f.Int64Var(&fl.kernelDrops, "kernel-drops", -1, "capture-wide loss `N` known from elsewhere (tcpdump's \"N packets dropped by kernel\")")
	f.DurationVar(&fl.idleTimeout, "idle-timeout", loss.DefaultIdleTimeout, "end flows idle for this long (capture time; 0: never)")
	f.IntVar(&fl.maxFlows, "max-flows", 0, "cap the flows tracked at once (0: the default cap); the oldest are ended early")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress meter on standard error")
	return c
}

func runReport(stdout, stderr io.Writer, captures []string, fl reportFlags) error {
	if err := checkFormat(fl.format, reportFormats...); err != nil {
		return err
	}
	if err := checkSidecarFlags(len(captures), fl.sidecars, fl.noSidecar); err != nil {
		return err
	}
	if fl.top < 0 || fl.gaps < 0 || fl.maxFlows < 0 {
		return usagef("--top, --gaps and --max-flows take a number of 0 or more")
	}
	if fl.kernelDrops < -1 {
		return usagef("--kernel-drops takes a number of 0 or more")
	}
	if fl.idleTimeout < 0 {
		return usagef("--idle-timeout takes a duration of 0 or more")
	}
	cfg := report.Config{
		Captures:    captures,
		Join:        join.Options{Sidecars: fl.sidecars, NoSidecar: fl.noSidecar, AllowMismatch: fl.allowMismatch, KeepGoing: fl.keepGoing, Strict: fl.strict},
		Engine:      loss.Config{IdleTimeout: fl.idleTimeout, MaxFlows: fl.maxFlows},
		KernelDrops: fl.kernelDrops,
	}
	if fl.idleTimeout == 0 {
		cfg.Engine.IdleTimeout = -1 // loss.Config: negative disables it
	}
	o, err := openOutput(stdout, fl.out, fl.force, join.Inputs(captures, cfg.Join))
	if err != nil {
		return err
	}
	// No output keeps every flow or gap of the capture: memory grows with
	// the live flows, not with the capture.
	var (
		nw        *report.NDJSONWriter
		spill     *report.FlowSpill
		gapSpill  *report.GapSpill
		htmlFlows *report.HTMLFlows
		largest   *report.LargestGaps
	)
	switch fl.format {
	case "ndjson":
		nw = report.NewNDJSONWriter(o)
		cfg.Engine.OnFlow = nw.Flow
	case "text", "markdown":
		// These list only the top flows and the largest gaps.
		largest = report.NewLargestGaps(fl.gaps)
		cfg.Engine.KeepTop, cfg.Engine.OnGap = max(fl.top, 1), largest.Gap
	case "json", "csv":
		// Every flow, sorted by flow id: encoded as each ends, and
		// spilled to a temporary file beyond a budget; for JSON every
		// gap, in stream order, likewise.
		enc := report.JSONFlowEncoding
		if fl.format == "csv" {
			enc = report.CSVFlowEncoding
		}
		spill = report.NewFlowSpill("", 0, enc)
		defer spill.Close()
		cfg.Engine.OnFlow = spill.Flow
		if fl.format == "json" {
			gapSpill = report.NewGapSpill("", 0)
			defer gapSpill.Close()
			cfg.Engine.OnGap = gapSpill.Gap
		}
	case "html":
		// The page lists the flows that lost most and the largest gaps.
		htmlFlows, largest = report.NewHTMLFlows(0), report.NewLargestGaps(report.HTMLMaxRows)
		cfg.Engine.OnFlow, cfg.Engine.OnGap = htmlFlows.Flow, largest.Gap
	}
	// A spill that failed (disk full) stops the run at once.
	cfg.Check = func() error {
		if spill != nil && spill.Err() != nil {
			return spill.Err()
		}
		if gapSpill != nil && gapSpill.Err() != nil {
			return gapSpill.Err()
		}
		return nil
	}
	var tl *report.Timeline
	if fl.format == "html" {
		tl = report.NewTimeline(0)
		cfg.Frame = tl.Frame
	}
	meter := progressMeter(stderr, fl.quiet, "report")
	meter.Start()
	cfg.Progress = meter.Files(progress.Sizes(captures))
	r, err := report.Run(cfg)
	meter.Done()
	if err != nil {
		if nw != nil {
			nw.Finish(nil)
		}
		return o.finish(explainRunError(err))
	}
	opt := report.Options{Top: fl.top, Gaps: fl.gaps, NoSidecar: fl.noSidecar, LargestGaps: largest}
	if fl.top == 0 {
		opt.Top = -1
	}
	if fl.gaps == 0 {
		opt.Gaps = -1
	}
	if fl.local {
		opt.Loc = time.Local
	}
	switch fl.format {
	case "text":
		err = report.WriteText(o, r, opt)
	case "markdown":
		err = report.WriteMarkdown(o, r, opt)
	case "json":
		err = report.WriteJSONSpilled(o, r, gapSpill, spill)
	case "html":
		err = report.WriteHTML(o, r, report.HTMLOptions{Options: opt, Timeline: tl, Flows: htmlFlows})
	case "csv":
		err = report.WriteCSVFlows(o, spill)
	case "ndjson":
		err = nw.Finish(r)
	}
	if err := o.finish(err); err != nil {
		return err
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "gapan: warning: %v\n", w)
	}
	if fl.format != "text" && fl.format != "markdown" {
		for _, fi := range r.Files {
			if fi.Source == join.SourceNone && !fl.noSidecar && fi.Name != "-" {
				fmt.Fprintf(stderr, "gapan: note: no sidecar found for %s (looked for %s): loss positions unknown\n", fi.Name, strings.Join(sidecar.Candidates(fi.Name), " and "))
			}
		}
	}
	return nil
}

// explainRunError adds a hint to an error on damaged capture input.
func explainRunError(err error) error {
	var fe *reader.FormatError
	if errors.As(err, &fe) && fe.FramesRead > 0 {
		return fmt.Errorf("%w; --keep-going reports the %d frames before the damage", err, fe.FramesRead)
	}
	return err
}

// progressMeter returns a progress meter on stderr when it is a terminal
// and quiet is not set, else nil (no progress).
func progressMeter(stderr io.Writer, quiet bool, label string) *progress.Meter {
	f, ok := stderr.(*os.File)
	if !ok {
		return nil
	}
	return progress.ForTerminal(f, quiet, label)
}
