package loss

import (
	"math"

	"github.com/gapan/gapan/decode"
)

// estimator computes each flow's est_lost (docs/metrics.md). A gap's lost
// frames go first to the flows whose own evidence claimed them: the
// explanation assigns gap capacity to capture-lost TCP data and missing
// RTP packets, and each frame so assigned counts for that flow. The rest
// of the gap goes to the flows seen around it — the k frames before it
// and the k frames from it on, k the gap's lost frames within
// [w, estMaxWindow] — by the frames each can be expected to have sent
// during the gap: its packet rate next to the gap times the gap's
// duration, or none when its TCP segments show it sent nothing then.
// What the flows seen cannot account for goes to est_other: frames of
// flows the gap swallowed whole.
type estimator struct {
	w    int
	ring []estSlot // the last 2·max(w, estMaxWindow) frames, by global index
	// mask is len(ring)-1 when that is a power of two (always, but for a
	// window w above estMaxWindow that is not one): the ring's index
	// without a division per frame.
	mask  uint64
	last  uint64 // global index of the newest frame in the ring
	pend  []pendGap
	head  int
	ready []readyGap // windows complete, waiting for the explanation
	other float64    // parts of frames that belong to no flow
	// shareAt is snapshot's scratch: the index of each flow's share.
	shareAt map[*acct]int
}

// estSlot is what the estimator keeps of one frame.
type estSlot struct {
	a     *acct
	ns    int64
	flags estFlags
}

// estFlags are what a frame tells about whether its flow can have sent
// frames in a gap next to it.
type estFlags uint16

const (
	estTCP    estFlags = 1 << iota // a TCP segment
	estSyn                         // a SYN without ACK: the flow begins here
	estSynAck                      // a SYN/ACK: the flow's SYN came before it
	estFinA                        // a FIN from the flow's side A
	estFinB                        // a FIN from side B
	estRst                         // a RST
	// estReveal: the segment starts above the highest sequence number
	// its direction has shown, or acknowledges data above the highest
	// the other direction has shown: the flow sent data the capture
	// did not see.
	estReveal
	// estBlind: a direction of the flow has shown no sequence number
	// yet, so estReveal cannot be told.
	estBlind
	// estUnacked: before this segment, a direction of the flow had data
	// (or a SYN or FIN) not acknowledged yet: acknowledgements of it may
	// be due.
	estUnacked
)

// estFlagsOf returns the estFlags of TCP segment t sent in direction dir
// (0: from side A) of a flow with TCP state st, before it is accounted.
func estFlagsOf(t *decode.TCP, dir int, st *tcpState) estFlags {
	e := estTCP
	switch {
	case t.Flags&decode.TCPSyn != 0 && t.Flags&decode.TCPAck == 0:
		e |= estSyn
	case t.Flags&decode.TCPSyn != 0:
		e |= estSynAck
	}
	if t.Flags&decode.TCPFin != 0 {
		e |= estFinA << dir
	}
	if t.Flags&decode.TCPRst != 0 {
		e |= estRst
	}
	d, peer := &st.d[dir], &st.d[1-dir]
	if t.Flags&(decode.TCPSyn|decode.TCPRst) == 0 && (d.is(bitInit) && d.abs(t.Seq) > d.next ||
		t.Flags&decode.TCPAck != 0 && peer.is(bitInit) && peer.abs(t.Ack) > peer.next) {
		e |= estReveal
	}
	if !d.is(bitInit) || !peer.is(bitInit) {
		e |= estBlind
	}
	if !d.is(bitAckSeen) || d.acked < d.next || !peer.is(bitAckSeen) || peer.acked < peer.next {
		e |= estUnacked
	}
	return e
}

type pendGap struct {
	at   uint64 // global index of the frame after the gap (last+1 for a tail)
	k    uint64 // frames of the window on each side
	lost float64
	tail bool
}

// estMaxWindow bounds the frames on each side of a gap that its window
// holds: a gap of n lost frames is seen through n frames each side
// (at least Config.EstWindow), up to this many.
const estMaxWindow = 256

// readyGap is a gap whose window is known: the flows in it with the
// frames each is expected to have sent during the gap.
type readyGap struct {
	pendGap
	frames int
	timed  bool // the gap's duration is known: shares by expectation
	shares []share
	round  uint64 // explanation round during which the window completed
}

type share struct {
	a   *acct
	n   int     // frames in the window
	e   float64 // frames expected during the gap
	cap float64 // the most it plausibly sent then
	// Of the flow's frames in the window: the first one's flags, the
	// flags of all before the gap and of all after it (0: none), the
	// first one's after it; frames within the gap's duration before it
	// and after it.
	f0, fb, fa, fa0 estFlags
	cb, ca          int
	// seen: a segment of the flow in the window came after both
	// directions had shown a sequence number (or its data claimed part
	// of the gap): its expectation bounds what it sent in the gap.
	seen bool
}

func (s *estimator) init(w int) {
	s.w = w
	n := 2 * max(w, estMaxWindow)
	s.ring = make([]estSlot, n)
	if n&(n-1) == 0 {
		s.mask = uint64(n - 1)
	}
}

