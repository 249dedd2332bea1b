// Package selection says which frames of a capture a run analyzes: a
// capture filter in tcpdump syntax, a time window and a range of frame
// numbers. report, parquet, annotate and simulate all select the same way
// (their --filter, --start, --end and --frames flags, Flags, fill a
// Select), and analyze.Run applies it (analyze.Config.Select).
//
//	sel := selection.Select{Filter: "tcp port 443"}
//	sel.Start, _ = selection.ParseTime("+30s")
//	m, err := sel.NewMatcher(ctx)
//	for each frame f in stream order:
//		if !m.InWindow(f) { continue }  // outside the window: read, not counted
//		ok, err := m.Match(f)             // the filter: per-flow figures
//
// The filter is compiled by tcpdump (internal/bpfcompile), once per link
// type as frames of that link type appear, and run over each frame's bytes
// by golang.org/x/net/bpf's virtual machine. docs/report.md says what a
// selection does to each figure.
package selection

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gapan/gapan/internal/bpfcompile"
	"github.com/gapan/gapan/reader"
	"golang.org/x/net/bpf"
)

// ErrSelect means a window bound or frame range could not be parsed.
var ErrSelect = errors.New("selection: invalid selection")

// ErrFilter means a capture filter could not be compiled (it is
// bpfcompile's, and recorder's, sentinel).
var ErrFilter = bpfcompile.ErrFilter

// Select says which frames a run analyzes. Its zero value selects every
// frame.
type Select struct {
	// Filter is a capture filter in tcpdump syntax; "" selects every frame.
	Filter string
	// Start and End bound the time window: frames with Start <= time <
	// End. A zero Time leaves that side open.
	Start, End Time
	// FirstFrame and LastFrame bound the frames by their 1-based numbers
	// in the file, both included, as Wireshark numbers them; 0 leaves that
	// side open.
	FirstFrame, LastFrame uint64
}

// IsZero reports whether s selects every frame.
func (s Select) IsZero() bool {
	return s.Filter == "" && s.Start.IsZero() && s.End.IsZero() && s.FirstFrame == 0 && s.LastFrame == 0
}

// HasWindow reports whether s has a time window or a frame range.
func (s Select) HasWindow() bool {
	return !s.Start.IsZero() || !s.End.IsZero() || s.FirstFrame != 0 || s.LastFrame != 0
}

// String describes s in the words of the flags: `filter "tcp port 443",
// frames 100-900, start +30s, end 2024-05-01T12:00:00Z`; "" for the zero
// Select.
func (s Select) String() string {
	var parts []string
	if s.Filter != "" {
		parts = append(parts, "filter "+strconv.Quote(s.Filter))
	}
	if s.FirstFrame != 0 || s.LastFrame != 0 {
		r := ""
		if s.FirstFrame != 0 {
			r = strconv.FormatUint(s.FirstFrame, 10)
		}
		r += "-"
		if s.LastFrame != 0 {
			r += strconv.FormatUint(s.LastFrame, 10)
		}
		parts = append(parts, "frames "+r)
	}
	if !s.Start.IsZero() {
		parts = append(parts, "start "+s.Start.String())
	}
	if !s.End.IsZero() {
		parts = append(parts, "end "+s.End.String())
	}
	return strings.Join(parts, ", ")
}

// Time is a bound of a time window: an instant, or an offset from the
// first frame's timestamp.
type Time struct {
	At       time.Time     // the instant, when not Relative
	Offset   time.Duration // from the first frame, when Relative
	Relative bool
}

// IsZero reports whether t is unset.
func (t Time) IsZero() bool { return !t.Relative && t.At.IsZero() }

// String returns t the way ParseTime reads it.
func (t Time) String() string {
	switch {
	case t.Relative:
		return "+" + t.Offset.String()
	case t.At.IsZero():
		return ""
	}
	return t.At.Format(time.RFC3339Nano)
}

// Parse returns the Select its textual parts describe, as the commands'
// --filter, --start, --end and --frames flags give them: a filter in
// tcpdump syntax (compiled later, by NewMatcher, for each link type it
// meets: an expression can be valid for one link type only), window
// bounds as ParseTime reads them and a frame range as ParseFrames reads
// it. An empty part leaves that side open. Its errors wrap ErrSelect.
func Parse(filter, start, end, frames string) (Select, error) {
	sel := Select{Filter: filter}
	var err error
	if sel.Start, err = ParseTime(start); err != nil {
		return sel, err
	}
	if sel.End, err = ParseTime(end); err != nil {
		return sel, err
	}
	if frames != "" {
		sel.FirstFrame, sel.LastFrame, err = ParseFrames(frames)
	}
	return sel, err
}

// ParseTime parses a window bound: an RFC 3339 timestamp
// (2024-05-01T12:00:00Z, fractions of a second allowed) or an offset from
// the first frame, a Go duration with a leading '+' ("+30s", "+1m30s",
// "+250ms"). "" is the zero Time.
func ParseTime(s string) (Time, error) {
	if s == "" {
		return Time{}, nil
	}
	if rest, ok := strings.CutPrefix(s, "+"); ok {
		d, err := time.ParseDuration(rest)
		if err != nil || d < 0 {
			return Time{}, fmt.Errorf("%w: time %q: want an offset like +30s or an RFC 3339 timestamp", ErrSelect, s)
		}
		return Time{Offset: d, Relative: true}, nil
	}
	at, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return Time{}, fmt.Errorf("%w: time %q: want an RFC 3339 timestamp like 2024-05-01T12:00:00Z or an offset like +30s", ErrSelect, s)
	}
	return Time{At: at}, nil
}

