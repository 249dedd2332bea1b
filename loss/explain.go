package loss

import (
	"slices"
	"sort"
)

// gapRetention is how many frames back recorded gaps are kept for
// explaining capture loss; a hole whose bracket reaches further back can
// only use the gaps within reach.
const gapRetention = 1 << 22

// piece is capture loss waiting to be explained: demand frames' worth of
// data (TCP bytes, or missing packets of RTP or a sequence family) lost
// between global frames lo (exclusive) and hi (inclusive).
type piece struct {
	acct   *acct
	lo, hi uint64
	demand uint64 // frames needed to carry the loss
	bytes  uint64 // TCP bytes (0 for the others)
	// segs: TCP segments; for a family whose packets are not one a
	// frame (MPEG-TS) its missing packets, demand being the frames that
	// carried them at least; 0 for the others.
	segs uint64
	// kind is the evidence: TCP, RTP or a sequence family (seq.go).
	kind Evidence
	// shadow: the piece does not take the gaps' capacity, only asks
	// whether the gaps inside its bracket lost as many frames as it
	// needs: the same datagrams' loss is already a piece of another
	// kind (MPEG-TS over RTP, whose RTP sequence numbers count them).
	shadow bool
	// proven (a sequence family's) says the packets passed the capture
	// point (an ICMP echo reply to a request the capture missed): what
	// no gap explains is the capture's, unexplained, not upstream.
	proven bool
	// byAck says that at, the frame the piece's fate is told on, is the
	// acknowledgement that revealed the loss.
	byAck bool
	at    uint64 // global index of the frame that revealed the loss
	flow  uint64 // the flow's id
	// after (RTP) holds the frames of the stream's packets with smaller
	// sequence numbers that arrived inside the bracket: those after the
	// gap that explains the piece arrived late behind its packets.
	after []uint64
	// ms is the mirror session of a piece of missing mirror frames
	// (mirror.go), nil for a flow's; acct is then nil.
	ms *mirrorSession
}

// recGap is a recorded gap with the capacity it has left for explaining.
type recGap struct {
	frame uint64 // global frame index of the frame after the gap
	// lost is the frames lost in the gap, and gapShared once the
	// estimator has given them out (share): a piece that takes capacity
	// from it later is explained by it, but the frames no longer count
	// in its flow's est_lost. A flag bit, not a field: the gaps of 4 Mi
	// frames are kept, and a field would make each 8 bytes larger.
	lost uint64
	left uint64 // of them, not yet assigned to a piece
}

// gapShared marks recGap.lost of a gap the estimator has given out. A
// gap's frames are far below it (join refuses counts beyond 2^48).
const gapShared = 1 << 63

// frames returns the frames lost in the gap.
func (g *recGap) frames() uint64 { return g.lost &^ gapShared }

// shared reports whether the estimator has given out the gap's frames.
func (g *recGap) shared() bool { return g.lost&gapShared != 0 }

// explainer assigns the frames of recorded gaps to capture-loss pieces,
// capacity-limited, earliest deadline first (docs/metrics.md).
type explainer struct {
	gaps []recGap
	// nextCap is a union-find over gaps: following it from i leads to the
	// first gap at or after i with capacity left. It has one more entry
	// than gaps, a sentinel that points at itself.
	nextCap []int32
	pending []piece
	round   uint64 // numbers the rounds of resolve, from 1
	// late holds the frames of RTP packets counted late behind packets a
	// gap explains, so that a packet behind two missing runs counts once.
	late map[uint64]bool
	// claims holds, by the global frame after a gap, the frames of it
	// assigned to each flow's capture-lost TCP data, until the estimator
	// shares the gap out (estimator.distribute) and takes them.
	claims map[uint64][]gapClaim
	// onFate, if set, receives the fate of every piece (Config.OnFate).
	onFate func(Fate)
}

// gapClaim is frames of a gap that a flow's evidence claimed.
type gapClaim struct {
	a *acct
	n uint64
}