// gap registers lost frames just before global frame at.
func (s *estimator) gap(at uint64, lost float64) {
	k := uint64(s.w)
	if lost > float64(k) {
		k = uint64(min(lost, float64(max(s.w, estMaxWindow))))
	}
	s.pend = append(s.pend, pendGap{at: at, k: k, lost: lost})
}

// tail registers loss after the last frame: shared over the last w frames.
func (s *estimator) tail(lost float64) {
	s.pend = append(s.pend, pendGap{at: s.last + 1, k: uint64(s.w), lost: lost, tail: true})
}

// push records global frame gi (its flow, time and TCP flags) and takes a
// snapshot of the windows that are now complete.
func (s *estimator) push(gi uint64, a *acct, round uint64, ns int64, fl estFlags) {
	i := gi & s.mask
	if s.mask == 0 {
		i = gi % uint64(len(s.ring))
	}
	s.ring[i] = estSlot{a: a, ns: ns, flags: fl}
	s.last = gi
	for s.head < len(s.pend) && s.pend[s.head].at+s.pend[s.head].k-1 <= gi {
		s.snapshot(s.pend[s.head], round)
		s.head++
	}
	if s.head == len(s.pend) {
		s.pend, s.head = s.pend[:0], 0
	} else if s.head >= 1024 && 2*s.head >= len(s.pend) {
		// With a gap before every frame the queue is never empty: without
		// this it would keep every gap of the capture (2 M gaps: 48 MB).
		n := copy(s.pend, s.pend[s.head:])
		s.pend, s.head = s.pend[:n], 0
	}
}

// reach returns the earliest global frame that the window of a gap not
// yet shared out can hold: of the gaps registered (waiting for their
// window, or for their round) and of those still to come after frame now.
// A flow whose last frame is before it gets no more share.
func (s *estimator) reach(now uint64) uint64 {
	lo := func(at, k uint64) uint64 { return at - min(at, k) }
	r := lo(now+1, uint64(max(s.w, estMaxWindow)))
	for _, g := range s.pend[s.head:] {
		r = min(r, lo(g.at, g.k))
	}
	for i := range s.ready {
		r = min(r, lo(s.ready[i].at, s.ready[i].k))
	}
	return r
}

// snapshot records which flows the frames of g's window belong to and
// what each can be expected to have sent during the gap.
func (s *estimator) snapshot(g pendGap, round uint64) {
	lo := uint64(1)
	if g.at > g.k {
		lo = g.at - g.k
	}
	hi := min(g.at+g.k-1, s.last)
	if s.last >= uint64(len(s.ring)) && lo <= s.last-uint64(len(s.ring)) {
		lo = s.last - uint64(len(s.ring)) + 1
	}
	r := readyGap{pendGap: g, round: round}
	// The gap's duration d, from the frame before it to the frame after
	// it, and the times the window shows on each side, up to d.
	var tb, ta, d, spanB, spanA int64
	timed := !g.tail && lo < g.at && g.at <= hi
	if timed {
		tb, ta = s.ring[(g.at-1)%uint64(len(s.ring))].ns, s.ring[g.at%uint64(len(s.ring))].ns
		d = ta - tb
		spanB = min(d, tb-s.ring[lo%uint64(len(s.ring))].ns)
		spanA = min(d, s.ring[hi%uint64(len(s.ring))].ns-ta)
		timed = d > 0 && (spanB > 0 || spanA > 0)
	}
	// Each flow's share, in the order of its first frame in the window:
	// found through shareAt, not by a search of the shares (a window of
	// 512 frames of as many flows took 512² comparisons).
	if s.shareAt == nil {
		s.shareAt = make(map[*acct]int, 2*estMaxWindow)
	}
	clear(s.shareAt)
	for i := lo; i <= hi && hi >= lo; i++ {
		sl := &s.ring[i%uint64(len(s.ring))]
		r.frames++
		k, ok := s.shareAt[sl.a]
		if !ok {
			r.shares = append(r.shares, share{a: sl.a, f0: sl.flags})
			k = len(r.shares) - 1
			s.shareAt[sl.a] = k
		}
		sh := &r.shares[k]
		sh.n++
		sh.seen = sh.seen || sl.flags&(estTCP|estBlind) == estTCP
		if i < g.at {
			sh.fb |= sl.flags
			if sl.ns >= tb-spanB {
				sh.cb++
			}
		} else {
			if sh.fa == 0 {
				sh.fa0 = sl.flags
			}
			sh.fa |= sl.flags
			if sl.ns <= ta+spanA {
				sh.ca++
			}
		}
	}
	if timed {
		s.expect(&r, float64(d), float64(spanB), float64(spanA))
	}
	s.ready = append(s.ready, r)
}

