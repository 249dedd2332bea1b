package report

import (
	"bufio"
	"fmt"
	"github.com/gapan/gapan/internal/plural"
	"html/template"
	"io"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/topn"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// HTMLMaxRows is how many gaps and flows the HTML report lists at most
// (largest loss first); the page says when it leaves some out.
const HTMLMaxRows = 1000

// HTMLMaxBuckets is the most points the HTML loss timeline has.
const HTMLMaxBuckets = 1000

// HTMLOptions controls WriteHTML.
type HTMLOptions struct {
	// Options gives the time zone (Loc) and NoSidecar; its Top, Gaps and
	// Seconds are ignored (the page lists up to MaxRows).
	Options
	// MaxRows caps the gap list and the flows table (0: HTMLMaxRows).
	MaxRows int
	// Timeline, if set, is a finer loss timeline recorded during the run
	// (analyze.Config.Frame = Timeline.Frame); without it the chart uses the
	// per-second timeline of the summary.
	Timeline *Timeline
	// Flows, if set, are the flows the table lists, kept during the run
	// (loss.Config.OnFlow = Flows.Flow) instead of every flow in
	// Summary.List: the same page in memory bounded by MaxRows.
	Flows *HTMLFlows
}

// HTMLFlows keeps, of the final flows handed to its Flow method (a
// loss.Config.OnFlow), those the HTML report's flow table lists: the
// MaxRows flows that lost most, in the order of every report
// (loss.CompareLoss), lossless flows included.
type HTMLFlows struct {
	count uint64
	top   *topn.Keeper[*loss.Flow]
	// probe is the flow being offered (a field, so that asking the
	// Keeper allocates nothing).
	probe *loss.Flow
}

// NewHTMLFlows returns an HTMLFlows for a page of maxRows rows
// (0: HTMLMaxRows); give WriteHTML the same MaxRows.
func NewHTMLFlows(maxRows int) *HTMLFlows {
	if maxRows <= 0 {
		maxRows = HTMLMaxRows
	}
	return &HTMLFlows{top: topn.New(maxRows, func(a, b **loss.Flow) int { return loss.CompareLoss(*a, *b) })}
}

// Flow takes one final flow.
func (k *HTMLFlows) Flow(f *loss.Flow) {
	k.count++
	k.probe = f
	if !k.top.Admits(&k.probe) {
		return
	}
	c := new(loss.Flow) // a copy only of a flow the table lists,
	*c = *f
	c.EstLost = loss.Round6(c.EstLost) // rounded as the page shows it
	k.top.Add(c)
}

// WriteHTML writes r as one self-contained HTML page (no network fetches:
// inline CSS, inline SVG charts and a small inline script that sorts the
// tables): summary cards, the loss timeline, a histogram of gap sizes, the
// largest gaps and the flows table. Its figures are those of the JSON
// report (NewDocument); each carries its JSON name in a data-field
// attribute and the JSON value in data-value.
func WriteHTML(w io.Writer, r *analyze.Result, opt HTMLOptions) error {
	v := newHTMLView(r, opt)
	bw := bufio.NewWriter(w)
	if err := htmlTemplate().Execute(bw, v); err != nil {
		return err
	}
	return bw.Flush()
}

// Timeline counts frames captured and lost over capture time in buckets
// whose width grows (1 ms, 10 ms, 100 ms, 1 s, 10 s, 1 min, 10 min, 1 h,
// 1 day, then tenfold) so that at most its limit of buckets remain, however
// long the capture and whatever its timestamps. Buckets are aligned to
// multiples of the width since the Unix epoch, so a timeline of whole
// seconds adds up to the summary's per-second timeline. The zero value is
// not ready; use NewTimeline.
type Timeline struct {
	max     int
	widthNs int64
	base    int64 // bucket number (timestamp / width) of buckets[0]
	buckets []TimelineBucket
}

// TimelineBucket is one bucket of a Timeline: frames captured with a
// timestamp in it and frames lost just before those frames.
type TimelineBucket struct {
	StartNs  int64
	Captured uint64
	Lost     uint64
}

// timelineWidths are the bucket widths a Timeline steps through; each is a
// multiple of the one before, so buckets merge exactly.
var timelineWidths = []int64{
	int64(time.Millisecond), 10 * int64(time.Millisecond), 100 * int64(time.Millisecond),
	int64(time.Second), 10 * int64(time.Second), int64(time.Minute), 10 * int64(time.Minute),
	int64(time.Hour), 24 * int64(time.Hour),
}

// NewTimeline returns a Timeline of at most maxBuckets buckets (at least
// 10; 0 means HTMLMaxBuckets).
func NewTimeline(maxBuckets int) *Timeline {
	if maxBuckets <= 0 {
		maxBuckets = HTMLMaxBuckets
	}
	return &Timeline{max: max(maxBuckets, 10), widthNs: timelineWidths[0]}
}

// Frame adds a frame; its signature is that of analyze.Config.Frame.
func (t *Timeline) Frame(f *join.Frame, _ *loss.FrameInfo) {
	t.Add(f.TimestampNs, 1, f.GapBefore)
}

// Add counts captured frames and lost frames at time ns.
func (t *Timeline) Add(ns int64, captured, lost uint64) {
	for {
		b := floorDiv(ns, t.widthNs)
		if len(t.buckets) == 0 {
			t.base = b
			t.buckets = append(t.buckets, TimelineBucket{})
		}
		lo, hi := min(t.base, b), max(t.base+int64(len(t.buckets))-1, b)
		if span := hi - lo + 1; span > 0 && span <= int64(t.max) {
			if b < t.base {
				t.buckets = slices.Insert(t.buckets, 0, make([]TimelineBucket, t.base-b)...)
				t.base = b
			}
			for int64(len(t.buckets)) <= b-t.base {
				t.buckets = append(t.buckets, TimelineBucket{})
			}
			t.buckets[b-t.base].Captured += captured
			t.buckets[b-t.base].Lost += lost
			return
		}
		t.coarsen()
	}
}

// coarsen moves to the next bucket width and merges the buckets.
func (t *Timeline) coarsen() {
	next := t.widthNs * 10
	for _, w := range timelineWidths {
		if w > t.widthNs {
			next = w
			break
		}
	}
	// At 10^5 days, the widest width ever needed (the whole int64 range of
	// nanoseconds spans under 3 buckets), next cannot overflow.
	f := next / t.widthNs
	nb := floorDiv(t.base, f)
	var merged []TimelineBucket
	for i, bk := range t.buckets {
		j := floorDiv(t.base+int64(i), f) - nb
		for int64(len(merged)) <= j {
			merged = append(merged, TimelineBucket{})
		}
		merged[j].Captured += bk.Captured
		merged[j].Lost += bk.Lost
	}
	t.widthNs, t.base, t.buckets = next, nb, merged
}

// withTail returns a copy of t with the tail gap added to its last bucket,
// where the summary's per-second timeline counts it too.
func (t *Timeline) withTail(tail uint64) *Timeline {
	c := *t
	c.buckets = slices.Clone(t.buckets)
	if tail > 0 && len(c.buckets) > 0 {
		c.buckets[len(c.buckets)-1].Lost += tail
	}
	return &c
}

// Width returns the width of the buckets.
func (t *Timeline) Width() time.Duration { return time.Duration(t.widthNs) }

// Buckets returns the buckets from the first frame's to the last frame's,
// with empty ones in between; StartNs is set.
func (t *Timeline) Buckets() []TimelineBucket {
	out := slices.Clone(t.buckets)
	for i := range out {
		out[i].StartNs = (t.base + int64(i)) * t.widthNs
	}
	return out
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}

// summaryTimeline turns the per-second timeline into a Timeline.
func summaryTimeline(secs []loss.Second) *Timeline {
	t := NewTimeline(HTMLMaxBuckets)
	t.widthNs = int64(time.Second)
	for _, s := range secs {
		t.Add(s.UnixSec*int64(time.Second), s.Captured, s.Lost)
	}
	return t
}

// htmlView is what the template renders.
type htmlView struct {
	Title     string
	HowToRead string
	Captures  []htmlKV
	Cards     []htmlCard
	Evidence  []htmlCard
	Timeline  *htmlChart
	Histogram *htmlChart
	GapsNote  string
	GapCols   []htmlCol
	Gaps      []htmlRow
	FlowsNote string
	FlowCols  []htmlCol
	Flows     []htmlRow
	// The mirror sessions (report/mirror.go), empty without any.
	MirrorCards []htmlCard
	MirrorNote  string
	MirrorCols  []htmlCol
	Mirror      []htmlRow
	Warnings    []string
	Stopped     string
	Generated   string
	TimelineTx  string
}

type htmlKV struct{ Key, Value string }

// htmlCard is one figure: its JSON name (data-field), JSON value
// (data-value), how it is shown and a line under it.
type htmlCard struct {
	Label, Field, Value, Shown, Sub string
	Warn                            bool
}

type htmlCol struct {
	Label, Field, Title string
	Num                 bool
}

type htmlCell struct {
	Shown, Sort, Field string
	Num                bool
}

type htmlRow struct {
	Key   string // data-key: flow id, or capture:frame for gaps
	Cells []htmlCell
}

// htmlChart is an SVG bar chart with one or two panels.
type htmlChart struct {
	Width, Height int
	Panels        []htmlPanel
	XLabels       []htmlLabel
	Caption       string
	Attrs         []htmlKV // data-* totals for the tests
}

type htmlPanel struct {
	Title   string
	Class   string
	Top     int
	Height  int
	MaxText string
	Bars    []htmlBar
}

type htmlBar struct {
	X, Y, W, H string
	Title      string
	Value      uint64
	Captured   uint64
	Lost       uint64
	// Label, if set, is printed above the bar at LX, LY.
	Label, LX, LY string
}

type htmlLabel struct {
	X, Y, Text, Anchor string
}

// jsonFloat formats x as encoding/json does, so that the browser test can
// compare data-value with the JSON report exactly.
func jsonFloat(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

func u(n uint64) string { return strconv.FormatUint(n, 10) }

func newHTMLView(r *analyze.Result, opt HTMLOptions) *htmlView {
	if opt.MaxRows <= 0 {
		opt.MaxRows = HTMLMaxRows
	}
	// A run that kept every gap (Summary.Gaps) instead of a LargestGaps
	// gets one over them all: the histogram and the gap list are made
	// one way.
	opt.LargestGaps = keptGaps(opt.LargestGaps, r.Summary.Gaps, len(r.Summary.Gaps))
	doc := NewDocument(r)
	s := &doc.Summary
	v := &htmlView{Title: "gapan report", HowToRead: howToRead}
	if len(r.Files) == 1 {
		v.Title = "gapan report: " + r.Files[0].Name
	} else if len(r.Files) > 1 {
		v.Title = fmt.Sprintf("gapan report: %d captures", len(r.Files))
	}
	for _, kv := range captureSection(r, opt.Options).kv {
		switch kv[0] {
		case "file", "files", "sidecar", "time", "decode errors", "stopped at":
			v.Captures = append(v.Captures, htmlKV{kv[0], kv[1]})
		default:
			if strings.HasPrefix(kv[0], "kernel counters") {
				v.Captures = append(v.Captures, htmlKV{kv[0], kv[1]})
			}
		}
	}
	if len(r.Files) > 1 {
		for i := range r.Files {
			fi := &r.Files[i]
			lost := num(fi.Lost+fi.TailTotal()) + " lost"
			if fi.Source == join.SourceNone {
				lost = "loss not recorded"
			}
			v.Captures = append(v.Captures, htmlKV{fmt.Sprintf("capture %d", i+1),
				fmt.Sprintf("%s: %s frames, %s; gaps: %s", fi.Name, num(fi.Frames), lost, sourceLine(fi, opt.Options))})
		}
	}
	card := func(label, field string, n uint64, sub string) htmlCard {
		return htmlCard{Label: label, Field: field, Value: u(n), Shown: num(n), Sub: sub}
	}
	lost := card("frames lost", "summary.frames_lost", s.FramesLost, "")
	lost.Warn = s.FramesLost > 0
	ratio := htmlCard{Label: "loss ratio", Field: "summary.loss_ratio", Value: jsonFloat(s.LossRatio), Shown: percent(s.LossRatio),
		Sub: "of the frames that reached the capture point"}
	ratio.Warn = s.LossRatio > 0
	gapEvents := card("gap events", "summary.gap_events", s.GapEvents, "places where frames were lost")
	recorded := r.LossRecorded()
	// unknown shows a figure that only a record of the loss gives as
	// unknown, null as in the JSON report, never 0.
	unknown := func(c *htmlCard, shown, sub string) {
		c.Value, c.Shown, c.Sub, c.Warn = "null", shown, sub, false
	}
	if !recorded {
		unknown(&lost, "not recorded", "no sidecar and no pcapng drop counts")
		if s.PositionUnknown > 0 {
			lost.Sub = "only a total is known: see position unknown"
		}
		unknown(&ratio, "unknown", "no record of the loss")
		unknown(&gapEvents, "not recorded", "no record of the loss")
	}
	inGap := "a recorded gap"
	if inferredGaps(r) {
		// Placed from the capture's own evidence (TCP, ICMP echo; gapan infer).
		inGap = "an inferred gap"
		lost.Sub, gapEvents.Sub = "inferred from TCP evidence, not recorded", "inferred from TCP evidence, not recorded"
	}
	v.Cards = []htmlCard{
		card("frames captured", "summary.frames_captured", s.FramesCaptured, humanBytes(s.Bytes)+" in flows"),
		lost, ratio, gapEvents,
	}
	if !recorded {
		v.Cards = append(v.Cards, htmlCard{Label: "largest gap", Field: "summary.largest_gap", Value: "null", Shown: "not recorded"},
			htmlCard{Label: "tail gap", Field: "summary.tail_gap", Value: "null", Shown: "not recorded"})
	} else if g := s.LargestGap; g != nil {
		v.Cards = append(v.Cards, card("largest gap", "summary.largest_gap.lost", g.Lost,
			fmt.Sprintf("before frame %d at %s", g.Frame, formatTime(g.Ns, opt.Loc))))
	} else {
		v.Cards = append(v.Cards, htmlCard{Label: "largest gap", Field: "summary.largest_gap", Value: "null", Shown: "none"})
	}
	switch {
	case !recorded: // the tail gap card is above
	case len(r.LossUnknown()) > 0:
		v.Cards = append(v.Cards, htmlCard{Label: "tail gap", Field: "summary.loss_unknown", Value: "unknown", Shown: "unknown", Sub: "the sidecar ends before the capture", Warn: true})
	default:
		v.Cards = append(v.Cards, card("tail gap", "summary.tail_gap", s.TailGap, "lost after the last frame"))
	}
	if s.PositionUnknown > 0 {
		c := card("position unknown", "summary.position_unknown", s.PositionUnknown, "from "+positionUnknownFrom(r))
		c.Warn = true
		v.Cards = append(v.Cards, c)
	}
	v.Cards = append(v.Cards, card("flows", "summary.flows", s.Flows, fmt.Sprintf("at most %s at once", num(uint64(s.FlowTable.PeakLive)))))
	estCard := htmlCard{Label: "estimated loss over flows", Field: "summary.est_lost", Value: jsonFloat(s.EstLost), Shown: est(s.EstLost), Sub: "frames"}
	if !recorded {
		unknown(&estCard, "unknown", "no gaps recorded")
	}
	v.Cards = append(v.Cards, estCard)

	cons := htmlCard{Label: "consistency", Field: "summary.consistency", Value: "null", Shown: "n/a", Sub: "no capture-lost segment"}
	if s.Consistency != nil && recorded {
		cons.Value, cons.Shown, cons.Sub = jsonFloat(*s.Consistency), percent(*s.Consistency), "of capture-lost segments fall in "+inGap
	} else if s.Consistency != nil {
		unknown(&cons, "unknown", "no gaps recorded")
	}
	segCard := func(label, field string, segs, bytes uint64, sub string) htmlCard {
		c := card(label, field, segs, sub)
		if segs > 0 {
			c.Sub = humanBytes(bytes) + "; " + sub
		}
		return c
	}
	explained := segCard("in "+inGap, "summary.capture_explained_segments", s.CaptureExplainedSegments, s.CaptureExplainedBytes, "capture-lost segments the gaps explain")
	if !recorded {
		unknown(&explained, "unknown", "no gaps recorded")
	}
	v.Evidence = []htmlCard{
		segCard("capture lost", "summary.capture_lost_segments", s.CaptureLostSegments, s.CaptureLostBytes, "TCP segments on the wire, missed by the capture"),
		explained,
		segCard("unexplained", "summary.capture_unexplained_segments", s.CaptureUnexplainedSegments, s.CaptureUnexplainedBytes, "capture-lost segments outside any gap"),
		cons,
		segCard("upstream lost", "summary.upstream_lost_segments", s.UpstreamLostSegments, s.UpstreamLostBytes, "TCP segments lost before the capture point"),
		segCard("ambiguous", "summary.ambiguous_segments", s.AmbiguousSegments, s.AmbiguousBytes, "capture or upstream, cannot tell"),
		segCard("unknown", "summary.unknown_segments", s.UnknownSegments, s.UnknownBytes, "missing segments never seen again"),
		card("retransmissions", "summary.retransmissions", s.Retransmission, ""),
	}
	if s.RTPPackets > 0 {
		v.Evidence = append(v.Evidence,
			card("RTP packets", "summary.rtp_packets", s.RTPPackets, ""),
			card("RTP lost in capture", "summary.rtp_lost_capture", s.RTPLostCapture, ""),
			card("RTP lost upstream", "summary.rtp_lost_upstream", s.RTPLostUpstream, ""),
		)
	}
	for _, fs := range s.SeqFigures() {
		for _, f := range fs {
			v.Evidence = append(v.Evidence, card(f.Label, "summary."+f.Name, f.N, ""))
		}
	}
	v.Evidence[0].Warn = s.CaptureLostSegments > 0
	v.Evidence[4].Warn = s.UpstreamLostSegments > 0

	var tl *Timeline
	if opt.Timeline != nil {
		tl = opt.Timeline.withTail(r.Summary.TailGap)
	} else {
		tl = summaryTimeline(doc.Timeline)
	}
	v.Timeline = timelineChart(tl, opt.Loc)
	v.Histogram = histogramChart(&opt.LargestGaps.bins, &opt.LargestGaps.binLost)
	v.GapsNote, v.GapCols, v.Gaps = gapRows(r, doc, opt)
	v.FlowsNote, v.FlowCols, v.Flows = flowRows(doc, opt, recorded)
	v.MirrorCards, v.MirrorNote, v.MirrorCols, v.Mirror = mirrorHTML(doc.MirrorSessions, s.Mirror, opt.MaxRows)
	if !recorded {
		// The empty lost panel, histogram and gap list mean "unknown".
		const why = "not recorded (no sidecar and no pcapng drop counts)"
		for i := range v.Timeline.Panels {
			if v.Timeline.Panels[i].Class == "lost" {
				v.Timeline.Panels[i].Title += ": " + why
				v.Timeline.Panels[i].MaxText = ""
			}
		}
		v.Histogram.Caption = "Gaps " + why + "."
		v.GapsNote = "Gaps " + why + "."
	}
	v.Warnings = doc.Warnings
	if st := doc.Stopped; st != nil {
		v.Stopped = fmt.Sprintf("Stopped at %s frame %d, byte offset %d: the figures cover the %s before the damage (%s).", st.File, st.Frame, st.Offset, plural.CountOf(st.FramesRead, "frame", "frames"), st.Error)
	}
	return v
}

// widthText names a bucket width: "1 ms", "10 s", "1 min", "1 h", "1 day".
func widthText(d time.Duration) string {
	switch {
	case d < time.Second:
		return strconv.FormatInt(int64(d/time.Millisecond), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatInt(int64(d/time.Second), 10) + " s"
	case d < time.Hour:
		return strconv.FormatInt(int64(d/time.Minute), 10) + " min"
	case d < 24*time.Hour:
		return strconv.FormatInt(int64(d/time.Hour), 10) + " h"
	}
	n := int64(d / (24 * time.Hour))
	if n == 1 {
		return "1 day"
	}
	return strconv.FormatInt(n, 10) + " days"
}

const (
	chartW      = 1000
	chartLeft   = 70
	chartRight  = 10
	panelH      = 120
	panelGap    = 34
	chartTop    = 22
	chartBottom = 30
)

func ff(x float64) string { return strconv.FormatFloat(x, 'f', 1, 64) }

// timelineChart draws frames captured (top panel) against frames lost
// (bottom panel) per bucket.
func timelineChart(t *Timeline, loc *time.Location) *htmlChart {
	bs := t.Buckets()
	width := widthText(t.Width())
	c := &htmlChart{Width: chartW, Height: chartTop + 2*panelH + panelGap + chartBottom}
	var capSum, lostSum, capMax, lostMax uint64
	for _, b := range bs {
		capSum += b.Captured
		lostSum += b.Lost
		capMax = max(capMax, b.Captured)
		lostMax = max(lostMax, b.Lost)
	}
	c.Attrs = []htmlKV{{"captured", u(capSum)}, {"lost", u(lostSum)}, {"buckets", strconv.Itoa(len(bs))}, {"width-ns", strconv.FormatInt(int64(t.Width()), 10)}}
	buckets := "buckets"
	if len(bs) == 1 {
		buckets = "bucket"
	}
	c.Caption = fmt.Sprintf("Frames captured and frames lost per %s (%d %s); lost frames count in the bucket of the frame they were lost before, the tail gap in the last bucket.", width, len(bs), buckets)
	if len(bs) == 0 {
		c.Caption = "No frames: nothing to chart."
		return c
	}
	plotW := float64(chartW - chartLeft - chartRight)
	bw := plotW / float64(len(bs))
	panel := func(title, class string, top int, vmax uint64, val func(TimelineBucket) uint64) htmlPanel {
		p := htmlPanel{Title: title, Class: class, Top: top, Height: panelH, MaxText: num(vmax)}
		for i, b := range bs {
			n := val(b)
			if n == 0 {
				continue
			}
			h := float64(panelH) * float64(n) / float64(max(vmax, 1))
			h = max(h, 1)
			x := float64(chartLeft) + float64(i)*bw
			p.Bars = append(p.Bars, htmlBar{
				X: ff(x), Y: ff(float64(top+panelH) - h), W: ff(max(bw-gapFor(bw), 0.6)), H: ff(h),
				Title:    fmt.Sprintf("%s: %s captured, %s lost", formatTime(b.StartNs, loc), num(b.Captured), num(b.Lost)),
				Value:    n,
				Captured: b.Captured, Lost: b.Lost,
			})
		}
		return p
	}
	c.Panels = []htmlPanel{
		panel("frames captured per "+width, "cap", chartTop, capMax, func(b TimelineBucket) uint64 { return b.Captured }),
		panel("frames lost per "+width, "lost", chartTop+panelH+panelGap, lostMax, func(b TimelineBucket) uint64 { return b.Lost }),
	}
	y := strconv.Itoa(c.Height - 10)
	first, last := bs[0].StartNs, bs[len(bs)-1].StartNs+int64(t.Width())
	c.XLabels = []htmlLabel{
		{X: strconv.Itoa(chartLeft), Y: y, Text: formatTime(first, loc), Anchor: "start"},
		{X: strconv.Itoa(chartW - chartRight), Y: y, Text: "+" + time.Duration(last-first).String(), Anchor: "end"},
	}
	return c
}

// gapFor is the space between bars of width bw.
func gapFor(bw float64) float64 {
	if bw >= 4 {
		return 1
	}
	return 0
}

// histogramChart draws how many gaps there are of each size, in
// power-of-two bins: 1, 2-3, 4-7, ...
func histogramChart(counts, frames *[65]uint64) *htmlChart {
	top := 0
	for b, n := range counts {
		if n > 0 {
			top = b + 1
		}
	}
	h := chartTop + panelH + chartBottom
	c := &htmlChart{Width: chartW, Height: h}
	var total, totalLost, cmax uint64
	for i := 0; i < top; i++ {
		total += counts[i]
		totalLost += frames[i]
		cmax = max(cmax, counts[i])
	}
	c.Attrs = []htmlKV{{"gaps", u(total)}, {"lost", u(totalLost)}}
	c.Caption = "Number of gaps by size (frames lost in the gap); hover a bar for the frames lost in its gaps."
	if top == 0 {
		c.Caption = "No gaps recorded."
		return c
	}
	n := max(top, 8)
	plotW := float64(chartW - chartLeft - chartRight)
	bw := plotW / float64(n)
	p := htmlPanel{Title: "gaps", Class: "lost", Top: chartTop, Height: panelH, MaxText: num(cmax)}
	for i := 0; i < top; i++ {
		lo, hi := uint64(1)<<i, uint64(1)<<i*2-1
		if i == 63 {
			hi = ^uint64(0)
		}
		label := u(lo)
		if hi > lo {
			label += "–" + u(hi)
		}
		x := float64(chartLeft) + float64(i)*bw
		c.XLabels = append(c.XLabels, htmlLabel{X: ff(x + bw/2), Y: strconv.Itoa(h - 10), Text: label, Anchor: "middle"})
		if counts[i] == 0 {
			continue
		}
		bh := max(float64(panelH)*float64(counts[i])/float64(cmax), 1)
		p.Bars = append(p.Bars, htmlBar{
			X: ff(x + 4), Y: ff(float64(chartTop+panelH) - bh), W: ff(bw - 8), H: ff(bh),
			Title: fmt.Sprintf("%s of %s frames: %s frames lost in all", plural.CountOf(counts[i], "gap", "gaps"), label, num(frames[i])),
			Value: counts[i], Lost: frames[i],
			Label: num(counts[i]), LX: ff(x + bw/2), LY: ff(float64(chartTop+panelH) - bh - 4),
		})
	}
	c.Panels = []htmlPanel{p}
	return c
}

// gapRows lists the largest gaps.
func gapRows(r *analyze.Result, doc *Document, opt HTMLOptions) (string, []htmlCol, []htmlRow) {
	// The capture column names the file only in a set of several: in a
	// one-file report the page's title names it.
	several := len(r.Files) > 1
	cols := []htmlCol{
		{Label: "#", Field: "rank", Num: true, Title: "rank by size"},
		{Label: "capture", Field: "gaps.capture"},
		{Label: "frame", Field: "gaps.frame", Num: true, Title: "the frame the loss was just before"},
		{Label: "lost", Field: "gaps.lost", Num: true, Title: "frames lost"},
		{Label: "previous frame", Field: "gaps.prev_frame", Num: true, Title: "the interface's frame before the gap (0: none)"},
		{Label: "interface", Field: "gaps.interface", Num: true},
		{Label: "time", Field: "gaps.ts_ns", Num: true, Title: "time of the frame after the gap"},
		{Label: "interval", Field: "interval_ns", Num: true, Title: "time between the frames around the gap"},
	}
	k := opt.LargestGaps // newHTMLView makes sure of one
	var gaps []GapJSON
	for _, g := range k.Sorted(r) {
		gaps = append(gaps, gapJSON(r, g))
	}
	total := k.Count()
	opt.MaxRows = min(opt.MaxRows, k.top.Cap()) // all it kept
	shown := min(len(gaps), opt.MaxRows)
	note := fmt.Sprintf("All %s gaps, largest first.", num(total))
	switch {
	case total == 0 && r.Summary.GapEvents > 0:
		note = fmt.Sprintf("%s gap events; the gap list was not kept in this run.", num(r.Summary.GapEvents))
	case total == 0:
		note = "No gaps."
	case uint64(shown) < total:
		note = fmt.Sprintf("The %s largest of %s gaps (the page lists at most %s; the JSON report has them all).", num(uint64(shown)), num(total), num(uint64(opt.MaxRows)))
	}
	var longest int64
	for _, g := range gaps[:shown] {
		if g.PrevFrame > 0 {
			longest = max(longest, g.Ns-g.PrevNs)
		}
	}
	unit := durationUnitFor(longest)
	cols[len(cols)-1].Label = "interval (" + unit.name + ")"
	if !several {
		cols = slices.Delete(cols, 1, 2)
	}
	rows := make([]htmlRow, 0, shown)
	for rank := range shown {
		g := &gaps[rank]
		interval, ivShown := int64(0), ""
		if g.PrevFrame > 0 {
			interval = g.Ns - g.PrevNs
			ivShown = unit.format(interval)
		}
		cells := []htmlCell{
			{Shown: strconv.Itoa(rank + 1), Sort: strconv.Itoa(rank + 1), Num: true},
			{Shown: g.Capture, Sort: g.Capture, Field: "capture"},
			{Shown: num(g.Frame), Sort: u(g.Frame), Field: "frame", Num: true},
			{Shown: num(g.Lost), Sort: u(g.Lost), Field: "lost", Num: true},
			{Shown: num(g.PrevFrame), Sort: u(g.PrevFrame), Field: "prev_frame", Num: true},
			{Shown: strconv.Itoa(g.Interface), Sort: strconv.Itoa(g.Interface), Field: "interface", Num: true},
			{Shown: formatTime(g.Ns, opt.Loc), Sort: strconv.FormatInt(g.Ns, 10), Field: "ts_ns", Num: true},
			{Shown: ivShown, Sort: strconv.FormatInt(interval, 10), Num: true},
		}
		if !several {
			cells = slices.Delete(cells, 1, 2)
		}
		rows = append(rows, htmlRow{Key: g.Capture + ":" + u(g.Frame), Cells: cells})
	}
	return note, cols, rows
}

// durationUnit is the one unit of a column of durations: a column
// mixing "950µs" and "1.2ms" reads wrong at a glance.
type durationUnit struct {
	name     string
	ns       int64
	decimals int
}

// durationUnitFor returns the unit for a column whose longest duration is
// longestNs: the largest of s, ms, µs and ns in which it is at least 1.
func durationUnitFor(longestNs int64) durationUnit {
	for _, u := range []durationUnit{{"s", 1e9, 3}, {"ms", 1e6, 3}, {"µs", 1e3, 3}} {
		if longestNs >= u.ns {
			return u
		}
	}
	return durationUnit{"ns", 1, 0}
}

// format writes ns in the unit, without the unit's name (it heads the
// column): 1234567 ns in ms is "1.235".
func (u durationUnit) format(ns int64) string {
	return strconv.FormatFloat(float64(ns)/float64(u.ns), 'f', u.decimals, 64)
}

// flowRows lists the flows, most loss first.
//
// Without a record of the loss (recorded false) a flow's frames lost
// during and estimated loss are unknown and shown so, not as 0.
func flowRows(doc *Document, opt HTMLOptions, recorded bool) (string, []htmlCol, []htmlRow) {
	cols := []htmlCol{
		{Label: "flow", Field: "flow_id", Num: true},
		{Label: "proto", Field: "proto"},
		{Label: "from", Field: "src"},
		{Label: "to", Field: "dst"},
		{Label: "packets", Field: "packets", Num: true},
		{Label: "bytes", Field: "bytes", Num: true},
		{Label: "frames lost during", Field: "frames_lost_during", Num: true, Title: "frames lost in gaps from just before the flow's first frame to just after its last (any flow's)"},
		{Label: "est. lost", Field: "est_lost", Num: true, Title: "the flow's estimated share of the lost frames"},
		{Label: "capture lost", Field: "capture_lost_segments", Num: true, Title: "TCP segments on the wire, missed by the capture"},
		{Label: "upstream lost", Field: "upstream_lost_segments", Num: true, Title: "TCP segments lost before the capture point"},
		{Label: "ambiguous", Field: "ambiguous_segments", Num: true, Title: "TCP segments lost, capture or upstream cannot be told"},
		{Label: "unknown", Field: "unknown_segments", Num: true, Title: "TCP segments missing and never seen again"},
		{Label: "RTP and sequence lost (capture / upstream)", Field: "rtp_lost", Num: true, Title: "RTP, ESP, GTP-U and ICMP echo packets lost in the capture / upstream"},
	}
	// Flows most loss first, as the text report orders them, but keeping
	// those without loss after them.
	flows, total := doc.Flows, uint64(len(doc.Flows))
	if opt.Flows != nil {
		flows, total = opt.Flows.top.Values(), opt.Flows.count
		opt.MaxRows = min(opt.MaxRows, opt.Flows.top.Cap()) // all it kept
	}
	flows = slices.Clone(flows)
	slices.SortFunc(flows, loss.CompareLoss)
	shown := min(len(flows), opt.MaxRows)
	note := fmt.Sprintf("All %s flows, most loss first. Click a column heading to sort.", num(total))
	switch {
	case total == 0 && doc.Summary.Flows > 0:
		note = fmt.Sprintf("%s flows; the flow list was not kept in this run.", num(doc.Summary.Flows))
	case total == 0:
		note = "No flows."
	case uint64(shown) < total:
		note = fmt.Sprintf("The %s flows that lost most, of %s (the page lists at most %s; the JSON and CSV reports have them all). Click a column heading to sort.",
			num(uint64(shown)), num(total), num(uint64(opt.MaxRows)))
	}
	rows := make([]htmlRow, 0, shown)
	for _, f := range flows[:shown] {
		from, to := endpoint(f.SrcIP, f.SrcPort, f), endpoint(f.DstIP, f.DstPort, f)
		if f.Proto == "eth" {
			from = "ethertype " + f.EtherType
		}
		nc := func(n uint64, field string) htmlCell {
			return htmlCell{Shown: num(n), Sort: u(n), Field: field, Num: true}
		}
		rtp := ""
		if f.IsRTP || f.RTPPackets > 0 || f.SeqPackets() > 0 {
			capture, outside := f.SeqLost()
			rtp = num(f.RTPLostCapture+capture) + " / " + num(f.RTPLostUpstream+outside)
		}
		during := nc(f.FramesLostDuring, "frames_lost_during")
		estimate := htmlCell{Shown: est(f.EstLost), Sort: jsonFloat(f.EstLost), Field: "est_lost", Num: true}
		if !recorded || f.LossNotRecorded {
			// null, as the JSON report has them (loss.Flow.LossNotRecorded)
			during.Shown, estimate.Shown = "unknown", "unknown"
			during.Sort, estimate.Sort = "null", "null"
		}
		rows = append(rows, htmlRow{Key: u(f.FlowID), Cells: []htmlCell{
			nc(f.FlowID, "flow_id"),
			{Shown: f.Proto, Sort: f.Proto, Field: "proto"},
			{Shown: from, Sort: from},
			{Shown: to, Sort: to},
			nc(f.Packets, "packets"),
			{Shown: humanBytes(f.Bytes), Sort: u(f.Bytes), Field: "bytes", Num: true},
			during, estimate,
			nc(f.CaptureLostSegments, "capture_lost_segments"),
			nc(f.UpstreamLostSegments, "upstream_lost_segments"),
			nc(f.AmbiguousSegments, "ambiguous_segments"),
			nc(f.UnknownSegments, "unknown_segments"),
			{Shown: rtp, Sort: u(rtpSeqLost(f)), Num: true},
		}})
	}
	return note, cols, rows
}

// htmlTemplate is parsed on first use, not at start-up: every command
// of the binary would pay for it.
var htmlTemplate = sync.OnceValue(func() *template.Template {
	return template.Must(template.New("report").Funcs(template.FuncMap{"dict": htmlDict}).Parse(htmlPage))
})

// htmlDict builds a map for passing several values to a sub-template.
func htmlDict(kv ...any) map[string]any {
	m := make(map[string]any, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

// htmlPage is the page. It loads nothing: the Content-Security-Policy
// forbids any fetch, and the script only sorts tables.
const htmlPage = `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="gapan">
<title>{{.Title}}</title>
<style>
:root { --fg:#1d2330; --muted:#5d6678; --line:#d9dde5; --bg:#f5f6f8; --card:#fff; --cap:#4a78b5; --lost:#c8372d; }
* { box-sizing: border-box; }
body { margin: 0; padding: 24px 32px 48px; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
h1 { font-size: 22px; margin: 0 0 6px; word-break: break-all; }
h2 { font-size: 17px; margin: 28px 0 8px; }
p.how { color: var(--muted); max-width: 70em; margin: 4px 0 14px; }
dl.meta { display: grid; grid-template-columns: max-content 1fr; gap: 2px 14px; margin: 0 0 8px; }
dl.meta dt { color: var(--muted); }
dl.meta dd { margin: 0; word-break: break-all; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 10px; }
.card { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px; }
.card .label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .03em; }
.card .value { font-size: 24px; font-weight: 600; font-variant-numeric: tabular-nums; }
.card.warn .value { color: var(--lost); }
.card .sub { color: var(--muted); font-size: 12px; }
figure { margin: 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 8px; }
figcaption { color: var(--muted); font-size: 12px; padding: 4px 6px 0; }
svg { display: block; width: 100%; height: auto; }
svg text { font-size: 11px; fill: var(--muted); }
svg .axis { stroke: var(--line); }
svg .cap { fill: var(--cap); }
svg .lost { fill: var(--lost); }
svg rect:hover { opacity: .7; }
.tablewrap { overflow-x: auto; background: var(--card); border: 1px solid var(--line); border-radius: 8px; max-height: 640px; overflow-y: auto; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 4px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { position: sticky; top: 0; background: #eef0f4; cursor: pointer; user-select: none; white-space: normal; vertical-align: bottom; }
th.num, td.num { text-align: right; }
th[aria-sort=ascending]::after { content: " ▲"; }
th[aria-sort=descending]::after { content: " ▼"; }
tr:hover td { background: #f0f4fb; }
p.note { color: var(--muted); margin: 4px 0 8px; }
ul.warn li { color: var(--lost); }
footer { color: var(--muted); font-size: 12px; margin-top: 28px; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
<p class="how">{{.HowToRead}}</p>
<dl class="meta">{{range .Captures}}<dt>{{.Key}}</dt><dd>{{.Value}}</dd>{{end}}</dl>
{{if .Stopped}}<p class="note" style="color:var(--lost)" data-field="stopped">{{.Stopped}}</p>{{end}}

<h2>Summary</h2>
<div class="cards" id="summary">{{range .Cards}}{{template "card" .}}{{end}}</div>

<h2>TCP and RTP evidence: capture versus upstream loss</h2>
<div class="cards" id="evidence">{{range .Evidence}}{{template "card" .}}{{end}}</div>

{{if .Mirror}}<h2>Mirror sessions: loss between the switch and the capture host</h2>
<div class="cards" id="mirror-summary">{{range .MirrorCards}}{{template "card" .}}{{end}}</div>
<p class="note">{{.MirrorNote}}</p>
{{template "table" (dict "ID" "mirror" "Cols" .MirrorCols "Rows" .Mirror)}}

{{end}}<h2>Loss timeline</h2>
{{template "chart" .Timeline}}

<h2>Gap sizes</h2>
{{template "chart" .Histogram}}

<h2>Largest gaps</h2>
<p class="note">{{.GapsNote}}</p>
{{if .Gaps}}{{template "table" (dict "ID" "gaps" "Cols" .GapCols "Rows" .Gaps)}}{{end}}

<h2>Flows</h2>
<p class="note">{{.FlowsNote}}</p>
{{if .Flows}}{{template "table" (dict "ID" "flows" "Cols" .FlowCols "Rows" .Flows)}}{{end}}

{{if .Warnings}}<h2>Warnings</h2>
<ul class="warn">{{range .Warnings}}<li>{{.}}</li>{{end}}</ul>{{end}}
<footer>Written by gapan. Definitions of every figure: docs/metrics.md. This page is self-contained: it loads nothing from the network.</footer>
<script>
"use strict";
(function () {
  function key(td, num) {
    var v = td.getAttribute("data-sort");
    return num ? Number(v) : v;
  }
  function sortBy(table, th, dir) {
    var ths = table.tHead.rows[0].cells, col = th.cellIndex, num = th.classList.contains("num");
    for (var i = 0; i < ths.length; i++) ths[i].removeAttribute("aria-sort");
    th.setAttribute("aria-sort", dir > 0 ? "ascending" : "descending");
    var body = table.tBodies[0], rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a.cells[col], num), y = key(b.cells[col], num);
      return (x < y ? -1 : x > y ? 1 : 0) * dir;
    });
    rows.forEach(function (r) { body.appendChild(r); });
  }
  var tables = document.querySelectorAll("table.sortable");
  tables.forEach(function (table) {
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) {
      th.addEventListener("click", function () {
        var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        sortBy(table, th, dir);
      });
    });
  });
  // #sort=TABLE.FIELD.asc|desc sorts a table on load (a link to a sorted view).
  var m = /^#sort=(\w+)\.(\w+)\.(asc|desc)$/.exec(location.hash);
  if (m) {
    var th = document.querySelector("#" + m[1] + " th[data-field=" + m[2] + "]");
    if (th) sortBy(th.closest("table"), th, m[3] === "asc" ? 1 : -1);
  }
  document.body.setAttribute("data-ready", "true");
})();
</script>
</body>
</html>
{{define "card"}}<div class="card{{if .Warn}} warn{{end}}"><div class="label">{{.Label}}</div><div class="value" data-field="{{.Field}}" data-value="{{.Value}}">{{.Shown}}</div>{{if .Sub}}<div class="sub">{{.Sub}}</div>{{end}}</div>{{end}}
{{define "chart"}}<figure><svg viewBox="0 0 {{.Width}} {{.Height}}" role="img" aria-label="{{.Caption}}" {{range .Attrs}} data-{{.Key}}="{{.Value}}"{{end}}>
{{range .Panels}}<text x="4" y="{{.Top}}" dy="-6">{{.Title}}</text><text x="66" y="{{.Top}}" dy="10" text-anchor="end">{{.MaxText}}</text><text x="66" y="{{.Top}}" dy="{{.Height}}" text-anchor="end">0</text><line class="axis" x1="70" x2="990" y1="{{.Top}}" y2="{{.Top}}"/><line class="axis" x1="70" x2="990" y1="{{.Top}}" y2="{{.Top}}" transform="translate(0 {{.Height}})"/>
{{$class := .Class}}{{range .Bars}}<rect class="{{$class}}" x="{{.X}}" y="{{.Y}}" width="{{.W}}" height="{{.H}}" data-value="{{.Value}}" data-captured="{{.Captured}}" data-lost="{{.Lost}}"><title>{{.Title}}</title></rect>{{if .Label}}<text x="{{.LX}}" y="{{.LY}}" text-anchor="middle">{{.Label}}</text>{{end}}{{end}}
{{end}}{{range .XLabels}}<text x="{{.X}}" y="{{.Y}}" text-anchor="{{.Anchor}}">{{.Text}}</text>{{end}}
</svg><figcaption>{{.Caption}}</figcaption></figure>{{end}}
{{define "table"}}<div class="tablewrap"><table class="sortable" id="{{.ID}}"><thead><tr>{{range .Cols}}<th{{if .Num}} class="num"{{end}} data-field="{{.Field}}"{{if .Title}} title="{{.Title}}"{{end}}>{{.Label}}</th>{{end}}</tr></thead>
<tbody>{{range .Rows}}<tr data-key="{{.Key}}">{{range .Cells}}<td{{if .Num}} class="num"{{end}} data-sort="{{.Sort}}"{{if .Field}} data-field="{{.Field}}"{{end}}>{{.Shown}}</td>{{end}}</tr>
{{end}}</tbody></table></div>{{end}}
`
