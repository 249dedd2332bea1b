package report

import (
	"fmt"
	"github.com/gapan/gapan/internal/numfmt"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/sidecar"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// Defaults of the lists of the text and Markdown reports (Options), and
// of the gapan command's --top and --gaps.
const (
	DefaultTop     = 10
	DefaultGaps    = 10
	DefaultSeconds = 10
)

// Options controls the text and Markdown reports. A list's length of 0
// means none listed, as --top 0 and --gaps 0 do; the gapan command passes
// the Default* lengths unless told otherwise.
type Options struct {
	// Top is how many flows to list, largest loss first (0: none).
	Top int
	// Gaps is how many gaps to list, largest first (0: none).
	Gaps int
	// Seconds is how many seconds with loss of the timeline to list, in
	// time order (0: none).
	Seconds int
	// Loc is the time zone of the times printed (nil: UTC).
	Loc *time.Location
	// NoSidecar says sidecars were ignored on purpose (--no-sidecar), so
	// the report does not say it looked for one.
	NoSidecar bool
	// LargestGaps, if set, are the gaps kept during the run
	// (loss.Config.OnGap = LargestGaps.Gap) for the list of the largest,
	// instead of every gap in Summary.Gaps: the same report in memory
	// bounded by the number listed.
	LargestGaps *LargestGaps
}

// DefaultOptions returns the Options of the gapan command's defaults:
// DefaultTop flows, DefaultGaps gaps, DefaultSeconds seconds, UTC.
func DefaultOptions() Options {
	return Options{Top: DefaultTop, Gaps: DefaultGaps, Seconds: DefaultSeconds}
}

// clamped returns o with negative lengths as 0 (none).
func (o Options) clamped() Options {
	o.Top, o.Gaps, o.Seconds = max(o.Top, 0), max(o.Gaps, 0), max(o.Seconds, 0)
	return o
}

// howToRead is the line at the top of the text and Markdown reports.
const howToRead = `How to read this: "frames lost" are frames that reached the capture point but are not in the file (gaps plus the tail); TCP "capture lost" segments were on the wire but missed by the capture, "upstream lost" ones were lost before it (the sender retransmitted them). Definitions: docs/metrics.md.`

// section is one block of the human-readable reports: key/value rows, a
// list, and/or a table, rendered as aligned text or as Markdown.
type section struct {
	title string
	kv    [][2]string
	list  []string
	table *table
	note  string
}

// table is a table with its header; numeric columns align right.
type table struct {
	header []string
	right  []bool
	rows   [][]string
}

// num formats n with thousands separators: 1234567 -> "1,234,567".
func num(n uint64) string { return numfmt.Int(n) }

// humanBytes formats a byte count in SI units: "512 B", "30.2 kB", "1.6 MB".
func humanBytes(n uint64) string {
	if n < 1000 {
		return strconv.FormatUint(n, 10) + " B"
	}
	units := []string{"kB", "MB", "GB", "TB", "PB", "EB"}
	v := float64(n)
	i := -1
	for v >= 999.95 && i < len(units)-1 {
		v /= 1000
		i++
	}
	return strconv.FormatFloat(v, 'f', 1, 64) + " " + units[i]
}

// est formats a loss estimate with one decimal place.
func est(x float64) string { return strconv.FormatFloat(loss.Round6(x), 'f', 1, 64) }

// percent formats a ratio as a percentage with enough digits to show small
// loss: 0.01625 -> "1.625%", 0.0000123 -> "0.00123%".
func percent(r float64) string { return numfmt.Percent(r) }

// segBytes formats a count of segments with their bytes.
func segBytes(segs, bytes uint64) string {
	if segs == 0 {
		return "0"
	}
	return plural.CountOf(segs, "segment", "segments") + ", " + humanBytes(bytes)
}

// endpoint formats one end of a flow.
func endpoint(ip string, port uint16, f *loss.Flow) string {
	if ip == "" {
		return ""
	}
	switch f.Proto {
	case "tcp", "udp", "sctp":
	default:
		return ip
	}
	if strings.Contains(ip, ":") {
		return "[" + ip + "]:" + strconv.Itoa(int(port))
	}
	return ip + ":" + strconv.Itoa(int(port))
}

// sourceLine says in words where a capture's gap counts came from.
func sourceLine(fi *join.FileInfo, opt Options) string {
	switch fi.Source {
	case join.SourceSidecar:
		if fi.Header.Source == sidecar.SourceInferred {
			if fi.Sidecar == "" { // inferred by this run: gapan report --infer
				return fmt.Sprintf("gaps inferred from the capture's own evidence (TCP, ICMP echo) by %s, not recorded (docs/infer.md)", fi.Header.Tool)
			}
			return fmt.Sprintf("%s: gaps inferred from the capture's own evidence (TCP, ICMP echo) by %s, not recorded (docs/infer.md)", fi.Sidecar, fi.Header.Tool)
		}
		s := fmt.Sprintf("%s (source %s", fi.Sidecar, fi.Header.Source)
		if fi.Header.Tool != "" {
			s += ", written by " + fi.Header.Tool
		}
		switch {
		case fi.HasTrailer:
			s += ", trailer present)"
		case fi.SidecarIncomplete:
			s += fmt.Sprintf(", incomplete: loss unknown after frame %d)", fi.LossUnknownAfter)
		default:
			s += ", no trailer: cut short, the tail gap is unknown)"
		}
		return s
	case join.SourceDropCount:
		if opt.NoSidecar {
			return "ignored (--no-sidecar); gaps from pcapng epb_dropcount"
		}
		if fi.Name == "-" {
			return "none for standard input; gaps from pcapng epb_dropcount"
		}
		return fmt.Sprintf("no sidecar found (looked for %s); gaps from pcapng epb_dropcount", sidecarLookedFor(fi.Name))
	}
	if opt.NoSidecar {
		return "ignored (--no-sidecar): loss positions unknown"
	}
	if fi.Name == "-" {
		return "none for standard input (give --sidecar FILE): loss positions unknown"
	}
	return fmt.Sprintf("no sidecar found (looked for %s): loss positions unknown", sidecarLookedFor(fi.Name))
}

// positionUnknownFrom names where a capture-wide loss total came from.
func positionUnknownFrom(r *analyze.Result) string {
	var from []string
	for _, fi := range r.Files {
		for _, st := range fi.Stats {
			if st.HasDropped && !slices.Contains(from, "pcapng isb_ifdrop") {
				from = append(from, "pcapng isb_ifdrop")
			}
			if st.HasOSDropped && !slices.Contains(from, "pcapng isb_osdrop") {
				from = append(from, "pcapng isb_osdrop")
			}
		}
	}
	if r.KernelDrops > 0 {
		from = append(from, "--kernel-drops "+strconv.FormatInt(r.KernelDrops, 10))
	}
	return strings.Join(from, ", ")
}

// decodeErrorsText says in words how many frames failed to decode and why:
// "0", or "3 frames (ipv4: truncated 2, tcp: malformed 1)".
func decodeErrorsText(s *loss.Summary) string {
	if s.DecodeFailed == 0 {
		return "0"
	}
	why := make([]string, len(s.DecodeErrors))
	for i, d := range s.DecodeErrors {
		why[i] = d.Reason + " " + num(d.Frames)
	}
	return plural.CountOf(s.DecodeFailed, "frame", "frames") + " (" + strings.Join(why, ", ") + ")"
}

// The words for a figure of the gaps when no capture had a record of
// them (analyze.Result.LossRecorded): unknown, never 0.
const (
	notRecorded    = "not recorded"
	noGapsRecorded = "unknown: no gaps recorded"
)

// captureSection is the summary block.
func captureSection(r *analyze.Result, opt Options) section {
	s := r.Summary
	sec := section{title: "Capture"}
	add := func(k, v string) { sec.kv = append(sec.kv, [2]string{k, v}) }
	if len(r.Files) == 1 {
		fi := &r.Files[0]
		add("file", fi.Name)
		add("sidecar", sourceLine(fi, opt))
	} else {
		add("files", fmt.Sprintf("%d, read in order as one capture; frame numbers are per file", len(r.Files)))
	}
	var first, last int64
	seen := false
	for _, fi := range r.Files {
		if fi.Frames == 0 {
			continue
		}
		if !seen || fi.FirstNs < first {
			first = fi.FirstNs
		}
		if !seen || fi.LastNs > last {
			last = fi.LastNs
		}
		seen = true
	}
	if seen {
		d := time.Duration(last - first)
		add("time", fmt.Sprintf("%s to %s (%s)", formatTime(first, opt.Loc), formatTime(last, opt.Loc), d.Round(time.Millisecond)))
	}
	add("frames captured", num(s.FramesCaptured))
	if !r.Select.IsZero() {
		add("selected", fmt.Sprintf("%s (%s): flows and TCP evidence cover these frames, gaps and totals the whole window", num(r.Selected), r.Select))
	}
	add("decode errors", decodeErrorsText(s))
	pu := r.PositionUnknown()
	switch {
	case len(r.LossUnknown()) > 0:
		add("frames lost", fmt.Sprintf("%s recorded, then unknown: %s", num(s.FramesLost), strings.Join(r.LossUnknown(), "; ")))
	case s.FramesLost > 0 && inferredGaps(r):
		add("frames lost", fmt.Sprintf("%s inferred, not recorded (%s of the frames that reached the capture point)", num(s.FramesLost), percent(s.LossRatio)))
	case s.FramesLost > 0:
		add("frames lost", fmt.Sprintf("%s (%s of the frames that reached the capture point)", num(s.FramesLost), percent(s.LossRatio)))
	case pu > 0:
		add("frames lost", fmt.Sprintf("%s lost, position unknown (from %s)", plural.CountOf(pu, "frame", "frames"), positionUnknownFrom(r)))
	case !r.LossRecorded():
		add("frames lost", "not recorded: no sidecar and no pcapng drop counts")
	case inferredGaps(r):
		add("frames lost", "0: none inferred from the TCP evidence")
	default:
		add("frames lost", "0: no loss recorded")
	}
	if pu > 0 && s.FramesLost > 0 {
		add("position unknown", fmt.Sprintf("%s lost, position unknown (from %s)", plural.CountOf(pu, "frame", "frames"), positionUnknownFrom(r)))
	}
	recorded := r.LossRecorded()
	switch {
	case !recorded:
		// Without a record of the loss, the gap figures are unknown, not 0.
		add("gap events", notRecorded)
		add("largest gap", notRecorded)
	case s.LargestGap != nil:
		add("gap events", num(s.GapEvents)+inferredMark(r))
		add("largest gap", DescribeGap(*s.LargestGap, opt.Loc)+inferredMark(r))
	default:
		add("gap events", num(s.GapEvents)+inferredMark(r))
		add("largest gap", "none")
	}
	if !recorded {
		add("tail gap", notRecorded)
	} else if len(r.LossUnknown()) > 0 {
		// An incomplete sidecar has no trailer: the tail is not 0 but unknown.
		add("tail gap", "unknown: the sidecar ends before the capture")
	} else {
		add("tail gap", plural.CountOf(s.TailGap, "frame", "frames")+" lost after the last frame"+inferredMark(r))
	}
	for _, fi := range r.Files {
		if fi.HasTrailer && fi.Trailer.HasKernel {
			name := ""
			if len(r.Files) > 1 {
				name = " (" + fi.Name + ")"
			}
			add("kernel counters"+name, fmt.Sprintf("%s received, %s dropped", num(fi.Trailer.KernelPackets), num(fi.Trailer.KernelDrops)))
		}
	}
	fl := fmt.Sprintf("%s (at most %s at once", num(s.FlowCount), num(uint64(s.FlowStats.PeakLive)))
	if s.FlowStats.Evicted > 0 {
		fl += fmt.Sprintf("; %s ended early by --max-flows", num(s.FlowStats.Evicted))
	}
	add("flows", fl+")")
	if r.Stopped != nil {
		st := stoppedJSON(r)
		add("stopped at", fmt.Sprintf("%s frame %d, byte offset %d: the figures cover the %s before the damage", st.File, st.Frame, st.Offset, plural.CountOf(st.FramesRead, "frame", "frames")))
	}
	return sec
}

// filesSection lists the captures of a rotated set.
func filesSection(r *analyze.Result, opt Options) *section {
	if len(r.Files) < 2 {
		return nil
	}
	t := &table{header: []string{"#", "FILE", "FRAMES", "GAPS", "LOST", "TAIL", "GAPS FROM"}, right: []bool{true, false, true, true, true, true, false}}
	for i := range r.Files {
		fi := &r.Files[i]
		name := fi.Name
		if fi.Truncated {
			name += " (damaged: read up to the damage)"
		}
		if fi.SidecarIncomplete {
			name += fmt.Sprintf(" (loss unknown after frame %d)", fi.LossUnknownAfter)
		}
		gaps, lost, tail := num(fi.Gaps), num(fi.Lost), num(fi.TailTotal())
		if fi.Source == join.SourceNone {
			gaps, lost, tail = "unknown", "unknown", "unknown" // no record, not no loss
		}
		t.rows = append(t.rows, []string{strconv.Itoa(i + 1), name, num(fi.Frames), gaps, lost, tail, sourceLine(fi, opt)})
	}
	return &section{title: "Captures", table: t}
}

// tcpSection is the TCP (and RTP) evidence block.
func tcpSection(r *analyze.Result) section {
	c := &r.Summary.Flows
	sec := section{title: "TCP evidence"}
	add := func(k, v string) { sec.kv = append(sec.kv, [2]string{k, v}) }
	add("capture lost", segBytes(c.CaptureLostSegments, c.CaptureLostBytes)+" (on the wire, missed by the capture)")
	recorded := r.LossRecorded()
	inGap := "a recorded gap"
	if inferredGaps(r) {
		inGap = "an inferred gap" // placed by the same evidence: no check of it
	}
	if recorded {
		add("  in "+inGap, segBytes(c.CaptureExplainedSegments, c.CaptureExplainedBytes))
	} else {
		add("  in a recorded gap", noGapsRecorded)
	}
	add("  unexplained", segBytes(c.CaptureUnexplainedSegments, c.CaptureUnexplainedBytes))
	switch cs := r.Summary.Consistency; {
	case cs == nil:
		add("consistency", "n/a (no capture-lost segment)")
	case !recorded:
		add("consistency", noGapsRecorded)
	default:
		add("consistency", percent(*cs)+" of capture-lost segments fall in "+inGap)
	}
	add("upstream lost", segBytes(c.UpstreamLostSegments, c.UpstreamLostBytes)+" (lost before the capture point)")
	add("ambiguous", segBytes(c.AmbiguousSegments, c.AmbiguousBytes))
	add("unknown", segBytes(c.UnknownSegments, c.UnknownBytes))
	add("downstream lost", segBytes(c.DownstreamLostSegments, c.DownstreamLostBytes))
	add("spurious retransmissions", num(c.SpuriousRetransmissions))
	add("retransmissions", num(c.Retransmission))
	add("reordered", num(c.Reordered))
	add("duplicates", num(c.Duplicates))
	add("missed bytes", humanBytes(c.MissedBytes))
	if recorded {
		add("estimated loss over flows", est(c.EstLost)+" frames")
	} else {
		add("estimated loss over flows", noGapsRecorded)
	}
	if c.RTPPackets > 0 {
		add("RTP packets", num(c.RTPPackets))
		add("RTP lost in capture", num(c.RTPLostCapture))
		add("RTP lost upstream", num(c.RTPLostUpstream))
		add("RTP late", num(c.RTPLate))
		sec.title = "TCP and RTP evidence"
	}
	if fams := c.SeqFigures(); len(fams) > 0 {
		for _, fs := range fams {
			for _, f := range fs {
				add(f.Label, num(f.N))
			}
		}
		sec.title = "TCP and sequence evidence"
		if c.RTPPackets > 0 {
			sec.title = "TCP, RTP and sequence evidence"
		}
	}
	return sec
}

func gapsSection(r *analyze.Result, opt Options) *section {
	s := r.Summary
	if opt.Gaps == 0 || s.GapEvents == 0 {
		return nil
	}
	listed := min(uint64(opt.Gaps), s.GapEvents)
	k := keptGaps(opt.LargestGaps, s.Gaps, opt.Gaps)
	gaps := k.Sorted(r)
	gaps = gaps[:min(len(gaps), opt.Gaps)]
	listed = min(listed, uint64(k.top.Cap())) // all it kept
	sec := &section{title: fmt.Sprintf("Largest gaps (%d of %s)", listed, num(s.GapEvents))}
	if len(gaps) == 0 && s.LargestGap != nil {
		gaps = []loss.GapRef{*s.LargestGap}
		sec.title = fmt.Sprintf("Largest gap (of %s)", num(s.GapEvents))
	}
	for _, g := range gaps {
		sec.list = append(sec.list, DescribeGap(g, opt.Loc))
	}
	return sec
}

func timelineSection(r *analyze.Result, opt Options) *section {
	tl := r.Summary.Timeline
	if opt.Seconds == 0 || len(tl) == 0 {
		return nil
	}
	var withLoss []loss.Second
	for _, s := range tl {
		if s.Lost > 0 {
			withLoss = append(withLoss, s)
		}
	}
	if len(withLoss) == 0 {
		return nil
	}
	sec := &section{title: fmt.Sprintf("Loss per second (%s of %s seconds had loss)", num(uint64(len(withLoss))), num(uint64(len(tl))))}
	t := &table{header: []string{"SECOND", "CAPTURED", "LOST", "LOSS"}, right: []bool{false, true, true, true}}
	for i, s := range withLoss {
		if i == opt.Seconds {
			sec.note = fmt.Sprintf("%d more seconds with loss; the whole timeline is in the JSON report.", len(withLoss)-i)
			break
		}
		ts := time.Unix(s.UnixSec, 0)
		if opt.Loc != nil {
			ts = ts.In(opt.Loc)
		} else {
			ts = ts.UTC()
		}
		t.rows = append(t.rows, []string{ts.Format("2006-01-02 15:04:05 MST"), num(s.Captured), num(s.Lost), percent(float64(s.Lost) / float64(s.Captured+s.Lost))})
	}
	sec.table = t
	return sec
}

// topFlows returns up to n flows with loss in the order of
// loss.CompareLoss, and how many flows had loss.
func topFlows(flows []*loss.Flow, n int) ([]*loss.Flow, int) {
	var lossy []*loss.Flow
	for _, f := range flows {
		if f.LossScore > 0 {
			lossy = append(lossy, f)
		}
	}
	slices.SortFunc(lossy, loss.CompareLoss)
	total := len(lossy)
	if len(lossy) > n {
		lossy = lossy[:n]
	}
	return lossy, total
}

func flowsSection(r *analyze.Result, opt Options) *section {
	// A top-only list (loss.Config.KeepTop) may be empty while flows
	// exist: none lost anything.
	if opt.Top == 0 || len(r.Summary.List) == 0 && (!r.Summary.TopOnly || r.Summary.FlowCount == 0) {
		return nil
	}
	top, total := topFlows(r.Summary.List, opt.Top)
	if r.Summary.TopOnly {
		total = int(r.Summary.LossyFlows) // the list holds only the top flows
	}
	sec := &section{title: fmt.Sprintf("Flows that lost most (%d of %s with loss; %s in all)", len(top), num(uint64(total)), plural.CountOf(r.Summary.FlowCount, "flow", "flows"))}
	if total == 0 {
		sec.title = "Flows that lost most"
		sec.note = "No flow shows loss."
		return sec
	}
	t := &table{
		header: []string{"FLOW", "PROTO", "FROM", "TO", "PACKETS", "BYTES", "EST LOST", "CAPTURE LOST", "UPSTREAM LOST", "AMBIGUOUS", "RTP/SEQ LOST"},
		right:  []bool{true, false, false, false, true, true, true, true, true, true, true},
	}
	recorded := r.LossRecorded()
	for _, f := range top {
		from, to := endpoint(f.SrcIP, f.SrcPort, f), endpoint(f.DstIP, f.DstPort, f)
		if f.Proto == "eth" {
			from = "ethertype " + f.EtherType
		}
		estLost := est(f.EstLost)
		if !recorded || f.LossNotRecorded {
			estLost = "unknown"
		}
		t.rows = append(t.rows, []string{
			strconv.FormatUint(f.FlowID, 10), f.Proto, from, to, num(f.Packets), humanBytes(f.Bytes), estLost,
			num(f.CaptureLostSegments), num(f.UpstreamLostSegments), num(f.AmbiguousSegments), num(rtpSeqLost(f)),
		})
	}
	sec.table = t
	sec.note = "CAPTURE/UPSTREAM LOST and AMBIGUOUS count TCP segments; RTP/SEQ LOST the RTP, ESP, GTP-U and ICMP echo packets found missing; EST LOST is the flow's estimated share of the lost frames."
	if !recorded {
		sec.note += " Without a record of the lost frames it is unknown."
	}
	return sec
}

func warningsSection(r *analyze.Result) *section {
	if len(r.Warnings) == 0 {
		return nil
	}
	return &section{title: "Warnings", list: warningStrings(r)}
}

// sections builds the human-readable report.
func sections(r *analyze.Result, opt Options) []section {
	opt = opt.clamped()
	out := []section{captureSection(r, opt)}
	for _, s := range []*section{filesSection(r, opt)} {
		if s != nil {
			out = append(out, *s)
		}
	}
	out = append(out, tcpSection(r))
	for _, s := range []*section{mirrorSection(r, opt), gapsSection(r, opt), timelineSection(r, opt), flowsSection(r, opt), warningsSection(r)} {
		if s != nil {
			out = append(out, *s)
		}
	}
	return out
}

// inferredGaps reports whether the gaps of r come from a sidecar that
// gapan infer wrote (source inferred): placed from the capture's own TCP
// evidence, not recorded by the capturing host. Every figure made of them
// says so.
func inferredGaps(r *analyze.Result) bool {
	for i := range r.Files {
		if fi := &r.Files[i]; fi.Source == join.SourceSidecar && fi.Header.Source == sidecar.SourceInferred {
			return true
		}
	}
	return false
}

// inferredMark is " (inferred)" when r's gaps are inferred.
func inferredMark(r *analyze.Result) string {
	if inferredGaps(r) {
		return " (inferred)"
	}
	return ""
}

// rtpSeqLost returns the packets RTP and the sequence families found
// missing in flow f, wherever they were lost.
func rtpSeqLost(f *loss.Flow) uint64 {
	capture, outside := f.SeqLost()
	return f.RTPLostCapture + f.RTPLostUpstream + capture + outside
}
