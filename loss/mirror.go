package loss

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"slices"
	"time"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
)

// This file is the accounting of mirror sessions: ERSPAN type II and III
// and GRE with the sequence bit (RFC 2890) number every frame a switch
// mirrors to a collector, one counter per session (decode.Packet.Mirror).
// A session numbers the frames of many inner flows, so it is tracked
// apart from the flows, in a table of its own, and its missing numbers
// are explained by a second explainer over the same recorded gaps: a
// frame of an ERSPAN capture is both a frame of its session and of its
// inner flow, and the session's pieces must not take the gaps' capacity
// from the flows' TCP and RTP pieces, nor the reverse. Missing numbers
// inside recorded gaps (capacity-limited) were dropped by the capture
// (capture_lost); the rest never reached the capture host: they were lost
// between the switch and the collector (mirror_lost). docs/metrics.md
// describes the counters.

// MirrorSession is the accounting of one mirror session: the frames a
// switch numbered with one GRE sequence counter. The JSON names are the
// stable names of docs/metrics.md.
type MirrorSession struct {
	// Kind is "erspan2", "erspan3" or "gre" (decode.MirrorKind).
	Kind string `json:"kind"`
	// Src and Dst are the outer IP addresses: the switch and the
	// collector.
	Src netip.Addr `json:"src"`
	Dst netip.Addr `json:"dst"`
	// ID is the ERSPAN session id, or the GRE key of other sequenced GRE.
	ID uint32 `json:"session_id"`
	// Frames is the captured frames of the session.
	Frames uint64 `json:"frames"`
	// FirstFrame and LastFrame are the global frame indexes (1-based over
	// the whole set) of the session's first and last frame.
	FirstFrame uint64 `json:"first_frame"`
	LastFrame  uint64 `json:"last_frame"`
	FirstNs    int64  `json:"first_ts_ns"`
	LastNs     int64  `json:"last_ts_ns"`
	FirstTs    string `json:"first_ts"`
	LastTs     string `json:"last_ts"`
	// FirstSeq and LastSeq are the sequence numbers of the first frame
	// and of the highest frame of the latest stream.
	FirstSeq uint32 `json:"first_seq"`
	LastSeq  uint32 `json:"last_seq"`
	// Missing is the numbers that never arrived: CaptureLost plus
	// MirrorLost.
	Missing uint64 `json:"missing"`
	// CaptureLost is the missing numbers that recorded gaps explain: the
	// capture host received them and its capture dropped them.
	CaptureLost uint64 `json:"capture_lost" gapan:"recorded"`
	// MirrorLost is the missing numbers no recorded gap explains: lost
	// between the switch and the capture host.
	MirrorLost uint64 `json:"mirror_lost" gapan:"recorded"`
	// Late is the frames that arrived behind a later one of the session,
	// in the place of a missing number (reordered).
	Late uint64 `json:"late"`
	// Duplicates is the frames whose number had been seen.
	Duplicates uint64 `json:"duplicates"`
	// Restarts is the times the numbering started over (a switch or a
	// session set up again): the missing numbers are counted within each
	// stretch, never across a restart.
	Restarts uint64 `json:"restarts"`
	// LossNotRecorded says a frame of the session came from a capture
	// without a loss record, or after the end of an incomplete sidecar:
	// which missing numbers the capture dropped is unknown, and so
	// CaptureLost and MirrorLost (written as null; the explanation still
	// runs, with the gaps it has).
	LossNotRecorded bool `json:"-"`
}

// mirrorSessionAlias is MirrorSession without its MarshalJSON.
type mirrorSessionAlias MirrorSession

// MarshalJSON writes s as encoding/json writes its fields, with
// capture_lost and mirror_lost null when s.LossNotRecorded.
func (s *MirrorSession) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal((*mirrorSessionAlias)(s))
	if err != nil || !s.LossNotRecorded {
		return b, err
	}
	return nullMirrorSplit(b), nil
}

// nullMirrorSplit writes null for the values of capture_lost and
// mirror_lost in the JSON object b (compact, as encoding/json writes a
// MirrorSession or MirrorTotals): unknown without a loss record.
func nullMirrorSplit(b []byte) []byte {
	for _, k := range []string{`"capture_lost":`, `"mirror_lost":`} {
		i := bytes.Index(b, []byte(k))
		if i < 0 {
			continue
		}
		i += len(k)
		j := i
		for j < len(b) && b[j] >= '0' && b[j] <= '9' {
			j++
		}
		b = slices.Concat(b[:i], []byte("null"), b[j:])
	}
	return b
}

