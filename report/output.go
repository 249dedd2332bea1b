package report

import (
	"fmt"
	"io"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
)

// Formats are the report's formats, as NewOutput and --format name them.
var Formats = []string{"text", "json", "csv", "ndjson", "markdown", "html"}

// An Output is one format of the report. Hook sets the run's hooks so
// that the output keeps only what it shows, in memory bounded however
// many flows and gaps the capture has; Write then writes the report of
// the run; Close releases what it kept. The gapan command runs every
// format this way:
//
//	out, _ := report.NewOutput("json", w, report.DefaultOptions())
//	defer out.Close()
//	cfg := analyze.Config{Captures: names, KernelDrops: -1}
//	out.Hook(&cfg)
//	r, err := analyze.Run(cfg)
//	if err == nil {
//		err = out.Write(r)
//	}
type Output interface {
	// Hook sets cfg's hooks (Engine.OnFlow, Engine.OnGap,
	// Engine.KeepTop, Frame, Check) for the output.
	Hook(cfg *analyze.Config)
	// Write writes the report of r, the result of a run hooked by Hook.
	Write(r *analyze.Result) error
	// Notes returns what the report of r does not say and its caller
	// should (the gapan command prints them on standard error): that no
	// sidecar was found for a capture, in every format but text and
	// Markdown, which say it in the report; for CSV, which lists flows and
	// no capture-wide figure, how many frames failed to decode and why.
	Notes(r *analyze.Result) []string
	// Close releases what the output kept (temporary spill files). A
	// streaming output (NDJSON) whose run failed flushes the flows it
	// has written.
	Close() error
}

// NewOutput returns the Output of format (one of Formats) on w. opt
// applies to the text, Markdown and HTML reports.
func NewOutput(format string, w io.Writer, opt Options) (Output, error) {
	n := sidecarNotes{noSidecar: opt.NoSidecar}
	switch format {
	case "text", "markdown":
		return &textOutput{w: w, opt: opt, markdown: format == "markdown"}, nil
	case "json":
		return &jsonOutput{sidecarNotes: n, w: w}, nil
	case "csv":
		return &csvOutput{sidecarNotes: n, w: w}, nil
	case "ndjson":
		return &ndjsonOutput{sidecarNotes: n, nw: NewNDJSONWriter(w)}, nil
	case "html":
		return &htmlOutput{sidecarNotes: n, w: w, opt: opt}, nil
	}
	return nil, fmt.Errorf("report: unknown format %q (want one of %v)", format, Formats)
}

// textOutput lists the top flows (loss.Config.KeepTop) and the largest
// gaps (LargestGaps).
type textOutput struct {
	w        io.Writer
	opt      Options
	markdown bool
}

func (o *textOutput) Hook(cfg *analyze.Config) {
	o.opt.LargestGaps = NewLargestGaps(o.opt.Gaps)
	// KeepTop at least 1 so that the summary counts the flows with loss
	// (Summary.TopOnly) even when none is listed.
	cfg.Engine.KeepTop, cfg.Engine.OnGap = max(o.opt.Top, 1), o.opt.LargestGaps.Gap
}

func (o *textOutput) Write(r *analyze.Result) error {
	if o.markdown {
		return WriteMarkdown(o.w, r, o.opt)
	}
	return WriteText(o.w, r, o.opt)
}

func (o *textOutput) Notes(*analyze.Result) []string { return nil }
func (o *textOutput) Close() error                   { return nil }

// sidecarNotes are the Notes of the outputs that do not say in words
// that a capture had no sidecar.
type sidecarNotes struct{ noSidecar bool }

func (n sidecarNotes) Notes(r *analyze.Result) []string {
	var out []string
	for _, fi := range r.Files {
		if fi.Source == join.SourceNone && !n.noSidecar && fi.Name != "-" {
			out = append(out, fmt.Sprintf("no sidecar found for %s (looked for %s): loss positions unknown", fi.Name, sidecarLookedFor(fi.Name)))
		}
	}
	return out
}

