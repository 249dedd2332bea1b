package accuracy

import (
	"errors"
	"flag"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/oracle"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/sidecar"
	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket/pcapgo"
)

var updateDoc = flag.Bool("update-doc", false, "rewrite the results table in docs/accuracy.md")

// updateOpen rewrites openPath with every assertion that fails in this run.
var updateOpen = flag.Bool("update-open", false, "rewrite "+openPath+" with the assertions that fail now")

// openPath lists the assertions that still fail on known, open errors of
// issue 15 (docs/accuracy.md, "Open"): one "subtest kind" a line. A listed
// assertion that fails is logged, not failed; one that passes fails the
// suite until it is taken off the list, so the list only shrinks by fixes
// and never hides a new failure.
const openPath = "testdata/open.txt"

// openList is the content of openPath, and openFailed what of it failed.
type openList struct {
	listed, failed map[string]bool
}

func readOpen(t *testing.T) *openList {
	o := &openList{listed: map[string]bool{}, failed: map[string]bool{}}
	b, err := os.ReadFile(openPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if l = strings.TrimSpace(l); l != "" && !strings.HasPrefix(l, "#") {
			o.listed[l] = true
		}
	}
	return o
}

// finish fails the suite for each listed assertion that passed, or with
// -update-open rewrites the list.
func (o *openList) finish(t *testing.T) {
	if *updateOpen {
		keys := make([]string, 0, len(o.failed))
		for k := range o.failed {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		head := "# Assertions of TestAccuracy that fail on open errors of issue 15 (docs/accuracy.md, \"Open\").\n" +
			"# Written by `go test ./accuracy -run TestAccuracy -update-open`; a line is \"subtest kind\".\n"
		if err := os.WriteFile(openPath, []byte(head+strings.Join(keys, "\n")+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var fixed []string
	for k := range o.listed {
		if !o.failed[k] {
			fixed = append(fixed, k)
		}
	}
	sort.Strings(fixed)
	for _, k := range fixed {
		t.Errorf("listed as open in %s but passes now (take it off the list): %s", openPath, k)
	}
}

// The targets of issue 15, asserted below.
const (
	estMAEBound     = 0.5  // per-flow est_lost mean absolute error, frames
	estWorstGapFrac = 0.10 // worst flow's est_lost error near a one-gap deletion, share of the gap
	segmentTol      = 0.05 // capture-lost segment count against the oracle's
	gapLen          = 200  // frames of the one-gap model
)

// recording wraps a simulate.Model and records the frames it dropped: the
// deleted frames are exactly the ones simulate deleted.
type recording struct {
	simulate.Model
	dropped map[uint64]bool
}

func (r *recording) Drop(n uint64, rng *rand.Rand) bool {
	d := r.Model.Drop(n, rng)
	if d {
		r.dropped[n] = true
	}
	return d
}

// model is one loss model of the matrix; variants are two seeds (or, for
// the one-gap model, two positions; for the named cases, the lists of
// frames issue 15 names).
type model struct {
	name     string
	variants func(capture string, frames int) int
	make     func(capture string, frames, variant int) simulate.Model
}

func two(string, int) int { return 2 }

// named are the deletions issue 15 names, per capture.
var named = map[string][]string{
	"tls-subjectaltname.pcap": {"list:1228", "list:1261", "list:409", "list:2398-2399"},
}

var models = []model{
	{"uniform 1 %", two, func(string, int, int) simulate.Model { return simulate.Uniform{P: 0.01} }},
	// The Gilbert model of issue 15's RTP case: ~1 % loss in bursts of 5.
	{"bursty p=0.002 r=0.2", two, func(string, int, int) simulate.Model { return &simulate.Burst{P: 0.002, R: 0.2, H: 1} }},
	{"one 200-frame gap", func(_ string, frames int) int {
		if oneGap(frames) < 1 {
			return 0
		}
		return 2
	}, func(_ string, frames, variant int) simulate.Model {
		g := oneGap(frames)
		start := uint64(frames*variant/3 - g/2 + 1)
		return simulate.List{Ranges: [][2]uint64{{start, start + uint64(g) - 1}}}
	}},
	{"issue 15's frames", func(c string, _ int) int { return len(named[c]) }, func(c string, _, variant int) simulate.Model {
		m, err := simulate.ParseModel(named[c][variant-1])
		if err != nil {
			panic(err)
		}
		return m
	}},
}

// oneGap is the gap of the one-gap model: 200 frames, or a quarter of a
// smaller capture.
func oneGap(frames int) int { return min(gapLen, frames/4) }

// row is one line of the results table: one capture under one model,
// over both variants, with and without the sidecar.
type row struct {
	capture, model string
	note           string // why the capture is not in the suite
	note2          string // what is reported but not asserted
	deleted        uint64
	gapFrames      int
	tcpChecked     int   // exact TCP flow comparisons
	oracleCap      int64 // Σ the oracle's capture-lost bytes (change), checked flows
	gapanCap       int64 // Σ gapan's change
	capWrong       int   // flows whose change differs
	falseCap       int   // flows with capture loss where the oracle has none
	unverifiable   int   // flows whose acknowledgements beyond the data changed
	unexplGrowth   int64 // with the sidecar: Σ growth of capture_unexplained_bytes
	capDel         int64 // with the sidecar: Σ the oracle's capture-lost bytes of deleted frames
	explainedNS    int64 // without a sidecar: Σ capture_explained_bytes
	flips, flipN   int
	segOracle      int64
	segGapan       int64
	rtpDetectable  int64
	rtpGapan       int64
	estAbs         float64
	estN           int
	estWorst       float64
	lostDuringLow  int // flows whose frames_lost_during is below their true loss
	vanished       uint64
	fail           map[string]int
}

func (r *row) failed(kind string) {
	if r.fail == nil {
		r.fail = map[string]int{}
	}
	r.fail[kind]++
}

// TestAccuracy is the differential accuracy suite of docs/accuracy.md.
func TestAccuracy(t *testing.T) {
	start := time.Now()
	paths, err := filepath.Glob("../testdata/corpus/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	paths = append([]string{"../testdata/demo/demo.pcap"}, paths...)
	open := readOpen(t)
	var rows []*row
	for _, p := range paths {
		name := filepath.Base(p)
		t.Run(name, func(t *testing.T) { rows = append(rows, runCapture(t, p, open)...) })
	}
	open.finish(t)
	var ran int
	for _, r := range rows {
		if r.note == "" {
			ran++
		}
	}
	if ran < 20 {
		t.Fatalf("only %d capture × model rows ran; the corpus is missing from ../testdata", ran)
	}
	table := renderTable(rows)
	t.Logf("accuracy suite, %s:\n%s", time.Since(start).Round(time.Second), table)
	if *updateDoc {
		writeDoc(t, table)
	}
}

// runCapture runs the matrix over one capture.
func runCapture(t *testing.T, path string, open *openList) []*row {
	name := filepath.Base(path)
	c, err := oracle.Load(path)
	if errors.Is(err, oracle.ErrTruncated) && c.Frames() > 0 {
		// The readable frames before the damage are the capture.
		path = readablePrefix(t, path)
		c, err = oracle.Load(path)
	}
	if err != nil {
		return []*row{{capture: name, note: "unreadable: " + err.Error()}}
	}
	base := c.Compute(nil)
	var tcp, rtp bool
	for _, f := range base.Flows {
		tcp = tcp || f.TCP != nil
		rtp = rtp || f.RTP != nil && f.RTP.Streams > 0
	}
	if !tcp && !rtp {
		return []*row{{capture: name, note: "no TCP or RTP"}}
	}
	var orig [2]*loss.Summary // with / without the sidecar
	for i := range orig {
		if orig[i], err = gapan(path, i == 1); err != nil {
			t.Fatalf("gapan on the original: %v", err)
		}
	}
	origGaps, origTail := sidecarGaps(t, path)
	var rows []*row
	for _, m := range models {
		r := &row{capture: name, model: m.name}
		nv := m.variants(name, c.Frames())
		if nv == 0 {
			continue
		}
		if m.name == models[2].name {
			r.gapFrames = oneGap(c.Frames())
		}
		for variant := 1; variant <= nv; variant++ {
			rec := &recording{Model: m.make(name, c.Frames(), variant), dropped: map[uint64]bool{}}
			out := filepath.Join(t.TempDir(), "damaged.pcap")
			st, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: rec, Seed: uint64(variant)})
			if err != nil {
				return []*row{{capture: name, note: "simulate cannot thin it: " + err.Error()}}
			}
			if st.Dropped != uint64(len(rec.dropped)) {
				t.Fatalf("simulate says it dropped %d frames, the model dropped %d", st.Dropped, len(rec.dropped))
			}
			r.deleted += st.Dropped
			truth := c.Compute(rec.dropped)
			kept := make([]uint64, 0, c.Frames())
			for n := uint64(1); n <= uint64(c.Frames()); n++ {
				if !rec.dropped[n] {
					kept = append(kept, n)
				}
			}
			for i, mode := range []string{"sidecar", "no sidecar"} {
				t.Run(fmt.Sprintf("%s/%d/%s", m.name, variant, mode), func(t *testing.T) {
					dmg, err := gapan(out, i == 1)
					if err != nil {
						t.Fatalf("gapan on the damaged capture: %v", err)
					}
					check(t, r, checkArgs{
						truth: truth, kept: kept, deleted: rec.dropped,
						orig: orig[i], dmg: dmg, sidecar: i == 0,
						origGaps: origGaps, origTail: origTail, gap: r.gapFrames,
						open: open,
					})
				})
			}
			for _, v := range truth.Vanished {
				r.vanished += v.Deleted
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// gapan runs the report pipeline as `gapan report` does, keeping every
// flow and gap.
func gapan(path string, noSidecar bool) (*loss.Summary, error) {
	r, err := analyze.Run(analyze.Config{
		Captures:    []string{path},
		Join:        join.Options{NoSidecar: noSidecar},
		Engine:      loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: loss.DefaultIdleTimeout},
		KernelDrops: -1,
		Workers:     1,
	})
	if err != nil {
		return nil, err
	}
	return r.Summary, nil
}

// sidecarGaps reads the original capture's own sidecar, if any: the gap
// before each frame and the tail.
func sidecarGaps(t *testing.T, path string) (map[uint64]uint64, uint64) {
	gaps := map[uint64]uint64{}
	f, err := os.Open(sidecar.PathFor(path))
	if errors.Is(err, os.ErrNotExist) {
		return gaps, 0
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rr, err := sidecar.NewAutoReader(f, f.Name())
	if err != nil {
		t.Fatal(err)
	}
	sf, err := sidecar.ReadAll(rr)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range sf.Records {
		gaps[r.Frame] = r.Gap
	}
	return gaps, sf.Trailer.TailTotal()
}

// readablePrefix writes the frames of a damaged or cut-off pcap before the
// damage to a new file.
func readablePrefix(t *testing.T, path string) string {
	in, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	r, err := pcapgo.NewReader(in)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), filepath.Base(path))
	f, err := os.Create(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(r.Snaplen(), r.LinkType()); err != nil {
		t.Fatal(err)
	}
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		if err := w.WritePacket(ci, data); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return out
}

type checkArgs struct {
	truth    *oracle.Truth
	kept     []uint64 // original frame number of each damaged frame
	deleted  map[uint64]bool
	orig     *loss.Summary
	dmg      *loss.Summary
	sidecar  bool
	origGaps map[uint64]uint64
	origTail uint64
	gap      int // frames of the one-gap model; 0 for the others
	open     *openList
}

// failures collects a run's failures, printing the first few of each kind.
type failures struct {
	t     *testing.T
	r     *row
	open  *openList
	shown map[string]int
}

func (f *failures) add(kind, format string, a ...any) {
	f.r.failed(kind)
	if key := f.t.Name() + " " + kind; f.open.listed[key] || *updateOpen {
		f.open.failed[key] = true
		f.t.Logf("open (%s): %s: "+format, append([]any{openPath, kind}, a...)...)
		return
	}
	if f.shown == nil {
		f.shown = map[string]int{}
	}
	f.shown[kind]++
	if f.shown[kind] <= 5 {
		f.t.Errorf("%s: "+format, append([]any{kind}, a...)...)
	}
}

func (f *failures) done() {
	for k, n := range f.shown {
		if n > 5 {
			f.t.Errorf("%s: %d more like these", k, n-5)
		}
	}
}

// check holds one damaged capture's gapan figures against the truth.
func check(t *testing.T, r *row, a checkArgs) {
	fl := &failures{t: t, r: r, open: a.open}
	defer fl.done()
	checkGaps(fl, a)

	byFirst := func(s *loss.Summary, renumber []uint64) map[uint64]*loss.Flow {
		m := make(map[uint64]*loss.Flow, len(s.List))
		for _, f := range s.List {
			n := f.FirstFrame
			if renumber != nil {
				n = renumber[n-1]
			}
			m[n] = f
		}
		return m
	}
	dmgFlows, origFlows := byFirst(a.dmg, a.kept), byFirst(a.orig, nil)
	var (
		segO, segG int64
		segFlows   []segDiff
		estAbs     float64
		estN       int
		estWorst   float64
		estWorstAt uint64
	)
	for _, of := range a.truth.Flows {
		g := dmgFlows[of.FirstFrame]
		// est: one flow's est_lost error, for the mean and the worst.
		est := func(g, o *loss.Flow) {
			e := math.Abs(g.EstLost - o.EstLost - float64(of.Deleted))
			estAbs += e
			estN++
			if e > estWorst {
				estWorst, estWorstAt = e, of.FirstFrame
			}
		}
		if of.Proto != "tcp" && of.Proto != "udp" {
			if g != nil && a.sidecar && of.Exact {
				if o := origFlows[of.OrigFirstFrame]; o != nil {
					est(g, o)
				}
			}
			continue
		}
		if g == nil || g.Proto != of.Proto || g.SrcIP != of.Src.Addr().String() || g.SrcPort != of.Src.Port() ||
			g.DstIP != of.Dst.Addr().String() || g.DstPort != of.Dst.Port() {
			fl.add("flow identity", "the oracle's %s flow %v -> %v starting at original frame %d is not a gapan flow of the damaged capture (%+v)",
				of.Proto, of.Src, of.Dst, of.FirstFrame, describe(g))
			continue
		}
		if !of.Exact {
			continue
		}
		o := origFlows[of.OrigFirstFrame]
		if o == nil {
			fl.add("flow identity", "no gapan flow of the original starts at frame %d", of.OrigFirstFrame)
			continue
		}
		dl := of.DeletedFrames
		if len(dl) > 8 {
			dl = dl[:8]
		}
		where := fmt.Sprintf("flow %s %v -> %v (original frames from %d, damaged flow_id %d, its deleted frames %v)", of.Proto, of.Src, of.Dst, of.OrigFirstFrame, g.FlowID, dl)
		if a.sidecar {
			est(g, o)
			if g.FramesLostDuring < o.FramesLostDuring+of.Deleted {
				r.lostDuringLow++
			}
			// The documented bound (metrics.md): frames_lost_during is at
			// least what the flow lost between the frame before its first
			// frame and the frame after its last.
			if in := deletedInSpan(of, a.kept); g.FramesLostDuring < in {
				fl.add("frames_lost_during", "%s: frames_lost_during %d, but %d of its frames were deleted between the frames around its span (%d-%d)", where, g.FramesLostDuring, in, of.FirstFrame, of.LastFrame)
			}
		}
		if tt := of.TCP; tt != nil {
			checkTCP(fl, r, a, tt, o, g, where, &segO, &segG, &segFlows)
		}
		if rt := of.RTP; rt != nil && rt.Streams > 0 {
			dc := int64(g.RTPLostCapture) - int64(o.RTPLostCapture)
			du := int64(g.RTPLostUpstream) - int64(o.RTPLostUpstream)
			if dc+du != int64(rt.Detectable) {
				fl.add("rtp", "%s: rtp_lost_capture + rtp_lost_upstream changed by %d%+d, the oracle has %d deleted RTP packets gapan can see missing (%d deleted)", where, dc, du, rt.Detectable, rt.Deleted)
			}
			if a.sidecar {
				r.rtpDetectable += int64(rt.Detectable)
				r.rtpGapan += dc + du
				if du > 0 {
					fl.add("rtp", "%s: rtp_lost_upstream grew by %d with a perfect sidecar", where, du)
				}
				if dl := int64(g.RTPLate) - int64(o.RTPLate); dl != -int64(rt.LateDeleted) {
					fl.add("rtp", "%s: rtp_late changed by %d with a perfect sidecar; %d of the original's late packets were deleted", where, dl, rt.LateDeleted)
				}
			} else if g.RTPLostCapture != 0 {
				fl.add("rtp", "%s: rtp_lost_capture %d without a sidecar", where, g.RTPLostCapture)
			}
		}
	}
	r.segOracle += segO
	r.segGapan += segG
	if d := math.Abs(float64(segG - segO)); d > segmentTol*float64(segO) {
		sort.Slice(segFlows, func(i, j int) bool { return abs(segFlows[i].d) > abs(segFlows[j].d) })
		var most []string
		for _, f := range segFlows[:min(3, len(segFlows))] {
			most = append(most, f.msg)
		}
		fl.add("segments", "capture-lost segments changed by %d, the oracle counts %d deleted segments (more than %.0f %% apart); most apart: %s", segG, segO, 100*segmentTol, strings.Join(most, "; "))
	}
	// Where the original has gaps of its own (demo.pcap's kernel drops),
	// the truth of their shares is unknown and moves with the deletions
	// (they change the rates around those gaps): the error is reported,
	// not asserted.
	ownGaps := len(a.origGaps) > 0 || a.origTail > 0
	if a.sidecar && estN > 0 {
		r.estAbs += estAbs
		r.estN += estN
		r.estWorst = max(r.estWorst, estWorst)
		if ownGaps {
			r.note2 = "est_lost reported only: the original has gaps of its own"
		} else if mae := estAbs / float64(estN); mae > estMAEBound {
			fl.add("est_lost", "per-flow est_lost mean absolute error %.2f frames over %d flows (bound %.1f)", mae, estN, estMAEBound)
		}
		if !ownGaps && a.gap > 0 && estWorst > estWorstGapFrac*float64(a.gap) {
			fl.add("est_lost", "worst flow's est_lost error %.1f frames (flow from original frame %d) near a %d-frame gap (bound %.0f %%)", estWorst, estWorstAt, a.gap, 100*estWorstGapFrac)
		}
	}
}

// segDiff is one flow's capture-lost segment count against the oracle's.
type segDiff struct {
	d   int64
	msg string
}

func abs(x int64) int64 {
	if x < 0 {
		return -x
	}
	return x
}

// deletedInSpan counts the flow's deleted frames between the surviving
// frame before its first surviving frame and the one after its last.
func deletedInSpan(f *oracle.Flow, kept []uint64) uint64 {
	i := sort.Search(len(kept), func(k int) bool { return kept[k] >= f.FirstFrame })
	j := sort.Search(len(kept), func(k int) bool { return kept[k] > f.LastFrame })
	lo, hi := uint64(0), ^uint64(0)
	if i > 0 {
		lo = kept[i-1]
	}
	if j < len(kept) {
		hi = kept[j]
	}
	var n uint64
	for _, d := range f.DeletedFrames {
		if d > lo && d < hi {
			n++
		}
	}
	return n
}

// checkGaps compares the damaged capture's gaps with the deletions.
func checkGaps(fl *failures, a checkArgs) {
	want := map[uint64]uint64{}
	var pending, lost uint64
	k := uint64(0)
	for n := uint64(1); n <= a.truth.Frames; n++ {
		pending += a.origGaps[n]
		if a.deleted[n] {
			pending++
			continue
		}
		k++
		if pending > 0 {
			want[k] = pending
			lost += pending
			pending = 0
		}
	}
	tail := pending + a.origTail
	lost += tail
	s := a.dmg
	if s.FramesCaptured != k {
		fl.add("frames", "frames_captured %d, want %d", s.FramesCaptured, k)
	}
	if !a.sidecar {
		if s.FramesLost != 0 || len(s.Gaps) != 0 {
			fl.add("frames", "without a sidecar: frames_lost %d in %d gaps, want none", s.FramesLost, len(s.Gaps))
		}
		return
	}
	if s.FramesLost != lost || s.TailGap != tail {
		fl.add("frames", "frames_lost %d (tail %d), want %d (tail %d)", s.FramesLost, s.TailGap, lost, tail)
	}
	got := map[uint64]uint64{}
	for _, g := range s.Gaps {
		got[g.Frame] = g.Lost
	}
	if len(got) != len(want) {
		fl.add("frames", "%d gap events, want %d", len(got), len(want))
	}
	for f, n := range want {
		if got[f] != n {
			fl.add("frames", "gap before damaged frame %d: %d, want %d", f, got[f], n)
		}
	}
}

// checkTCP holds one exact TCP flow against the oracle.
func checkTCP(fl *failures, r *row, a checkArgs, tt *oracle.TCP, o, g *loss.Flow, where string, segO, segG *int64, segFlows *[]segDiff) {
	r.tcpChecked++
	own := int64(tt.OwnLostBytesDamaged) - int64(tt.OwnLostBytesOrig)
	want := int64(tt.CaptureLostBytes) + own + tt.AckFirstDelta
	got := int64(g.CaptureLostBytes) - int64(o.CaptureLostBytes)
	if tt.BeyondChanged || tt.AckFirstChanged {
		r.unverifiable++
	} else {
		r.oracleCap += want
		r.gapanCap += got
		// A keep-alive the damaged capture cannot tell from a pure ACK
		// (the oracle's KeepAliveBytes) may count as one lost byte.
		if got != want && !(want > 0 && got > want && uint64(got-want) <= tt.KeepAliveBytes) {
			r.capWrong++
			fl.add("capture bytes", "%s: capture_lost_bytes changed by %d (%d -> %d), the oracle says %d (%d deleted bytes acknowledged, own loss %+d, acknowledged-first %+d; re-carried %d, unknown %d, undetectable %d, keep-alive %d)",
				where, got, o.CaptureLostBytes, g.CaptureLostBytes, want, tt.CaptureLostBytes, own, tt.AckFirstDelta, tt.ReCarriedBytes, tt.UnknownBytes, tt.UndetectableBytes, tt.KeepAliveBytes)
		}
		if want == 0 && got > 0 {
			r.falseCap++
			fl.add("false capture loss", "%s: %d capture-lost bytes where the deletions caused none", where, got)
		}
		// Segments are compared where the deletions left the original's
		// own capture loss as it was: its segments (which no frame shows,
		// so the oracle cannot count them) are the same segments, and
		// gapan's count of them must not move either.
		if own == 0 && tt.AckFirstDelta == 0 {
			*segO += int64(tt.CaptureLostSegments)
			*segG += int64(g.CaptureLostSegments) - int64(o.CaptureLostSegments)
			if d := int64(g.CaptureLostSegments) - int64(o.CaptureLostSegments) - int64(tt.CaptureLostSegments); d != 0 {
				*segFlows = append(*segFlows, segDiff{d, fmt.Sprintf("%s: %d segments, the oracle %d", where, int64(g.CaptureLostSegments)-int64(o.CaptureLostSegments), tt.CaptureLostSegments)})
			}
		}
	}
	du := int64(g.CaptureUnexplainedBytes) - int64(o.CaptureUnexplainedBytes)
	if a.sidecar {
		r.capDel += int64(tt.CaptureLostBytes)
		if du > 0 {
			r.unexplGrowth += du
			fl.add("explained", "%s: with a perfect sidecar capture_unexplained_bytes grew by %d (%d -> %d)", where, du, o.CaptureUnexplainedBytes, g.CaptureUnexplainedBytes)
		}
	} else {
		r.explainedNS += int64(g.CaptureExplainedBytes)
		if g.CaptureExplainedBytes != 0 {
			fl.add("unexplained", "%s: without a sidecar %d capture-lost bytes are explained", where, g.CaptureExplainedBytes)
		}
	}
	if !tt.BracketHit && !tt.DeletedData {
		r.flipN++
		if g.UpstreamLostBytes != o.UpstreamLostBytes || g.AmbiguousBytes != o.AmbiguousBytes {
			r.flips++
			fl.add("fate flip", "%s: no deleted frame lies in the brackets of its %d own holes, yet upstream/ambiguous bytes went %d/%d -> %d/%d",
				where, len(tt.Holes), o.UpstreamLostBytes, o.AmbiguousBytes, g.UpstreamLostBytes, g.AmbiguousBytes)
		}
	}
}

func describe(g *loss.Flow) string {
	if g == nil {
		return "none"
	}
	return fmt.Sprintf("gapan has %s %s:%d -> %s:%d", g.Proto, g.SrcIP, g.SrcPort, g.DstIP, g.DstPort)
}

// merge adds o's figures to r (for the totals per model).
func (r *row) merge(o *row) {
	r.deleted += o.deleted
	r.tcpChecked += o.tcpChecked
	r.unverifiable += o.unverifiable
	r.oracleCap += o.oracleCap
	r.gapanCap += o.gapanCap
	r.capWrong += o.capWrong
	r.falseCap += o.falseCap
	r.unexplGrowth += o.unexplGrowth
	r.capDel += o.capDel
	r.explainedNS += o.explainedNS
	r.flips += o.flips
	r.flipN += o.flipN
	r.segOracle += o.segOracle
	r.segGapan += o.segGapan
	r.rtpDetectable += o.rtpDetectable
	r.rtpGapan += o.rtpGapan
	r.estAbs += o.estAbs
	r.estN += o.estN
	r.estWorst = max(r.estWorst, o.estWorst)
	r.lostDuringLow += o.lostDuringLow
	r.vanished += o.vanished
	for k, n := range o.fail {
		for range n {
			r.failed(k)
		}
	}
}

const tableHead = " deleted | TCP flows | capture-lost bytes: oracle / gapan | flows wrong | false capture-loss flows | deleted bytes explained (sidecar) | bytes explained without sidecar | fate flips / flows checked | segments: oracle / gapan | RTP seen missing: oracle / gapan | est_lost MAE / worst | flows with frames_lost_during < loss | frames of vanished flows | failing assertions |\n"

// cells renders r's figures as table cells.
func (r *row) cells() string {
	explained := "–"
	if r.capDel > 0 {
		explained = fmt.Sprintf("%.1f %%", 100*float64(r.capDel-r.unexplGrowth)/float64(r.capDel))
	}
	est := "–"
	if r.estN > 0 {
		est = fmt.Sprintf("%.2f / %.1f", r.estAbs/float64(r.estN), r.estWorst)
	}
	var kinds []string
	for k, n := range r.fail {
		kinds = append(kinds, fmt.Sprintf("%s ×%d", k, n))
	}
	sort.Strings(kinds)
	fails := strings.Join(kinds, ", ")
	if fails == "" {
		fails = "none"
	}
	if r.note2 != "" {
		fails += " (" + r.note2 + ")"
	}
	unver := ""
	if r.unverifiable > 0 {
		unver = fmt.Sprintf(" (+%d unverifiable)", r.unverifiable)
	}
	return fmt.Sprintf(" %d | %d%s | %d / %d | %d | %d | %s | %d | %d / %d | %d / %d | %d / %d | %s | %d | %d | %s |\n",
		r.deleted, r.tcpChecked, unver, r.oracleCap, r.gapanCap, r.capWrong, r.falseCap,
		explained, r.explainedNS, r.flips, r.flipN, r.segOracle, r.segGapan,
		r.rtpDetectable, r.rtpGapan, est, r.lostDuringLow, r.vanished, fails)
}

// renderTable renders the rows as the Markdown tables of docs/accuracy.md:
// totals per model, then every capture.
func renderTable(rows []*row) string {
	var b strings.Builder
	totals := make([]row, len(models))
	var skipped []string
	for _, r := range rows {
		if r.note != "" {
			skipped = append(skipped, fmt.Sprintf("%s (%s)", r.capture, r.note))
			continue
		}
		for i, m := range models {
			if m.name == r.model {
				totals[i].merge(r)
			}
		}
	}
	b.WriteString("| model |" + tableHead)
	b.WriteString("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for i, m := range models {
		b.WriteString("| " + m.name + " |" + totals[i].cells())
	}
	b.WriteString("\n| capture | model |" + tableHead)
	b.WriteString("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|\n")
	for _, r := range rows {
		if r.note != "" {
			continue
		}
		m := r.model
		if r.gapFrames > 0 && r.gapFrames != gapLen {
			m = fmt.Sprintf("one %d-frame gap", r.gapFrames)
		}
		b.WriteString("| " + r.capture + " | " + m + " |" + r.cells())
	}
	if len(skipped) > 0 {
		b.WriteString("\nNot in the suite: " + strings.Join(skipped, "; ") + ".\n")
	}
	return b.String()
}

const (
	docPath    = "../docs/accuracy.md"
	beginTable = "<!-- begin: go test ./accuracy -run TestAccuracy -update-doc -->"
	endTable   = "<!-- end: generated table -->"
)

// writeDoc replaces the generated part of docs/accuracy.md.
func writeDoc(t *testing.T, table string) {
	doc, err := os.ReadFile(docPath)
	if err != nil {
		t.Fatal(err)
	}
	s := string(doc)
	i, j := strings.Index(s, beginTable), strings.Index(s, endTable)
	if i < 0 || j < i {
		t.Fatalf("%s has no %q ... %q markers", docPath, beginTable, endTable)
	}
	commit := "unknown"
	if out, err := exec.Command("git", "describe", "--always", "--dirty").Output(); err == nil {
		commit = strings.TrimSpace(string(out))
	}
	gen := fmt.Sprintf("%s\n\nMade by `go test ./accuracy -run TestAccuracy -update-doc` at commit `%s`, %s.\n\n%s\n",
		beginTable, commit, time.Now().UTC().Format("2006-01-02"), table)
	s = s[:i] + gen + s[j:]
	if err := os.WriteFile(docPath, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}