func (x *explainer) addGap(frame, lost uint64) {
	if len(x.nextCap) == 0 {
		x.nextCap = append(x.nextCap, 0)
	}
	lost = min(lost, gapShared-1)
	// The sentinel's slot becomes the new gap's, which has capacity, so
	// exhausted gaps that pointed at the sentinel now lead to it.
	x.gaps = append(x.gaps, recGap{frame: frame, lost: lost, left: lost})
	x.nextCap = append(x.nextCap, int32(len(x.gaps)))
}

// add queues p and returns its index and round, for merge.
func (x *explainer) add(p piece) (int, uint64) {
	x.pending = append(x.pending, p)
	return len(x.pending) - 1, x.round
}

// merge adds bytes and segments to a piece still waiting (queued in the
// current round) without asking for more frames. It reports false when
// the piece has already been resolved.
func (x *explainer) merge(idx int, round, bytes, segs uint64) bool {
	if round == 0 || round != x.round || idx >= len(x.pending) {
		return false
	}
	x.pending[idx].bytes += bytes
	x.pending[idx].segs += segs
	return true
}

// share returns the capacity the explanation left of the gap recorded at
// global frame at (0 if it is no longer kept), which the estimator now
// gives out, and marks the gap shared.
func (x *explainer) share(at uint64) float64 {
	i := sort.Search(len(x.gaps), func(i int) bool { return x.gaps[i].frame >= at })
	if i < len(x.gaps) && x.gaps[i].frame == at {
		x.gaps[i].lost |= gapShared
		return float64(x.gaps[i].left)
	}
	return 0
}

// lostIn returns the frames lost in the recorded gaps in (lo, hi].
func (x *explainer) lostIn(lo, hi uint64) uint64 {
	var n uint64
	for i := sort.Search(len(x.gaps), func(i int) bool { return x.gaps[i].frame > lo }); i < len(x.gaps) && x.gaps[i].frame <= hi; i++ {
		n += x.gaps[i].frames()
	}
	return n
}

func (x *explainer) find(i int32) int32 {
	for x.nextCap[i] != i {
		x.nextCap[i] = x.nextCap[x.nextCap[i]]
		i = x.nextCap[i]
	}
	return i
}

// resolve explains every pending piece and books the result in its flow.
// now is the current global frame index, used to forget old gaps.
func (x *explainer) resolve(now uint64) {
	// Earliest deadline first: pieces in order of the end of their
	// bracket (then the narrower first), each taking the earliest gap
	// capacity inside its bracket. For points with capacities and
	// intervals with demands this greedy explains as many lost frames as
	// any assignment can (docs/metrics.md).
	slices.SortStableFunc(x.pending, func(a, b piece) int {
		switch {
		case a.hi < b.hi:
			return -1
		case a.hi > b.hi:
			return 1
		case a.lo > b.lo:
			return -1
		case a.lo < b.lo:
			return 1
		}
		return 0
	})
	n := int32(len(x.gaps))
	if len(x.nextCap) == 0 {
		x.nextCap = append(x.nextCap, 0)
	}
	for k := range x.pending {
		p := &x.pending[k]
		var taken, first, firstLost uint64
		i := int32(sort.Search(len(x.gaps), func(i int) bool { return x.gaps[i].frame > p.lo }))
		if p.shadow {
			for ; taken < p.demand && int(i) < len(x.gaps) && x.gaps[i].frame <= p.hi; i++ {
				if first == 0 {
					first, firstLost = x.gaps[i].frame, x.gaps[i].frames()
				}
				taken = min(p.demand, taken+x.gaps[i].frames())
			}
			x.book(p, taken, first, firstLost)
			continue
		}
		for taken < p.demand && i < n {
			i = x.find(i)
			if i >= n || x.gaps[i].frame > p.hi {
				break
			}
			g := &x.gaps[i]
			t := min(g.left, p.demand-taken)
			if first == 0 && t > 0 {
				first, firstLost = g.frame, g.frames()
			}
			g.left -= t
			taken += t
			// The frames a flow's own evidence claims are its estimated
			// loss too, unless the estimator has already given them
			// out: each lost frame counts once.
			if t > 0 && !g.shared() && p.acct != nil {
				p.acct.c().EstLost += float64(t)
				if p.kind == EvidenceTCP {
					x.claim(g.frame, p.acct, t)
				}
			}
			if g.left == 0 {
				x.nextCap[i] = i + 1
			}
		}
		x.book(p, taken, first, firstLost)
		if first != 0 {
			for _, f := range p.after {
				// Two missing runs of a stream can both have a packet
				// arrive behind them: it is late once.
				if f >= first && !x.late[f] {
					if x.late == nil {
						x.late = map[uint64]bool{}
					}
					x.late[f] = true
					p.acct.c().RTPLate++
				}
			}
		}
	}
	x.pending = x.pending[:0]
	x.round++
	x.trim(now)
}

