package report

import (
	"bufio"
	"encoding/json"
	"io"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
)

// NDJSONWriter streams a report as newline-delimited JSON: one flow object
// per line (the same object as in the JSON report's flows[]) as each flow's
// figures become final, then one last line
//
//	{"schema":"gapan.report/2","summary":{...},"captures":[...],"warnings":[...],"stopped":null}
//
// Its Flow method is a loss.Config.OnFlow, so a capture with millions of
// flows needs no memory for them:
//
//	nw := report.NewNDJSONWriter(os.Stdout)
//	r, err := analyze.Run(analyze.Config{Captures: names, Engine: loss.Config{OnFlow: nw.Flow}})
//	if err == nil { err = nw.Finish(r) }
//
// Flow lines come in the order flows become final (roughly the order they
// end), not sorted; the flows live at the end of the capture last, in
// flow-id order. A line is a flow if it has "flow_id", the summary if it
// has "summary". With loss.Config.DeferLive, Finish writes the flows live
// at the end (analyze.Result.Live), encoding them on every core.
type NDJSONWriter struct {
	bw    *bufio.Writer
	enc   *json.Encoder
	line  []byte // the flow line being written, reused
	flows uint64
	err   error
}

// NewNDJSONWriter returns an NDJSONWriter on w.
func NewNDJSONWriter(w io.Writer) *NDJSONWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	return &NDJSONWriter{bw: bw, enc: json.NewEncoder(bw)}
}

// Flow writes one flow line. Errors are kept and returned by Finish.
func (n *NDJSONWriter) Flow(f *loss.Flow) {
	if n.err != nil {
		return
	}
	var err error
	n.line, err = ndjsonFlows.Append(n.line[:0], f)
	if err == nil {
		n.line = append(n.line, '\n')
		_, err = n.bw.Write(n.line)
	}
	n.err = err
	n.flows++
}

// Flows returns the number of flow lines written.
func (n *NDJSONWriter) Flows() uint64 { return n.flows }

// ndjsonTail is the last line of an NDJSON report.
type ndjsonTail struct {
	Schema   string        `json:"schema"`
	Summary  SummaryJSON   `json:"summary"`
	Captures []CaptureJSON `json:"captures"`
	// MirrorSessions are the mirror sessions, as in the JSON report
	// (absent when there are none).
	MirrorSessions []loss.MirrorSession `json:"mirror_sessions,omitempty"`
	Warnings       []string             `json:"warnings"`
	Stopped        *StoppedJSON         `json:"stopped"`
}

// ndjsonFlowLine encodes a flow as its NDJSON line, line end included.
func ndjsonFlowLine(dst []byte, f *loss.Flow) ([]byte, error) {
	dst, err := ndjsonFlows.Append(dst, f)
	return append(dst, '\n'), err
}

// Finish writes the lines of the flows live at the end of the run that r
// holds (Result.Live, with loss.Config.DeferLive), then the summary line
// of r, flushes, and returns the first error of the whole stream. r may be
// nil when the run failed: then Finish only flushes the flow lines written
// so far.
func (n *NDJSONWriter) Finish(r *analyze.Result) error {
	if r != nil && n.err == nil && r.Live.Len() > 0 {
		// In memory: a spill with no flows of its own only merges.
		live := NewFlowSpill("", 0, ndjsonFlowLine)
		live.AddLive(r.Live, ndjsonFlows.CheckLive)
		n.err = live.Each(func(b []byte) error {
			n.flows++
			_, err := n.bw.Write(b)
			return err
		})
	}
	if r != nil && n.err == nil {
		n.err = n.enc.Encode(ndjsonTail{
			Schema: Schema, Summary: summaryJSON(r), Captures: capturesJSON(r),
			MirrorSessions: r.Summary.MirrorSessions, Warnings: warningStrings(r), Stopped: stoppedJSON(r),
		})
	}
	if err := n.bw.Flush(); n.err == nil {
		n.err = err
	}
	return n.err
}