// ParseFrames parses a range of 1-based frame numbers: "A-B" (both
// included), "A-" (from A on), "-B" (up to B) or "A" (frame A alone).
func ParseFrames(s string) (first, last uint64, err error) {
	bad := func() (uint64, uint64, error) {
		return 0, 0, fmt.Errorf("%w: frames %q: want A-B, A-, -B or A with 1-based frame numbers, A <= B", ErrSelect, s)
	}
	num := func(t string) (uint64, bool) {
		if t == "" {
			return 0, true
		}
		n, err := strconv.ParseUint(t, 10, 64)
		return n, err == nil && n > 0
	}
	lo, hi, isRange := strings.Cut(s, "-")
	if !isRange {
		hi = lo
	}
	var ok1, ok2 bool
	first, ok1 = num(lo)
	last, ok2 = num(hi)
	if !ok1 || !ok2 || s == "" || s == "-" || (last != 0 && first > last) {
		return bad()
	}
	return first, last, nil
}

// snaplen is the snap length the filter is compiled for: the largest
// libpcap knows, so that no frame is refused for its length.
const snaplen = 262144

// Matcher applies a Select to the frames of a stream, in stream order. It
// is not safe for concurrent use.
type Matcher struct {
	sel       Select
	ctx       context.Context
	firstSeen bool
	startNs   int64 // window in ns, inclusive start
	endNs     int64 // exclusive end
	hasStart  bool
	hasEnd    bool
	vms       map[uint32]*bpf.VM
	lastLink  uint32
	lastVM    *bpf.VM
}

// NewMatcher returns a Matcher for s. The filter is compiled later, for
// each link type as its first frame comes; ctx bounds those compilations.
func (s Select) NewMatcher(ctx context.Context) *Matcher {
	return &Matcher{sel: s, ctx: ctx, vms: map[uint32]*bpf.VM{}}
}

// InWindow reports whether frame f is inside the time window and the frame
// range. The first call fixes the reference of relative bounds: f must be
// the first frame of the stream (of the set, for a rotated set).
func (m *Matcher) InWindow(f *reader.Frame) bool {
	if !m.firstSeen {
		m.firstSeen = true
		m.startNs, m.hasStart = m.bound(m.sel.Start, f.TimestampNs)
		m.endNs, m.hasEnd = m.bound(m.sel.End, f.TimestampNs)
	}
	if m.sel.FirstFrame != 0 && f.Number < m.sel.FirstFrame {
		return false
	}
	if m.sel.LastFrame != 0 && f.Number > m.sel.LastFrame {
		return false
	}
	if m.hasStart && f.TimestampNs < m.startNs {
		return false
	}
	if m.hasEnd && f.TimestampNs >= m.endNs {
		return false
	}
	return true
}

// bound resolves t against the first frame's timestamp.
func (m *Matcher) bound(t Time, firstNs int64) (int64, bool) {
	switch {
	case t.Relative:
		return firstNs + int64(t.Offset), true
	case t.At.IsZero():
		return 0, false
	}
	return t.At.UnixNano(), true
}

// Match reports whether frame f passes the filter (every frame does
// without one). The filter is compiled for f's link type the first time
// that link type comes; an expression tcpdump refuses for it gives an
// error wrapping ErrFilter. Like the kernel and libpcap, the program
// reads f's captured bytes; "len" (and less, greater) is the captured
// length too, which differs from tcpdump's (the length on the wire) only
// on frames cut by the snap length.
func (m *Matcher) Match(f *reader.Frame) (bool, error) {
	if m.sel.Filter == "" {
		return true, nil
	}
	link := uint32(f.LinkType)
	vm := m.lastVM
	if vm == nil || link != m.lastLink {
		var err error
		if vm, err = m.vm(link); err != nil {
			return false, err
		}
		m.lastLink, m.lastVM = link, vm
	}
	n, err := vm.Run(f.Data)
	if err != nil {
		return false, fmt.Errorf("%w: %q: running it: %w", ErrFilter, m.sel.Filter, err)
	}
	return n > 0, nil
}

// vm returns the filter's virtual machine for a link type, compiling it
// the first time.
func (m *Matcher) vm(link uint32) (*bpf.VM, error) {
	if vm, ok := m.vms[link]; ok {
		return vm, nil
	}
	raw, err := bpfcompile.Compile(m.ctx, m.sel.Filter, link, snaplen)
	if err != nil {
		return nil, fmt.Errorf("%w (for link type %d)", err, link)
	}
	prog := make([]bpf.Instruction, len(raw))
	for i, r := range raw {
		prog[i] = r.Disassemble()
	}
	vm, err := bpf.NewVM(prog)
	if err != nil {
		return nil, fmt.Errorf("%w: %q for link type %d: %w", ErrFilter, m.sel.Filter, link, err)
	}
	m.vms[link] = vm
	return vm, nil
}
