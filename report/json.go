package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"slices"
	"strings"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

// Schema names the version of the JSON and NDJSON report layout
// (docs/report.md). It changes only when a field changes meaning or goes
// away; new fields may appear without a change.
const Schema = "gapan.report/2"

// Document is the JSON report: what WriteJSON writes. Its field names are
// the stable schema of docs/report.md; each figure's meaning is in
// docs/metrics.md.
type Document struct {
	Schema   string        `json:"schema"`
	Captures []CaptureJSON `json:"captures"`
	Summary  SummaryJSON   `json:"summary"`
	// Gaps lists every gap in stream order (capture by capture, frame by
	// frame); the text report lists them largest first.
	Gaps     []GapJSON     `json:"gaps"`
	Timeline []loss.Second `json:"timeline"`
	// Flows are sorted by flow_id.
	Flows []*loss.Flow `json:"flows"`
	// MirrorSessions are the mirror sessions (ERSPAN, sequenced GRE) in
	// order of their first frame; absent when the capture has none.
	MirrorSessions []loss.MirrorSession `json:"mirror_sessions,omitempty"`
	Warnings       []string             `json:"warnings"`
	Stopped        *StoppedJSON         `json:"stopped"`
}

// CaptureJSON describes one capture of the set.
type CaptureJSON struct {
	Name string `json:"name"`
	// Sidecar is the path of the sidecar used, null when none was.
	Sidecar *string `json:"sidecar"`
	// Source is where the gap counts came from: "sidecar",
	// "pcapng-dropcount" or "none".
	Source string `json:"source"`
	// SidecarSource is what the sidecar says produced it ("recorder",
	// "simulated", "imported"...), "" without a sidecar.
	SidecarSource string `json:"sidecar_source,omitempty"`
	SidecarTool   string `json:"sidecar_tool,omitempty"`
	// Trailer says whether the sidecar ended with its trailer (false for a
	// sidecar cut short, e.g. by a killed recorder).
	Trailer   bool   `json:"trailer"`
	Frames    uint64 `json:"frames"`
	GapEvents uint64 `json:"gap_events"`
	Lost      uint64 `json:"lost"`
	Tail      uint64 `json:"tail_gap"`
	// Truncated says the capture was damaged and read only up to the
	// damage (--keep-going).
	Truncated bool `json:"truncated"`
	// SidecarIncomplete says the sidecar ends before the capture (no
	// trailer, empty, or damaged): the loss after frame LossUnknownAfter
	// is unknown. LossUnknownAfter is null when the loss is known.
	SidecarIncomplete bool    `json:"sidecar_incomplete"`
	LossUnknownAfter  *uint64 `json:"loss_unknown_after"`
	FirstNs           int64   `json:"first_ts_ns"`
	LastNs            int64   `json:"last_ts_ns"`
	FirstTs           string  `json:"first_ts"`
	LastTs            string  `json:"last_ts"`
	// KernelPackets and KernelDrops are the kernel's counters from the
	// sidecar trailer, when it recorded them.
	KernelPackets *uint64 `json:"kernel_packets,omitempty"`
	KernelDrops   *uint64 `json:"kernel_drops,omitempty"`
	// InterfaceStats are the pcapng Interface Statistics Blocks' drop
	// counters (isb_ifdrop, isb_osdrop), when present.
	InterfaceStats []InterfaceStatsJSON `json:"interface_stats,omitempty"`

	// unrecorded says the capture had no record of its loss (source
	// "none"): MarshalJSON writes gap_events, lost and tail_gap as null.
	unrecorded bool
}

// InterfaceStatsJSON is one interface's last pcapng statistics.
type InterfaceStatsJSON struct {
	Interface int     `json:"interface"`
	Received  *uint64 `json:"received,omitempty"`
	Dropped   *uint64 `json:"dropped,omitempty"`
	OSDropped *uint64 `json:"os_dropped,omitempty"`
}