// expect sets each share's frames expected during the gap of r, of
// duration d: the flow's packet rate over the times spanB before the gap
// and spanA after it (the gap's duration, or what the window shows)
// times d, averaged over the two sides — unless the flow's TCP segments
// show that it sent nothing then.
func (s *estimator) expect(r *readyGap, d, spanB, spanA float64) {
	r.timed = true
	sides := 0.0
	if spanB > 0 {
		sides++
	}
	if spanA > 0 {
		sides++
	}
	for k := range r.shares {
		sh := &r.shares[k]
		before, after := sh.fb != 0, sh.fa != 0
		switch {
		case before && !after && (sh.fb&estRst != 0 || sh.fb&(estFinA|estFinB) == estFinA|estFinB):
			continue // closed before the gap
		case before && after && sh.fb&sh.fa&estTCP != 0 && sh.fa&(estReveal|estBlind) == 0 && sh.fa0&estUnacked == 0:
			// Everything acknowledged at the gap and no data the capture
			// missed after it: the flow was idle.
			continue
		case !before && sh.f0&estSyn != 0 && sh.a != nil && sh.a.firstFrame >= r.at:
			continue // began after the gap
		case !before && sh.f0&estSynAck != 0 && sh.a != nil && sh.a.firstFrame >= r.at:
			sh.e = 1 // its SYN
			continue
		}
		var e float64
		if spanB > 0 {
			e += float64(sh.cb) / spanB
		}
		if spanA > 0 {
			e += float64(sh.ca) / spanA
		}
		sh.e = e * d / sides
	}
}

// shareTimed gives out rest frames of gap r by the flows' expectations
// (docs/metrics.md). A flow whose data claimed c frames of the gap
// (claims) is expected to have sent at least c/2 more in it: the
// acknowledgements of that data (a receiver acknowledges at least every
// second full-sized segment, RFC 5681). A flow's expectation comes from
// the few frames it sent around the gap: it may have sent up to two
// standard deviations (Poisson) more, its cap. Up to the sum of the
// expectations each flow gets a part in proportion to its own, up to the
// sum of the caps its expectation and a part of the rest in proportion
// to its room, beyond that its cap; what is left then is frames of flows
// the window does not show, or of flows whose rate says nothing about
// it: each flow whose expectation bounds what it sent (seen: a TCP flow
// whose two directions the capture shows, whose data sent in the gap
// shows as capture loss) keeps its cap, the others share what is left by
// their frames in the window, and the part of the bounded ones goes to
// est_other — when at least two frames are left, the least a flow the
// window does not show can have sent.
func (s *estimator) shareTimed(r *readyGap, rest float64, claims []gapClaim) {
	for _, c := range claims {
		for k := range r.shares {
			if sh := &r.shares[k]; sh.a == c.a {
				sh.e = max(sh.e, float64(c.n)/2)
				sh.seen = true
			}
		}
	}
	var sum, sumCap float64
	for k := range r.shares {
		sh := &r.shares[k]
		sh.cap = sh.e
		if c := sh.cb + sh.ca; c > 0 {
			sh.cap = sh.e * (1 + 2/math.Sqrt(float64(c)))
		}
		sum += sh.e
		sumCap += sh.cap
	}
	part := func(sh *share) float64 {
		switch {
		case rest <= sum:
			if sum == 0 {
				return 0
			}
			return rest * sh.e / sum
		case rest <= sumCap:
			return sh.e + (rest-sum)*(sh.cap-sh.e)/(sumCap-sum)
		}
		return sh.cap
	}
	var excess float64
	if rest > sumCap {
		excess = (rest - sumCap) / float64(r.frames)
	}
	// A flow the window does not show sent at least two frames (a
	// request and its answer): less than that left is the flows' seen.
	unseen := rest-sumCap >= 2
	given := 0.0
	for k := range r.shares {
		sh := &r.shares[k]
		if sh.a == nil {
			continue
		}
		p := part(sh)
		if !sh.seen || !unseen {
			p += excess * float64(sh.n)
		}
		sh.a.c().EstLost += p
		given += p
	}
	s.other += rest - given
}

// distribute shares out the unclaimed part of the ready gaps whose window
// completed before round `before` (all of them when final). x is the
// explanation: what it left unclaimed of a gap and which flows claimed
// the rest.
func (s *estimator) distribute(before uint64, final bool, x *explainer) {
	if final {
		for ; s.head < len(s.pend); s.head++ {
			s.snapshot(s.pend[s.head], before)
		}
		s.pend, s.head = s.pend[:0], 0
	}
	keep := s.ready[:0]
	var last uint64 // the latest gap shared out
	for _, r := range s.ready {
		if !final && r.round >= before {
			keep = append(keep, r)
			continue
		}
		rest := r.lost
		var claims []gapClaim
		if !r.tail {
			rest = x.share(r.at)
			claims = x.takeClaims(r.at)
			last = r.at
		}
		if r.frames == 0 {
			s.other += rest
			continue
		}
		if r.timed {
			s.shareTimed(&r, rest, claims)
			continue
		}
		part := rest / float64(r.frames)
		for _, sh := range r.shares {
			if sh.a != nil {
				sh.a.c().EstLost += part * float64(sh.n)
			} else {
				s.other += part * float64(sh.n)
			}
		}
	}
	clear(s.ready[len(keep):])
	s.ready = keep
	if last > 0 && len(x.claims) > 0 {
		x.dropClaims(last)
	}
}