// MirrorTotals are the sums over every mirror session.
type MirrorTotals struct {
	// Sessions is the number of sessions (restarts do not make new ones).
	Sessions    uint64 `json:"sessions"`
	Frames      uint64 `json:"frames"`
	Missing     uint64 `json:"missing"`
	CaptureLost uint64 `json:"capture_lost"`
	MirrorLost  uint64 `json:"mirror_lost"`
	Late        uint64 `json:"late"`
	Duplicates  uint64 `json:"duplicates"`
	Restarts    uint64 `json:"restarts"`
	// Untracked is the frames of sessions beyond the MaxMirrorSessions
	// tracked: counted nowhere else.
	Untracked uint64 `json:"untracked_frames"`
	// LossNotRecorded: some session's CaptureLost and MirrorLost are
	// unknown (MirrorSession.LossNotRecorded), and so are the totals'.
	LossNotRecorded bool `json:"-"`
}

// mirrorTotalsAlias is MirrorTotals without its MarshalJSON.
type mirrorTotalsAlias MirrorTotals

// MarshalJSON writes t as encoding/json writes its fields, with
// capture_lost and mirror_lost null when t.LossNotRecorded.
func (t MirrorTotals) MarshalJSON() ([]byte, error) {
	b, err := json.Marshal(mirrorTotalsAlias(t))
	if err != nil || !t.LossNotRecorded {
		return b, err
	}
	return nullMirrorSplit(b), nil
}

func (t *MirrorTotals) add(s *MirrorSession) {
	t.Sessions++
	t.Frames += s.Frames
	t.Missing += s.Missing
	t.CaptureLost += s.CaptureLost
	t.MirrorLost += s.MirrorLost
	t.Late += s.Late
	t.Duplicates += s.Duplicates
	t.Restarts += s.Restarts
	t.LossNotRecorded = t.LossNotRecorded || s.LossNotRecorded
}

// MaxMirrorSessions bounds the mirror sessions a run tracks; the frames of
// sessions beyond it count in MirrorTotals.Untracked.
const MaxMirrorSessions = 1 << 16

// mirrorReorder is how many numbers a session may move past a missing one
// before it counts as lost: a frame arriving late within it fills its
// place. A switch sends a session's frames in order on one path, so
// reordering is rare and short.
const mirrorReorder = 64

// mirrorMaxStep is the largest forward step within a stretch of a
// session's numbering. A frame that does not step forward within it (and
// fills no missing number) is a restart when the next frame continues it
// rather than the stretch; otherwise it was a duplicate (its number seen
// among the last 64) or a stray (counted late), and the stretch goes on.
const mirrorMaxStep = 1 << 24

// mirrorKey identifies a session.
type mirrorKey struct {
	src, dst netip.Addr
	id       uint32
	kind     decode.MirrorKind
}

// mirrorSession is a session's figures and numbering state.
type mirrorSession struct {
	MirrorSession
	last    uint32 // the highest number of the current stretch
	lastFrm uint64 // global frame that carried it
	// seen has bit k set when number last-k was seen (k < 64), to tell a
	// duplicate from a stray.
	seen uint64
	// A frame that does not step forward within mirrorMaxStep waits for
	// the next one to tell a restart from a duplicate or a stray frame.
	pending bool
	pend    uint32
	pendFrm uint64
	missing []seqRun
}

// seqRun is a run of missing numbers [num, num+n) found between global
// frames lo (exclusive) and hi (inclusive); flow is the flow of frame hi,
// whose fate tells the run's.
type seqRun struct {
	num, n uint32
	lo, hi uint64
	flow   uint64
}

// mirrors are a run's mirror sessions.
type mirrors struct {
	byKey map[mirrorKey]*mirrorSession
	list  []*mirrorSession // in order of first frame
	exp   explainer
	// untracked counts the frames of sessions beyond max.
	untracked uint64
	// max is MaxMirrorSessions (smaller in tests).
	max int
}

// mirrorGap registers a recorded gap before global frame gi with the
// mirror sessions' explainer (once there is a session: a gap before the
// first one is in no session's bracket).
func (e *Engine) mirrorGap(gi, lost uint64) {
	if e.mir != nil {
		e.mir.exp.addGap(gi, lost)
	}
}