// SummaryJSON holds the capture totals (loss.Totals) and the sums of the
// per-flow counters over all flows (loss.Counters), under the same names as
// in each flow.
type SummaryJSON struct {
	loss.Totals
	// LargestGap replaces loss.Totals' largest_gap with the form of the
	// gaps[] entries; null when there was no gap.
	LargestGap *GapJSON `json:"largest_gap"`
	loss.Counters
	// PositionUnknown is the loss known only as a capture-wide total
	// (isb_ifdrop, --kernel-drops) beyond what the gaps locate.
	PositionUnknown uint64 `json:"position_unknown"`
	// KernelDrops echoes --kernel-drops; null when not given.
	KernelDrops *int64 `json:"kernel_drops"`
	// Selection says what --filter, --start, --end and --frames chose;
	// absent without a selection.
	Selection *SelectionJSON `json:"selection,omitempty"`
	// Consistency is the fraction of capture-lost TCP segments that the
	// recorded gaps explain; null when no segment was capture-lost.
	Consistency *float64 `json:"consistency"`
	// Flows is the number of flows; Evictions how many the --max-flows cap
	// ended early; FlowTable the flow table's other counters.
	Flows     uint64        `json:"flows"`
	Evictions uint64        `json:"evictions"`
	FlowTable FlowTableJSON `json:"flow_table"`
	// EstOther is the estimated loss of frames that belong to no flow.
	EstOther float64 `json:"est_other"`
	// DecodeErrors is the number of frames that failed to decode;
	// DecodeErrorsByReason splits it by reason, most frames first.
	DecodeErrors         uint64             `json:"decode_errors"`
	DecodeErrorsByReason []loss.DecodeError `json:"decode_errors_by_reason"`
	// Complete is false when a capture was read only up to damage or its
	// sidecar ends before it.
	Complete bool `json:"complete"`
	// LossUnknown holds "loss unknown after frame N (the sidecar ends
	// there)" for each capture whose sidecar is incomplete; empty when
	// the loss is known throughout.
	LossUnknown []string `json:"loss_unknown"`
	// Mirror sums the mirror sessions' figures (mirror_sessions);
	// absent when the capture has none.
	Mirror loss.MirrorTotals `json:"mirror,omitzero"`

	// unrecorded says no capture had a record of its loss
	// (analyze.Result.LossRecorded): MarshalJSON writes the gap figures
	// (unrecordedSummary) as null, since they are unknown, not 0.
	unrecorded bool
}

// unrecordedSummary are the summary figures that only a record of the
// loss (a sidecar, pcapng epb_dropcount) can give: null without one.
var unrecordedSummary = []string{"gap_events", "frames_lost", "tail_gap", "loss_ratio",
	"gaps_during", "frames_lost_during", "est_lost", "capture_explained_segments",
	"capture_explained_bytes", "consistency", "est_other"}

// unrecordedCapture are the figures of a capture without a record of its
// loss that are null.
var unrecordedCapture = []string{"gap_events", "lost", "tail_gap"}

// MarshalJSON writes s with the figures of unrecordedSummary as null when
// no capture recorded its loss.
func (s SummaryJSON) MarshalJSON() ([]byte, error) {
	type plain SummaryJSON
	b, err := json.Marshal(plain(s))
	if err != nil || !s.unrecorded {
		return b, err
	}
	return nullFields(b, unrecordedSummary)
}

// MarshalJSON writes c with the figures of unrecordedCapture as null when
// the capture had no record of its loss.
func (c CaptureJSON) MarshalJSON() ([]byte, error) {
	type plain CaptureJSON
	b, err := json.Marshal(plain(c))
	if err != nil || !c.unrecorded {
		return b, err
	}
	return nullFields(b, unrecordedCapture)
}

// nullFields replaces the values of the named members of the compact JSON
// object b by null, in one pass over its members at the top level (a
// nested object's member of the same name is not one of them). Each name
// must be a member of b.
func nullFields(b []byte, names []string) ([]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, fmt.Errorf("report: not a JSON object: %s", b)
	}
	out := make([]byte, 0, len(b))
	copied, found := 0, 0
	for dec.More() {
		key, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		if name, _ := key.(string); slices.Contains(names, name) {
			end := int(dec.InputOffset()) // b is compact: v ends there
			out = append(append(out, b[copied:end-len(v)]...), "null"...)
			copied = end
			found++
		}
	}
	if found != len(names) {
		return nil, fmt.Errorf("report: %d of the members %v in %s", found, names, b)
	}
	return append(out, b[copied:]...), nil
}