// claim records that flow a's evidence took n frames of the gap before
// global frame at.
func (x *explainer) claim(at uint64, a *acct, n uint64) {
	if x.claims == nil {
		x.claims = map[uint64][]gapClaim{}
	}
	cs := x.claims[at]
	for i := range cs {
		if cs[i].a == a {
			cs[i].n += n
			return
		}
	}
	x.claims[at] = append(cs, gapClaim{a: a, n: n})
}

// takeClaims returns the claims on the gap before global frame at and
// forgets them.
func (x *explainer) takeClaims(at uint64) []gapClaim {
	cs, ok := x.claims[at]
	if ok {
		delete(x.claims, at)
	}
	return cs
}

// dropClaims forgets the claims on gaps up to global frame at: the
// estimator has shared those gaps out.
func (x *explainer) dropClaims(at uint64) {
	for k := range x.claims {
		if k <= at {
			delete(x.claims, k)
		}
	}
}

// book records how much of piece p the gaps explained: taken frames, the
// first of them in the gap before global frame gap, of gapLost frames.
func (x *explainer) book(p *piece, taken, gap, gapLost uint64) {
	if p.ms != nil {
		bookMirror(p, taken)
		if x.onFate != nil {
			x.bookFates(p, taken, 0, 0, gap, gapLost)
		}
		return
	}
	a := p.acct
	switch p.kind {
	case EvidenceTCP:
	case EvidenceRTP:
		a.c().RTPLostCapture += taken
		a.c().RTPLostUpstream += p.demand - taken
		if x.onFate != nil {
			x.bookFates(p, taken, 0, 0, gap, gapLost)
		}
		return
	default:
		got, all := p.packets(taken)
		bookSeq(p, got, all)
		if x.onFate != nil {
			x.bookFates(p, taken, 0, 0, gap, gapLost)
		}
		return
	}
	eb, es := p.bytes, p.segs
	if taken < p.demand {
		eb = p.bytes * taken / p.demand
		es = p.segs * taken / p.demand
	}
	a.c().CaptureExplainedBytes += eb
	a.c().CaptureExplainedSegments += es
	a.c().CaptureUnexplainedBytes += p.bytes - eb
	a.c().CaptureUnexplainedSegments += p.segs - es
	if x.onFate != nil {
		x.bookFates(p, taken, eb, es, gap, gapLost)
	}
}

// trim forgets gaps older than gapRetention frames.
func (x *explainer) trim(now uint64) {
	// A packet counted late arrived within a bracket of the pieces
	// resolved so far; none reaches back further than the gaps kept.
	for f := range x.late {
		if f+gapRetention < now {
			delete(x.late, f)
		}
	}
	if now < gapRetention || len(x.gaps) == 0 || x.gaps[0].frame >= now-gapRetention {
		return
	}
	cut := sort.Search(len(x.gaps), func(i int) bool { return x.gaps[i].frame >= now-gapRetention })
	// Rebuild the union-find over what is left.
	x.gaps = append(x.gaps[:0], x.gaps[cut:]...)
	x.nextCap = x.nextCap[:len(x.gaps)+1]
	for i := range x.nextCap {
		x.nextCap[i] = int32(i)
		if i < len(x.gaps) && x.gaps[i].left == 0 {
			x.nextCap[i] = int32(i + 1)
		}
	}
}
