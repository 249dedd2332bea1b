package oracle

import "sort"

// inf is above every unwrapped sequence number.
const inf = ^uint64(0)

// tcpSide is the byte-level state of one direction of a TCP flow (data
// sent by that side, acknowledgements by the other).
type tcpSide struct {
	ref    uint64 // latest unwrapped sequence number of this side's segments
	hasRef bool

	firstOrig, firstDmg       uint64 // first sequence number, original / surviving frames
	hasFirstOrig, hasFirstDmg bool
	firstDmgEmpty             bool // the first surviving segment carries no sequence number
	// secondDmg is the sequence number of the second surviving segment.
	secondDmg    uint64
	hasSecondDmg bool

	carriedAll, carriedDmg    set // sequence numbers carried (so far) by any / a surviving frame
	ackOrig, ackDmg           set // covered (so far) by an acknowledgement in any / a surviving frame
	ackFirstOrig, ackFirstDmg set // acknowledged before any / any surviving frame carried them
	seenDmg                   set // carried by a surviving frame so far
	delUnseen                 set // carried by a deleted frame, not by an earlier surviving one
	delSegs                   []span

	// The original's own holes.
	origHi  uint64
	origHas bool
	prevNum uint64 // number of the side's latest frame so far
	holes   []*hole
}

type hole struct {
	rest  set // not filled yet
	first uint64
	last  uint64 // revealing frame
	fills []uint64
}

// unwrap maps a 32-bit sequence number of this side to 64 bits, near the
// side's latest one. Only the side's own segments move the reference (an
// acknowledgement may be garbage).
func (x *tcpSide) unwrap(v uint32, move bool) uint64 {
	if !x.hasRef {
		x.hasRef = true
		x.ref = 1<<40 + uint64(v)
		return x.ref
	}
	u := uint64(int64(x.ref) + int64(int32(v-uint32(x.ref))))
	if move {
		x.ref = u
	}
	return u
}