// mirrorFrame accounts a frame that carries a mirror session's number.
func (e *Engine) mirrorFrame(f *join.Frame, p *decode.Packet, gi uint64) {
	m := e.mir
	if m == nil {
		m = &mirrors{byKey: map[mirrorKey]*mirrorSession{}, max: MaxMirrorSessions}
		m.exp.round, m.exp.onFate = 1, e.cfg.OnFate
		e.mir = m
	}
	src, dst := p.MirrorAddrs()
	k := mirrorKey{src: src, dst: dst, id: p.Mirror.ID, kind: p.Mirror.Kind}
	num := p.Mirror.Seq
	s := m.byKey[k]
	if s == nil {
		if len(m.list) >= m.max {
			m.untracked++
			return
		}
		s = &mirrorSession{MirrorSession: MirrorSession{Kind: p.Mirror.Kind.String(), Src: src, Dst: dst, ID: p.Mirror.ID,
			FirstFrame: gi, FirstNs: f.TimestampNs, FirstSeq: num}, last: num, lastFrm: gi, seen: 1}
		m.byKey[k] = s
		m.list = append(m.list, s)
	}
	s.Frames++
	s.LastFrame, s.LastNs = gi, f.TimestampNs
	if f.NoLossRecord || f.LossUnknown {
		s.LossNotRecorded = true
	}
	if s.Frames == 1 {
		return
	}
	if s.pending {
		s.pending = false
		if mirrorContinues(s.pend, num) && !mirrorContinues(s.last, num) {
			// The frame continues the pending one, not the stretch: the
			// numbering started over there.
			s.Restarts++
			m.settle(s, true)
			s.last, s.lastFrm, s.seen = s.pend, s.pendFrm, 1
		} else {
			s.stray()
		}
	}
	step := num - s.last
	back := s.last - num
	switch {
	case back < step && s.fill(num):
		s.Late++
		if back < 64 {
			s.seen |= 1 << back
		}
		return
	case step == 0 || back < step || step > mirrorMaxStep:
		// A number seen again, one behind that no missing run holds, or
		// a jump: the next frame tells a restart from a duplicate or a
		// stray.
		s.pending, s.pend, s.pendFrm = true, num, gi
		return
	}
	if step > 1 {
		s.missing = append(s.missing, seqRun{num: s.last + 1, n: step - 1, lo: s.lastFrm, hi: gi, flow: e.fateFlow})
	}
	if step < 64 {
		s.seen = s.seen<<step | 1
	} else {
		s.seen = 1
	}
	s.last, s.lastFrm = num, gi
	if len(s.missing) > 0 {
		m.settle(s, false)
	}
}

// stray counts the pending frame that turned out not to restart the
// numbering: a duplicate when its number was seen within the last 64, else
// a stray frame from outside the session's window (late).
func (s *mirrorSession) stray() {
	if back := s.last - s.pend; back < 64 && s.seen&(1<<back) != 0 {
		s.Duplicates++
	} else {
		s.Late++
	}
}

// mirrorContinues reports whether num can follow last in one stretch of
// numbering: 1 to mirrorMaxStep ahead.
func mirrorContinues(last, num uint32) bool {
	return num-last-1 < mirrorMaxStep
}

// fill removes num from the session's missing runs and reports whether it
// was there.
func (s *mirrorSession) fill(num uint32) bool {
	for i := range s.missing {
		r := &s.missing[i]
		off := num - r.num
		if off >= r.n {
			continue
		}
		switch {
		case r.n == 1:
			s.missing = append(s.missing[:i], s.missing[i+1:]...)
		case off == 0:
			r.num++
			r.n--
		case off == r.n-1:
			r.n--
		default:
			right := seqRun{num: num + 1, n: r.n - off - 1, lo: r.lo, hi: r.hi, flow: r.flow}
			r.n = off
			s.missing = append(s.missing, seqRun{})
			copy(s.missing[i+2:], s.missing[i+1:])
			s.missing[i+1] = right
		}
		return true
	}
	return false
}

// settle turns the session's missing runs that its numbering has moved
// past by more than the reorder window (all of them when final) into
// pieces for the explainer.
func (m *mirrors) settle(s *mirrorSession, final bool) {
	k := 0
	for ; k < len(s.missing); k++ {
		r := s.missing[k]
		if !final && s.last-(r.num+r.n-1) < mirrorReorder {
			break
		}
		s.Missing += uint64(r.n)
		m.exp.add(piece{ms: s, kind: EvidenceMirror, lo: r.lo, hi: r.hi, demand: uint64(r.n), at: r.hi, flow: r.flow})
	}
	s.missing = append(s.missing[:0], s.missing[k:]...)
}

// bookMirror books a mirror piece p, of which the recorded gaps explained
// taken frames.
func bookMirror(p *piece, taken uint64) {
	p.ms.CaptureLost += taken
	p.ms.MirrorLost += p.demand - taken
}

// mirrorRound explains the mirror sessions' pending pieces.
func (e *Engine) mirrorRound() {
	if e.mir != nil {
		e.mir.exp.resolve(e.gi)
	}
}

// mirrorFinish ends every session and returns them, in order of their
// first frame, with their totals.
func (e *Engine) mirrorFinish() ([]MirrorSession, MirrorTotals) {
	var t MirrorTotals
	m := e.mir
	if m == nil {
		return nil, t
	}
	for _, s := range m.list {
		if s.pending {
			// No frame came to tell a restart: the session's last frame
			// was a duplicate or a stray.
			s.pending = false
			s.stray()
		}
		m.settle(s, true)
	}
	m.exp.resolve(e.gi)
	out := make([]MirrorSession, len(m.list))
	for i, s := range m.list {
		s.LastSeq = s.last
		s.FirstTs = time.Unix(0, s.FirstNs).UTC().Format(time.RFC3339Nano)
		s.LastTs = time.Unix(0, s.LastNs).UTC().Format(time.RFC3339Nano)
		out[i] = s.MirrorSession
		t.add(&out[i])
	}
	t.Untracked = m.untracked
	return out, t
}