// jsonOutput keeps every flow, sorted by flow id, and every gap, in
// stream order, each spilled to a temporary file beyond its budget.
type jsonOutput struct {
	sidecarNotes
	w     io.Writer
	flows *FlowSpill
	gaps  *GapSpill
}

func (o *jsonOutput) Hook(cfg *analyze.Config) {
	o.flows, o.gaps = NewFlowSpillChecked("", 0, JSONFlowEncoding, JSONFlowCheck), NewGapSpill("", 0)
	cfg.Engine.OnFlow, cfg.Engine.OnGap, cfg.Engine.DeferLive = o.flows.Flow, o.gaps.Gap, true
	cfg.Check = func() error { // a full disk stops the run at once
		if err := o.flows.Err(); err != nil {
			return err
		}
		return o.gaps.Err()
	}
}

func (o *jsonOutput) Write(r *analyze.Result) error {
	o.flows.AddLive(r.Live, JSONLiveCheck)
	return WriteJSONSpilled(o.w, r, o.gaps, o.flows)
}

func (o *jsonOutput) Close() error {
	err := o.flows.Close()
	if err2 := o.gaps.Close(); err == nil {
		err = err2
	}
	return err
}

// csvOutput keeps every flow, sorted by flow id, spilled beyond a budget.
type csvOutput struct {
	sidecarNotes
	w     io.Writer
	flows *FlowSpill
}

func (o *csvOutput) Hook(cfg *analyze.Config) {
	o.flows = NewFlowSpill("", 0, CSVFlowEncoding)
	cfg.Engine.OnFlow, cfg.Engine.DeferLive, cfg.Check = o.flows.Flow, true, o.flows.Err
}

func (o *csvOutput) Write(r *analyze.Result) error {
	o.flows.AddLive(r.Live, nil) // CSVFlowEncoding refuses no flow
	return WriteCSVFlows(o.w, o.flows)
}

// Notes adds to the sidecar notes the decode errors, which the other
// formats show as a capture-wide figure and the CSV's rows cannot.
func (o *csvOutput) Notes(r *analyze.Result) []string {
	out := o.sidecarNotes.Notes(r)
	if r.Summary != nil && r.Summary.DecodeFailed > 0 {
		out = append(out, "decode errors: "+decodeErrorsText(r.Summary)+" (not in the CSV, whose rows are flows)")
	}
	return out
}

func (o *csvOutput) Close() error { return o.flows.Close() }

// ndjsonOutput streams each flow as it becomes final.
type ndjsonOutput struct {
	sidecarNotes
	nw       *NDJSONWriter
	finished bool
}

func (o *ndjsonOutput) Hook(cfg *analyze.Config) {
	cfg.Engine.OnFlow, cfg.Engine.DeferLive = o.nw.Flow, true
}

func (o *ndjsonOutput) Write(r *analyze.Result) error {
	o.finished = true
	return o.nw.Finish(r)
}

func (o *ndjsonOutput) Close() error {
	if o.finished {
		return nil
	}
	o.finished = true
	return o.nw.Finish(nil)
}

// htmlOutput keeps the flows its table lists (HTMLFlows), the largest
// gaps and a fine timeline.
type htmlOutput struct {
	sidecarNotes
	w   io.Writer
	opt Options
	hf  *HTMLFlows
	tl  *Timeline
}

func (o *htmlOutput) Hook(cfg *analyze.Config) {
	o.hf, o.tl = NewHTMLFlows(0), NewTimeline(0)
	o.opt.LargestGaps = NewLargestGaps(HTMLMaxRows)
	cfg.Engine.OnFlow, cfg.Engine.OnGap, cfg.Frame = o.hf.Flow, o.opt.LargestGaps.Gap, o.tl.Frame
}

func (o *htmlOutput) Write(r *analyze.Result) error {
	return WriteHTML(o.w, r, HTMLOptions{Options: o.opt, Timeline: o.tl, Flows: o.hf})
}

func (o *htmlOutput) Close() error { return nil }