// tcpTruth computes the byte-level truth of the TCP flow made of frames m
// (indexes, in capture order) of the original capture.
func tcpTruth(fr []frame, m []int, del func(int) bool, deletedNums []uint64) *TCP {
	t := &TCP{}
	var sides [2]tcpSide
	for _, i := range m {
		f := &fr[i]
		if !f.tcp {
			continue
		}
		s := f.side()
		x, y := &sides[s], &sides[1-s]
		gone := del(i)
		if f.flags&fRST == 0 {
			lo := x.unwrap(f.seq, true)
			n := uint64(f.plen)
			if f.flags&fSYN != 0 {
				n++
			}
			if f.flags&fFIN != 0 {
				n++
			}
			hi := lo + n
			if !x.hasFirstOrig {
				x.hasFirstOrig, x.firstOrig = true, lo
			}
			x.carriedAll.add(lo, hi)
			x.trackHoles(f.num, lo, hi)
			if !gone {
				if !x.hasFirstDmg {
					x.hasFirstDmg, x.firstDmg, x.firstDmgEmpty = true, lo, n == 0
				} else if !x.hasSecondDmg {
					x.hasSecondDmg, x.secondDmg = true, lo
				}
				x.carriedDmg.add(lo, hi)
				x.seenDmg.add(lo, hi)
			} else if n > 0 {
				for _, sp := range (set{{lo, hi}}).minus(x.seenDmg) {
					x.delUnseen.add(sp.lo, sp.hi)
				}
				x.delSegs = append(x.delSegs, span{lo, hi})
			}
			if gone && (f.plen > 0 || f.flags&fFIN != 0) {
				t.DeletedData = true
			}
		}
		x.prevNum = f.num
		if f.flags&fACK != 0 && y.hasRef {
			acked := set{{0, y.unwrap(f.ack, false)}}
			for _, b := range f.sack {
				acked.add(y.unwrap(b[0], false), y.unwrap(b[1], false))
			}
			for _, sp := range acked.minus(y.ackOrig).minus(y.carriedAll) {
				y.ackFirstOrig.add(sp.lo, sp.hi)
			}
			if !gone {
				for _, sp := range acked.minus(y.ackDmg).minus(y.carriedDmg) {
					y.ackFirstDmg.add(sp.lo, sp.hi)
				}
			}
			for _, sp := range acked {
				y.ackOrig.add(sp.lo, sp.hi)
				if !gone {
					y.ackDmg.add(sp.lo, sp.hi)
				}
			}
		}
	}
	for s := range sides {
		x := &sides[s]
		if !x.hasFirstOrig {
			continue
		}
		first := inf
		if x.hasFirstDmg {
			first = x.firstDmg
		}
		var top uint64 // the highest sequence number any frame carries, plus one
		if n := len(x.carriedAll); n > 0 {
			top = x.carriedAll[n-1].hi
		}
		// Sequence numbers the original shows before any acknowledgement
		// of them, and the damaged capture only after one (or never):
		// the deletions took every copy the capture had before the
		// receiver said it had them.
		lost := x.carriedAll.minus(x.ackFirstOrig).intersect(x.ackFirstDmg).clip(first, inf)
		t.CaptureLostBytes += lost.size()
		// Sequence numbers the original itself shows only after their
		// acknowledgement: the capture missed them and saw a resend, or
		// the tap saw the directions out of order (issue 15, error 4).
		// Count what the deletions change only where both readings agree.
		af := x.carriedAll.intersect(x.ackFirstOrig).clip(x.firstOrig, inf)
		asLoss := int64(af.intersect(x.ackFirstDmg).clip(first, inf).size()) - int64(af.size())
		asReorder := int64(af.intersect(x.ackDmg.minus(x.carriedDmg)).clip(first, inf).size())
		if asLoss == asReorder {
			t.AckFirstDelta += asLoss
		} else {
			t.AckFirstChanged = true
		}
		segs := map[span]bool{}
		for _, sp := range x.delSegs {
			if lost.overlaps(sp.lo, sp.hi) {
				segs[sp] = true
			}
		}
		t.CaptureLostSegments += uint64(len(segs))
		t.OwnLostBytesOrig += x.ackOrig.minus(x.carriedAll).clip(x.firstOrig, top).size()
		t.OwnLostBytesDamaged += x.ackDmg.minus(x.carriedAll).clip(first, top).size()
		bo, bd := x.ackOrig.clip(max(top, x.firstOrig), inf), x.ackDmg.clip(max(top, first), inf)
		if !equal(bo, bd) {
			t.BeyondChanged = true
		}
		t.ReCarriedBytes += x.delUnseen.intersect(x.carriedDmg).minus(x.ackFirstDmg).clip(first, inf).size()
		t.UndetectableBytes += x.delUnseen.clip(0, first).size()
		t.UnknownBytes += x.delUnseen.minus(x.carriedDmg).minus(x.ackDmg).clip(first, inf).size()
		// A second surviving segment starting one above the first shows
		// the first was a keep-alive.
		revealed := x.hasSecondDmg && x.secondDmg == first+1
		if x.firstDmgEmpty && !revealed && !x.carriedAll.overlaps(first, first+1) && x.ackDmg.overlaps(first, first+1) {
			t.KeepAliveBytes++
		}
		for _, h := range x.holes {
			if len(h.fills) == 0 {
				continue
			}
			b := Bracket{First: h.first, Last: h.last}
			for _, n := range h.fills[:len(h.fills)-1] {
				b.Last = max(b.Last, n)
			}
			t.Holes = append(t.Holes, b)
			k := sort.Search(len(deletedNums), func(j int) bool { return deletedNums[j] >= b.First })
			if k < len(deletedNums) && deletedNums[k] <= b.Last {
				t.BracketHit = true
			}
		}
	}
	return t
}

// trackHoles follows the original capture's own holes of this side: a
// segment starting above the highest sequence number seen opens one (its
// bracket starts after the side's previous frame and ends at this one);
// later segments that carry part of it fill it.
func (x *tcpSide) trackHoles(num, lo, hi uint64) {
	for _, h := range x.holes {
		if len(h.rest) > 0 && h.rest.overlaps(lo, hi) {
			h.fills = append(h.fills, num)
			h.rest = h.rest.minus(set{{lo, hi}})
		}
	}
	if x.origHas && lo > x.origHi {
		x.holes = append(x.holes, &hole{rest: set{{x.origHi, lo}}, first: x.prevNum + 1, last: num})
	}
	if !x.origHas || hi > x.origHi {
		x.origHi, x.origHas = hi, true
	}
}

func equal(a, b set) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