// FlowTableJSON are the flow table's counters.
type FlowTableJSON struct {
	PeakLive   int    `json:"peak_live"`
	Idle       uint64 `json:"idle_timeouts"`
	Evicted    uint64 `json:"evicted"`
	PortReuse  uint64 `json:"port_reuse"`
	EndOfInput uint64 `json:"end_of_input"`
}

// GapJSON is one gap: Lost frames lost just before frame Frame of capture
// Capture, since frame PrevFrame on the same interface (0 when Frame is
// the interface's first frame in its capture).
type GapJSON struct {
	Capture   string `json:"capture"`
	Frame     uint64 `json:"frame"`
	Lost      uint64 `json:"lost"`
	PrevFrame uint64 `json:"prev_frame"`
	Interface int    `json:"interface"`
	Ts        string `json:"ts"`
	PrevTs    string `json:"prev_ts,omitempty"`
	Ns        int64  `json:"ts_ns"`
	PrevNs    int64  `json:"prev_ts_ns"`
	// Text is the gap in words, in UTC.
	Text string `json:"text"`
}

// StoppedJSON says where a damaged capture stopped being read.
type StoppedJSON struct {
	File       string `json:"file"`
	Frame      uint64 `json:"frame"`
	Offset     int64  `json:"offset"`
	FramesRead uint64 `json:"frames_read"`
	Error      string `json:"error"`
}

// rfc3339 formats ns as the flows' first_ts does.
func rfc3339(ns int64) string { return time.Unix(0, ns).UTC().Format(time.RFC3339Nano) }

// roundFlow returns a copy of f with its floating point figures rounded
// for output (loss.Round6), as jsonFlows and the CSV rows write them.
func roundFlow(f *loss.Flow) *loss.Flow {
	c := *f
	v := reflect.ValueOf(&c).Elem()
	for _, col := range loss.FlowColumns() {
		if col.Kind() == reflect.Float64 {
			fv := v.FieldByIndex(col.Field.Index)
			fv.SetFloat(loss.Round6(fv.Float()))
		}
	}
	return &c
}

// jsonFlows and ndjsonFlows encode a flow as the JSON report's flows[]
// lists it (indented at depth two) and as an NDJSON line (compact), with
// the figures rounded: both are loss.FlowJSON, the one encoding of a flow,
// which also writes the figures that need a loss record as null in a
// flow without one.
var (
	jsonFlows   = loss.NewFlowJSON("    ", "  ", true)
	ndjsonFlows = loss.NewFlowJSON("", "", true)
)

// captureJSON describes the files of r.
func capturesJSON(r *analyze.Result) []CaptureJSON {
	out := make([]CaptureJSON, 0, len(r.Files))
	for i := range r.Files {
		fi := &r.Files[i]
		c := CaptureJSON{
			Name: fi.Name, Source: string(fi.Source), Trailer: fi.HasTrailer,
			Frames: fi.Frames, GapEvents: fi.Gaps, Lost: fi.Lost, Tail: fi.TailTotal(),
			Truncated: fi.Truncated, FirstNs: fi.FirstNs, LastNs: fi.LastNs,
			SidecarIncomplete: fi.SidecarIncomplete,
			unrecorded:        fi.Source == join.SourceNone,
		}
		if fi.SidecarIncomplete {
			n := fi.LossUnknownAfter
			c.LossUnknownAfter = &n
		}
		if fi.Frames > 0 {
			c.FirstTs, c.LastTs = rfc3339(fi.FirstNs), rfc3339(fi.LastNs)
		}
		if fi.Source == join.SourceSidecar {
			if s := fi.Sidecar; s != "" { // "": held in memory (report --infer)
				c.Sidecar = &s
			}
			c.SidecarSource = fi.Header.Source.String()
			c.SidecarTool = fi.Header.Tool
		}
		if fi.HasTrailer && fi.Trailer.HasKernel {
			p, d := fi.Trailer.KernelPackets, fi.Trailer.KernelDrops
			c.KernelPackets, c.KernelDrops = &p, &d
		}
		for _, st := range fi.Stats {
			if !st.HasReceived && !st.HasDropped && !st.HasOSDropped {
				continue
			}
			is := InterfaceStatsJSON{Interface: st.InterfaceID}
			if st.HasReceived {
				v := st.Received
				is.Received = &v
			}
			if st.HasDropped {
				v := st.Dropped
				is.Dropped = &v
			}
			if st.HasOSDropped {
				v := st.OSDropped
				is.OSDropped = &v
			}
			c.InterfaceStats = append(c.InterfaceStats, is)
		}
		out = append(out, c)
	}
	return out
}

