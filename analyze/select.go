package analyze

import (
	"context"
	"fmt"
	"math/bits"
	"sort"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/selection"
)

// selector applies Config.Select to the stream, on the goroutine that
// reads it. Gaps are capture facts: it counts the totals and the gaps of
// every frame in the window (a filter hides none of them), while only the
// frames it keeps reach the accounting, so that per-flow figures cover the
// selected frames alone (docs/report.md, "Selecting frames").
type selector struct {
	m   *selection.Matcher
	win loss.TotalsCounter
	// onGap is the Engine's OnGap, called on the accounting goroutine with
	// the gaps the reading goroutine left in pending.
	onGap   func(loss.GapRef)
	pending []loss.GapRef
	// tailIn says, per file, whether its last frame read was in the
	// window: its tail gap (the loss after that frame) counts only then.
	tailIn []bool
	names  []string
	// read counts the frames read (the reading goroutine's); taken
	// records, on the accounting goroutine, which of them the accounting
	// got, to give flows and fates the frame indexes of the whole set
	// instead of the Engine's count of the frames it got.
	read  uint64
	taken rankBits
	// outside holds, per interface, the last frame read outside the
	// window: the frame before the gap of a window that began mid-gap.
	outside  []outsideFrame
	keepGaps bool
	gaps     []loss.GapRef
	largest  loss.GapRef
	window   bool
	selected uint64
}

// newSelector returns a selector for cfg and takes the gap outputs of
// cfg.Engine over, or nil when cfg selects every frame.
func newSelector(cfg *Config) (*selector, error) {
	sel := cfg.Select
	if sel.IsZero() {
		return nil, nil
	}
	if (sel.FirstFrame != 0 || sel.LastFrame != 0) && len(cfg.Captures) > 1 {
		return nil, fmt.Errorf("%w: a frame range selects in one capture, not a set of %d (frame numbers are per file)", selection.ErrSelect, len(cfg.Captures))
	}
	st := &selector{m: sel.NewMatcher(context.Background()), names: cfg.Captures, onGap: cfg.Engine.OnGap, window: sel.HasWindow()}
	st.keepGaps = cfg.Engine.KeepGaps
	st.win.OnGap = st.gap
	cfg.Engine.KeepGaps, cfg.Engine.OnGap = false, nil
	onFlow, onFate := cfg.Engine.OnFlow, cfg.Engine.OnFate
	// Always set: every flow kept in the Summary passes through OnFlow
	// once, so its frame indexes are translated once; none is deferred.
	cfg.Engine.DeferLive = false
	cfg.Engine.OnFlow = func(f *loss.Flow) {
		f.FirstFrame, f.LastFrame = st.taken.index(f.FirstFrame), st.taken.index(f.LastFrame)
		if onFlow != nil {
			onFlow(f)
		}
	}
	if onFate != nil {
		cfg.Engine.OnFate = func(f loss.Fate) {
			f.Frame, f.Ref, f.Gap = st.taken.index(f.Frame), st.taken.index(f.Ref), st.taken.index(f.Gap)
			onFate(f)
		}
	}
	return st, nil
}

// outsideFrame is a frame read outside the window.
type outsideFrame struct {
	file   int
	number uint64
	ns     int64
}

// gap takes a gap from the window's TotalsCounter. The counter saw no
// frame before the window: for the gap of a window that began mid-gap, it
// names the frame before the gap, outside the window.
func (st *selector) gap(g loss.GapRef) {
	if g.PrevFrame == 0 && g.Interface < len(st.outside) {
		if o := st.outside[g.Interface]; o.number != 0 && o.file == g.File && o.number < g.Frame {
			g.PrevFrame, g.PrevNs = o.number, o.ns
		}
	}
	if g.Lost > st.largest.Lost {
		st.largest = g
	}
	if st.keepGaps {
		st.gaps = append(st.gaps, g)
	}
	if st.onGap != nil {
		st.pending = append(st.pending, g)
	}
}

// finish returns the window's totals and gaps, with gaps labelled by
// capture as TotalsCounter.Finish labels them.
func (st *selector) finish(files []join.FileInfo) (loss.Totals, []loss.GapRef) {
	t := st.win.Finish(files)
	if t.LargestGap != nil {
		g := st.largest
		g.Capture = t.LargestGap.Capture
		t.LargestGap = &g
	}
	if len(files) > 1 {
		for i := range st.gaps {
			st.gaps[i].Capture = files[st.gaps[i].File].Name
		}
	}
	return t, st.gaps
}

// keep reports whether f goes to the accounting, after counting it in the
// window's totals when it is in the window.
func (st *selector) keep(f *join.Frame) (bool, error) {
	st.read++
	in := st.m.InWindow(f.Frame)
	for len(st.tailIn) <= f.File {
		st.tailIn = append(st.tailIn, false)
	}
	st.tailIn[f.File] = in
	if !in {
		for len(st.outside) <= f.InterfaceID {
			st.outside = append(st.outside, outsideFrame{})
		}
		st.outside[f.InterfaceID] = outsideFrame{f.File, f.Number, f.TimestampNs}
		return false, nil
	}
	st.win.Add(f)
	ok, err := st.m.Match(f.Frame)
	if err != nil {
		return false, fmt.Errorf("%s: frame %d: %w", st.names[f.File], f.Number, err)
	}
	if ok {
		st.selected++
	}
	return ok, nil
}

// flush hands the gaps found so far to the Engine's OnGap.
func (st *selector) flush(gaps []loss.GapRef) {
	for _, g := range gaps {
		st.onGap(g)
	}
}

// files returns the files as the window sees them: a file whose last frame
// is outside the window has no tail gap (the loss after its last frame
// lies outside the window too).
func (st *selector) files(files []join.FileInfo) []join.FileInfo {
	if !st.window {
		return files
	}
	out := make([]join.FileInfo, len(files))
	copy(out, files)
	for i := range out {
		if i >= len(st.tailIn) || !st.tailIn[i] {
			out[i].Tail = nil
		}
	}
	return out
}

// rankBits is a set of frame indexes (1-based over the set), added in
// increasing order, that answers "the index of the k-th member": 2 bits a
// frame read, however many frames the selection keeps.
type rankBits struct {
	words  []uint64
	before []uint64 // members in the words before each word
	n      uint64
}

// add adds index i, larger than any added before.
func (b *rankBits) add(i uint64) {
	w := (i - 1) / 64
	for uint64(len(b.words)) <= w {
		b.words = append(b.words, 0)
		b.before = append(b.before, b.n)
	}
	b.words[w] |= 1 << ((i - 1) % 64)
	b.n++
}

// index returns the k-th member (1-based); 0 for 0.
func (b *rankBits) index(k uint64) uint64 {
	if k == 0 || k > b.n {
		return k
	}
	w := sort.Search(len(b.before), func(j int) bool { return b.before[j] >= k }) - 1
	x := b.words[w]
	for r := k - b.before[w]; r > 1; r-- {
		x &= x - 1
	}
	return uint64(w)*64 + uint64(bits.TrailingZeros64(x)) + 1
}