// SelectionJSON is the selection of a run (docs/report.md, "Selecting
// frames"): the flags as given, "" when not, and the frames selected.
type SelectionJSON struct {
	Filter         string `json:"filter"`
	Start          string `json:"start"`
	End            string `json:"end"`
	FirstFrame     uint64 `json:"first_frame"`
	LastFrame      uint64 `json:"last_frame"`
	FramesSelected uint64 `json:"frames_selected"`
}

// summaryJSON returns the summary block of r.
func summaryJSON(r *analyze.Result) SummaryJSON {
	s := r.Summary
	out := SummaryJSON{
		Totals:          s.Totals,
		Counters:        s.Flows,
		PositionUnknown: r.PositionUnknown(),
		Selection:       selectionJSON(r),
		Consistency:     s.Consistency,
		Flows:           s.FlowCount,
		Evictions:       s.FlowStats.Evicted,
		FlowTable: FlowTableJSON{
			PeakLive: s.FlowStats.PeakLive, Idle: s.FlowStats.Idle, Evicted: s.FlowStats.Evicted,
			PortReuse: s.FlowStats.PortReuse, EndOfInput: s.FlowStats.EndOfInput,
		},
		EstOther:             loss.Round6(s.EstOther),
		DecodeErrors:         s.DecodeFailed,
		DecodeErrorsByReason: s.DecodeErrors,
		Complete:             r.Stopped == nil,
		Mirror:               s.Mirror,
		unrecorded:           !r.LossRecorded(),
	}
	if out.DecodeErrorsByReason == nil {
		out.DecodeErrorsByReason = []loss.DecodeError{}
	}
	out.EstLost = loss.Round6(out.EstLost)
	if g := s.LargestGap; g != nil {
		gj := gapJSON(r, *g)
		out.LargestGap = &gj
	}
	if r.KernelDrops >= 0 {
		k := r.KernelDrops
		out.KernelDrops = &k
	}
	for i := range r.Files {
		if r.Files[i].Truncated || r.Files[i].SidecarIncomplete {
			out.Complete = false
		}
	}
	out.LossUnknown = r.LossUnknown()
	if out.LossUnknown == nil {
		out.LossUnknown = []string{}
	}
	return out
}

// gapJSON converts a gap, naming its capture.
func gapJSON(r *analyze.Result, g loss.GapRef) GapJSON {
	name := g.Capture
	if name == "" && g.File < len(r.Files) {
		name = r.Files[g.File].Name
	}
	out := GapJSON{
		Capture: name, Frame: g.Frame, Lost: g.Lost, PrevFrame: g.PrevFrame, Interface: g.Interface,
		Ts: rfc3339(g.Ns), Ns: g.Ns, PrevNs: g.PrevNs, Text: DescribeGap(g, nil),
	}
	if g.PrevFrame > 0 {
		out.PrevTs = rfc3339(g.PrevNs)
	}
	return out
}

// stoppedJSON says where r stopped reading, nil when it read everything.
func stoppedJSON(r *analyze.Result) *StoppedJSON {
	if r.Stopped == nil {
		return nil
	}
	st := &StoppedJSON{Error: r.Stopped.Error()}
	var w join.Warning
	if errors.As(r.Stopped, &w) {
		st.File, st.Frame = w.File, w.Frame
	}
	cause := r.Stopped
	if w.Err != nil {
		// join.Warning has no Unwrap; look inside it.
		cause = w.Err
	}
	var fe *reader.FormatError
	if errors.As(cause, &fe) {
		st.File, st.Frame, st.Offset, st.FramesRead = fe.File, fe.Frame, fe.Offset, fe.FramesRead
	}
	return st
}

// NewDocument builds the JSON report of r. Gaps and flows are included as
// far as the run kept them (loss.Config.KeepGaps, KeepFlows).
func NewDocument(r *analyze.Result) *Document {
	d := documentHead(r)
	d.Gaps = make([]GapJSON, 0, len(r.Summary.Gaps))
	for _, g := range r.Summary.Gaps {
		d.Gaps = append(d.Gaps, gapJSON(r, g))
	}
	d.Flows = make([]*loss.Flow, 0, len(r.Summary.List))
	for _, f := range r.Summary.List {
		d.Flows = append(d.Flows, roundFlow(f))
	}
	return d
}

// documentHead is NewDocument without the gaps and the flows, the parts
// that grow with the capture.
func documentHead(r *analyze.Result) *Document {
	d := &Document{
		Schema:   Schema,
		Captures: capturesJSON(r),
		Summary:  summaryJSON(r),
		Timeline: r.Summary.Timeline,
		Warnings: warningStrings(r),
		Stopped:  stoppedJSON(r),
	}
	if d.Timeline == nil {
		d.Timeline = []loss.Second{}
	}
	d.MirrorSessions = r.Summary.MirrorSessions
	return d
}

func warningStrings(r *analyze.Result) []string {
	out := make([]string, 0, len(r.Warnings))
	for _, w := range r.Warnings {
		out = append(out, w.Error())
	}
	return out
}

// WriteJSON writes the JSON report of r (NewDocument; schema in
// docs/report.md), indented by two spaces, as encoding/json's Encoder would, but a gap and a flow at a
// time: with a million flows the document is over a gigabyte, and the
// Encoder builds it whole in memory (twice, to indent it).
func WriteJSON(w io.Writer, r *analyze.Result) error {
	return WriteJSONSpilled(w, r, nil, nil)
}

// WriteJSONSpilled is WriteJSON with the gaps taken from a GapSpill and
// the flows from a FlowSpill made with JSONFlowEncoding (the run's
// loss.Config.OnGap and OnFlow) instead of Summary.Gaps and Summary.List:
// the same document, in memory bounded by the spills' budgets however
// many gaps and flows the capture has. A nil spill means the Summary's
// list. It releases the spills.
func WriteJSONSpilled(w io.Writer, r *analyze.Result, gaps *GapSpill, flows *FlowSpill) error {
	var err error
	if gaps != nil {
		err = gaps.Err()
	}
	if err == nil && flows != nil {
		err = flows.Err()
	}
	if err != nil {
		gaps.Close()
		flows.Close()
		return err // before a byte is written
	}
	bw := bufio.NewWriterSize(w, 64<<10) // a flow is 1.5 kB: 4 kB meant a write call every 3 flows
	d := documentHead(r)
	js := jsonStream{w: bw}
	js.w.WriteString("{")
	js.field("schema", d.Schema)
	js.field("captures", d.Captures)
	js.field("summary", d.Summary)
	if gaps != nil {
		js.gapArray("gaps", r, gaps)
	} else {
		js.array("gaps", len(r.Summary.Gaps), func(i int) any { return gapJSON(r, r.Summary.Gaps[i]) })
	}
	js.field("timeline", d.Timeline)
	if flows != nil {
		js.rawArray("flows", flows)
	} else {
		js.flowArray("flows", r.Summary.List)
	}
	if len(d.MirrorSessions) > 0 {
		js.field("mirror_sessions", d.MirrorSessions)
	}
	js.field("warnings", d.Warnings)
	js.field("stopped", d.Stopped)
	js.w.WriteString("\n}\n")
	if js.err != nil {
		return js.err
	}
	return bw.Flush()
}

// jsonStream writes the members of a JSON object at depth one, in the
// layout of json.Encoder with SetIndent("", "  ").
type jsonStream struct {
	w      *bufio.Writer
	err    error
	fields int
}

func (s *jsonStream) key(name string) {
	if s.fields > 0 {
		s.w.WriteByte(',')
	}
	s.fields++
	s.w.WriteString("\n  ")
	k, _ := json.Marshal(name)
	s.w.Write(k)
	s.w.WriteString(": ")
}

// value writes v indented for the given prefix.
func (s *jsonStream) value(prefix string, v any) {
	if s.err != nil {
		return
	}
	b, err := json.MarshalIndent(v, prefix, "  ")
	if err != nil {
		s.err = err
		return
	}
	s.w.Write(b)
}

func (s *jsonStream) field(name string, v any) {
	s.key(name)
	s.value("  ", v)
}

// flowArray writes flows as WriteJSON lists them (jsonFlows).
func (s *jsonStream) flowArray(name string, flows []*loss.Flow) {
	if !s.openArray(name, len(flows)) {
		return
	}
	var b []byte
	for i, f := range flows {
		s.next(i)
		if s.err != nil {
			break
		}
		b, s.err = jsonFlows.Append(b[:0], f)
		if s.err != nil {
			break
		}
		s.w.Write(b)
	}
	s.closeArray(nil)
}

// array writes a member whose value is an array of n elements, element i
// given by elem(i) only when it is written.
func (s *jsonStream) array(name string, n int, elem func(i int) any) {
	if !s.openArray(name, n) {
		return
	}
	for i := range n {
		s.next(i)
		s.value("    ", elem(i))
	}
	s.closeArray(nil)
}

// gapArray writes a member whose value is the array of the spilled gaps.
func (s *jsonStream) gapArray(name string, r *analyze.Result, gaps *GapSpill) {
	if !s.openArray(name, gaps.Len()) {
		gaps.Close()
		return
	}
	i := 0
	s.closeArray(gaps.Each(func(g loss.GapRef) error {
		s.next(i)
		i++
		s.value("    ", gapJSON(r, namedGap(r, g)))
		return s.err
	}))
}

// rawArray writes a member whose value is the array of the spilled,
// already encoded, elements.
func (s *jsonStream) rawArray(name string, flows *FlowSpill) {
	if !s.openArray(name, flows.Len()) {
		flows.Close()
		return
	}
	i := 0
	s.closeArray(flows.Each(func(b []byte) error {
		s.next(i)
		i++
		_, err := s.w.Write(b)
		return err
	}))
}

// openArray starts a member whose value is an array of n elements; for
// none it writes [] and returns false.
func (s *jsonStream) openArray(name string, n int) bool {
	s.key(name)
	if n == 0 {
		s.w.WriteString("[]")
		return false
	}
	s.w.WriteString("[")
	return true
}

// next starts element i of an open array.
func (s *jsonStream) next(i int) {
	if i > 0 {
		s.w.WriteByte(',')
	}
	s.w.WriteString("\n    ")
}

// closeArray ends an open array, keeping err if it is the first.
func (s *jsonStream) closeArray(err error) {
	if err != nil && s.err == nil {
		s.err = err
	}
	s.w.WriteString("\n  ]")
}

// sidecarLookedFor names the sidecars join looks for next to a capture
// (sidecar.Candidates).
func sidecarLookedFor(name string) string { return strings.Join(sidecar.Candidates(name), " and ") }

// selectionJSON returns the selection block of r, nil without one.
func selectionJSON(r *analyze.Result) *SelectionJSON {
	sel := r.Select
	if sel.IsZero() {
		return nil
	}
	return &SelectionJSON{Filter: sel.Filter, Start: sel.Start.String(), End: sel.End.String(),
		FirstFrame: sel.FirstFrame, LastFrame: sel.LastFrame, FramesSelected: r.Selected}
}
