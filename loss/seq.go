package loss

import (
	"github.com/gapan/gapan/decode"
)

// This file is the framework of the sequence families: protocols that
// number their packets in the clear (ESP, GTP-U, ICMP echo, ...). The
// decoder puts a packet's number in decode.Packet.Seq; the engine keeps,
// per flow and out of line (acctExtra.seq), a seqStream per (family,
// direction, stream id) and tracks it here, the same way for every
// family: duplicates, late packets that fill a missing number, restarts
// (a jump forward beyond the family's maxStep, or back beyond its reorder
// window onto no missing number), and runs of missing
// numbers, which once the stream has moved reorder numbers past them
// become pieces for the explainer (explain.go): inside a recorded gap
// (capacity-limited) they are capture loss, the rest loss before the
// capture point (or the family's own outside kind). A family adds its
// decoding (decode/seq.go), an Evidence, an entry in seqFamilies, and
// its counters (a struct embedded in Counters, with a name prefix of its
// own) in a file of its own: esp.go is the model. docs/metrics.md
// describes each family's counters.

// Evidence says which kind of sequence evidence a run of missing data
// comes from: TCP bytes, RTP packets, or the packets of a sequence
// family. Each family adds its value before evidenceCount.
type Evidence uint8

// The kinds of evidence.
const (
	EvidenceTCP Evidence = iota
	EvidenceRTP
	EvidenceESP
	EvidenceGTPU
	EvidenceICMP
	// EvidenceMirror: a mirror session's GRE sequence numbers (ERSPAN,
	// sequenced GRE; mirror.go), numbering frames of many flows.
	EvidenceMirror
	EvidenceMP2T
	evidenceCount
)

// evidenceNames are the evidence's names (the machine's, and what a
// packet is called in words).
var evidenceNames = [evidenceCount]struct{ name, packet string }{
	EvidenceTCP:    {"tcp", "TCP segment"},
	EvidenceRTP:    {"rtp", "RTP packet"},
	EvidenceESP:    {"esp", "ESP packet"},
	EvidenceGTPU:   {"gtpu", "GTP-U packet"},
	EvidenceICMP:   {"icmp", "ICMP echo packet"},
	EvidenceMirror: {"mirror", "mirrored frame"},
	EvidenceMP2T:   {"mp2t", "MPEG-TS packet"},
}

// String returns the evidence's name: tcp, rtp, esp, gtpu, icmp, mirror,
// mp2t.
func (v Evidence) String() string {
	if v < evidenceCount {
		return evidenceNames[v].name
	}
	return "invalid"
}

// PacketName returns what one packet of the evidence is called in words
// ("RTP packet", "ESP packet").
func (v Evidence) PacketName() string {
	if v < evidenceCount {
		return evidenceNames[v].packet
	}
	return "packet"
}

// Packets reports whether the evidence counts packets (every kind but
// TCP, which counts bytes and segments): a Fate's Segments are then
// packets and its Bytes 0.
func (v Evidence) Packets() bool { return v != EvidenceTCP }

// seqFamily describes a family of sequence numbers.
type seqFamily struct {
	evidence Evidence
	// bits is the width of the numbers (up to 32): steps are taken
	// modulo 2^bits, so that a counter that wraps continues its stream.
	bits uint8
	// maxStep is the largest forward step within a stream; a larger
	// one, or a step back beyond the reorder window that fills no
	// missing number, starts a new stream (a restart: a new SA, a
	// restarted sender).
	maxStep uint32
	// reorder is how many numbers a stream may move past a missing one
	// before it counts as lost: a packet arriving late within that
	// window fills its place.
	reorder uint32
	// counts returns the family's counters in c.
	counts func(c *Counters) seqCounts
	// outside is the fate of missing packets that no recorded gap
	// explains: FateUpstream unless the family says otherwise.
	outside FateKind
	// label names the family in words ("ESP"), prefix in its counters'
	// names ("esp"); outsideName and outsideWords name its lostOutside
	// counter ("lost_upstream", "lost upstream").
	label, prefix, outsideName, outsideWords string
	// extra, if set, returns the family's counters beyond seqCounts'.
	extra func(c *Counters) []SeqFigure
	// lowerBound says the family's numbers cannot show every missing
	// packet (MPEG-TS: 15 per jump at most): its lost counts are "at
	// least" in words.
	lowerBound bool
	// subFlags are the bits of decode.SeqNum.Flags that split a
	// stream id's packets into streams of their own (ICMP echo:
	// requests and replies).
	subFlags uint8
	// after, if set, is called after each packet of the family, with
	// number num, has moved its stream s (got says how; prev is the
	// stream's latest frame before it): what the family knows beyond
	// the numbers (ICMP echo pairs requests and replies).
	after func(e *Engine, a *acct, s *seqStream, got seqArrival, num uint32, prev, gi uint64)
	// unexplained, if set, is the family's counter of packets the
	// evidence proves passed the capture point (piece.proven) but no
	// recorded gap holds: lost by the capture, unexplained.
	unexplained func(c *Counters) *uint64
	// end, if set, is called for each of a flow's streams of the
	// family when the flow ends, before its missing numbers settle.
	end func(a *acct, s *seqStream)
	// byteSwap says some senders count in little-endian on the wire
	// (16-bit numbers stepping by 256: old ping implementations): a
	// stream whose second number is so found counts its numbers
	// byte-swapped (seqStream.order).
	byteSwap bool
}

// SeqFigure is one counter of a sequence family, as the outputs that
// list the families' figures show it.
type SeqFigure struct {
	// Name is the counter's JSON name (esp_lost_capture), Label the
	// words for it (ESP lost in capture).
	Name, Label string
	N           uint64
}

// SeqFigures returns the counters of each sequence family that counted
// packets in c, family by family in the order of docs/metrics.md: what
// the report lists under the sequence evidence.
func (c *Counters) SeqFigures() [][]SeqFigure {
	var out [][]SeqFigure
	for _, f := range seqFamilies {
		if f == nil {
			continue
		}
		cs := f.counts(c)
		if *cs.packets == 0 {
			continue
		}
		fig := func(name, words string, n uint64) SeqFigure {
			return SeqFigure{Name: f.prefix + "_" + name, Label: f.label + " " + words, N: n}
		}
		atLeast := ""
		if f.lowerBound {
			atLeast = " (at least)"
		}
		fs := []SeqFigure{
			fig("packets", "packets", *cs.packets),
			fig("lost_capture", "lost in capture"+atLeast, *cs.lostCapture),
			fig(f.outsideName, f.outsideWords+atLeast, *cs.lostOutside),
		}
		if cs.late != nil {
			fs = append(fs, fig("late", "late", *cs.late))
		}
		fs = append(fs, fig("duplicates", "duplicates", *cs.dups), fig("restarts", "restarts", *cs.restarts))
		if f.extra != nil {
			fs = append(fs, f.extra(c)...)
		}
		out = append(out, fs)
	}
	return out
}

// seqCounts points at a family's counters in one Counters.
type seqCounts struct {
	// packets counts the packets with a number; lostCapture the missing
	// ones a recorded gap explains, lostOutside the others; late those
	// that arrived behind a later one; dups repeated numbers; restarts
	// the streams that started again. late is nil for a family whose
	// numbers cannot tell a late packet (MPEG-TS's 4-bit counters).
	packets, lostCapture, lostOutside, late, dups, restarts *uint64
}

// seqFamilies are the families by decode.SeqKind.
var seqFamilies = [decode.SeqKinds]*seqFamily{
	decode.SeqESP:      &espFamily,
	decode.SeqGTPU:     &gtpuFamily,
	decode.SeqICMPEcho: &icmpFamily,
	decode.SeqMP2T:     &mp2tFamily,
}

// familyOf returns the family of evidence v (nil for TCP and RTP).
func familyOf(v Evidence) *seqFamily {
	for _, f := range seqFamilies {
		if f != nil && f.evidence == v {
			return f
		}
	}
	return nil
}

// SeqLost returns the packets the sequence families found missing in c:
// lost by the capture (in a recorded gap, or proven and unexplained) and
// before the capture point (or the family's own outside place), summed
// over the families. The flow lists show them beside RTP's.
func (c *Counters) SeqLost() (capture, outside uint64) {
	for _, f := range seqFamilies {
		if f != nil {
			cs := f.counts(c)
			capture += *cs.lostCapture
			outside += *cs.lostOutside
			if f.unexplained != nil {
				capture += *f.unexplained(c)
			}
		}
	}
	return capture, outside
}

// SeqPackets returns the packets of c that carried a sequence family's
// number.
func (c *Counters) SeqPackets() uint64 {
	var n uint64
	for _, f := range seqFamilies {
		if f != nil {
			n += *f.counts(c).packets
		}
	}
	return n
}

// maxSeqStreams bounds the streams a flow tracks: beyond it, the stream
// idle longest is settled and forgotten (a GTP-U flow between two
// gateways carries a TEID per bearer).
const maxSeqStreams = 1024

// seqKey identifies a stream within a flow.
type seqKey struct {
	id   uint32
	kind decode.SeqKind
	dir  uint8
	sub  uint8 // the family's own split (ICMP echo: request or reply)
}

// seqStreams are a flow's streams.
type seqStreams struct {
	list []seqStream
	// idx finds a stream in list once there are more than a few.
	idx map[seqKey]int32
}

// seqIndexAt is the number of streams from which a flow indexes them.
const seqIndexAt = 8

// seqStream is one numbered stream.
type seqStream struct {
	key     seqKey
	fam     *seqFamily
	last    uint32 // the highest number so far
	lastFrm uint64 // global frame of the packet that carried it
	missing []seqMiss
	// echo holds an ICMP echo request stream's latest requests (icmp.go).
	echo *echoRing
	// filled is the bracket start (lo) of the run the latest fill took
	// its number from.
	filled uint64
	// seen counts the stream's first packets, up to 2; swapped says
	// it counts in little-endian (seqFamily.byteSwap).
	seen    uint8
	swapped bool
}

// order returns the 16-bit number num as stream s counts it: byte-swapped
// in a stream that counts in little-endian, which its first packet with
// another number than the first decides (a step that is a small multiple
// of 256 whose byte-swapped step is 1 to 8). fresh says num is the
// stream's first.
func (s *seqStream) order(num uint32, fresh bool) uint32 {
	if fresh {
		s.seen = 1
		return num
	}
	if s.seen == 1 && uint16(num) != uint16(s.last) {
		s.seen = 2
		if uint16(num-s.last)&0xff == 0 {
			if step := swap16(num) - swap16(s.last); step >= 1 && step <= 8 {
				s.swapped = true
				s.last = swap16(s.last)
			}
		}
	}
	if s.swapped {
		return swap16(num)
	}
	return num
}

// swap16 returns the 16-bit number n with its bytes swapped.
func swap16(n uint32) uint32 { return uint32(uint16(n)<<8 | uint16(n)>>8) }

// seqMiss is a run of missing numbers [num, num+n) found between global
// frames lo and hi.
type seqMiss struct {
	num, n uint32
	lo, hi uint64
}

// stream returns the flow's stream k, and whether it is new (zeroed but
// for its key).
func (ss *seqStreams) stream(e *Engine, a *acct, k seqKey, fam *seqFamily) (*seqStream, bool) {
	if ss.idx != nil {
		if i, ok := ss.idx[k]; ok {
			return &ss.list[i], false
		}
	} else {
		for i := range ss.list {
			if ss.list[i].key == k {
				return &ss.list[i], false
			}
		}
	}
	if len(ss.list) >= maxSeqStreams {
		// Settle and reuse the stream whose latest packet is oldest.
		old := 0
		for i := range ss.list {
			if ss.list[i].lastFrm < ss.list[old].lastFrm {
				old = i
			}
		}
		s := &ss.list[old]
		if s.fam.end != nil {
			s.fam.end(a, s)
		}
		e.seqSettle(a, s, true)
		delete(ss.idx, s.key)
		*s = seqStream{key: k, fam: fam, missing: s.missing[:0]}
		ss.idx[k] = int32(old)
		return s, true
	}
	ss.list = append(ss.list, seqStream{key: k, fam: fam})
	if ss.idx != nil {
		ss.idx[k] = int32(len(ss.list) - 1)
	} else if len(ss.list) > seqIndexAt {
		ss.idx = make(map[seqKey]int32, 2*len(ss.list))
		for i := range ss.list {
			ss.idx[ss.list[i].key] = int32(i)
		}
	}
	return &ss.list[len(ss.list)-1], true
}

// seqPacket accounts a packet of direction dir that carries a number of
// a sequence family (p.Seq).
func (e *Engine) seqPacket(a *acct, dir int, p *decode.Packet, gi uint64) {
	fam := seqFamilies[p.Seq.Kind]
	if fam == nil {
		return
	}
	x := a.extra()
	if x.seq == nil {
		x.seq = new(seqStreams)
	}
	k := seqKey{id: p.Seq.Stream, kind: p.Seq.Kind, dir: uint8(dir), sub: p.Seq.Flags & fam.subFlags}
	s, fresh := x.seq.stream(e, a, k, fam)
	cs := fam.counts(&x.Counters)
	*cs.packets++
	prev := s.lastFrm
	num := p.Seq.Num
	if fam.byteSwap {
		num = s.order(num, fresh)
	}
	got := e.seqTrack(a, s, fam, cs, num, gi, fresh)
	if fam.after != nil {
		fam.after(e, a, s, got, p.Seq.Num, prev, gi)
	}
}

// seqArrival is what a number did to its stream.
type seqArrival uint8

const (
	seqFirst   seqArrival = iota // the stream's first number
	seqNext                      // ahead of the stream (missing numbers before it, maybe)
	seqLate                      // behind, filling a missing number
	seqDup                       // seen before
	seqRestart                   // the stream started over
)

// seqTrack moves stream s of family fam (whose counters are cs) by the
// number num, carried by global frame gi; fresh says s is new.
func (e *Engine) seqTrack(a *acct, s *seqStream, fam *seqFamily, cs seqCounts, num uint32, gi uint64, fresh bool) seqArrival {
	if fresh {
		s.last, s.lastFrm = num, gi
		return seqFirst
	}
	mask := uint32(1<<fam.bits - 1)
	step := (num - s.last) & mask
	back := (s.last - num) & mask
	switch {
	case step == 0:
		*cs.dups++
		return seqDup
	case back < step && s.fill(num, mask):
		// Behind the newest, in the place of a missing number: late.
		*cs.late++
		return seqLate
	case back < step && back <= fam.reorder:
		// Behind the newest, within the window, not missing: a number
		// seen before.
		*cs.dups++
		return seqDup
	case back < step || step > fam.maxStep:
		// Far behind (not a missing number) or far ahead: the sender
		// started over.
		*cs.restarts++
		e.seqSettle(a, s, true)
		s.last, s.lastFrm = num, gi
		return seqRestart
	}
	if step > 1 {
		s.missing = append(s.missing, seqMiss{num: (s.last + 1) & mask, n: step - 1, lo: s.lastFrm, hi: gi})
	}
	s.last, s.lastFrm = num, gi
	if len(s.missing) > 0 {
		e.seqSettleMask(a, s, false, fam, mask)
	}
	return seqNext
}

// fill removes num from the stream's missing runs and reports whether it
// was there.
func (s *seqStream) fill(num, mask uint32) bool {
	for i := range s.missing {
		m := &s.missing[i]
		off := (num - m.num) & mask
		if off >= m.n {
			continue
		}
		s.filled = m.lo
		switch {
		case m.n == 1:
			s.missing = append(s.missing[:i], s.missing[i+1:]...)
		case off == 0:
			m.num = (m.num + 1) & mask
			m.n--
		case off == m.n-1:
			m.n--
		default:
			right := seqMiss{num: (num + 1) & mask, n: m.n - off - 1, lo: m.lo, hi: m.hi}
			m.n = off
			s.missing = append(s.missing, seqMiss{})
			copy(s.missing[i+2:], s.missing[i+1:])
			s.missing[i+1] = right
		}
		return true
	}
	return false
}

// seqSettle turns the stream's missing runs that it has moved past by
// more than its family's reorder window (all of them when final) into
// pieces to explain.
func (e *Engine) seqSettle(a *acct, s *seqStream, final bool) {
	fam := s.fam
	e.seqSettleMask(a, s, final, fam, uint32(1<<fam.bits-1))
}

func (e *Engine) seqSettleMask(a *acct, s *seqStream, final bool, fam *seqFamily, mask uint32) {
	k := 0
	for ; k < len(s.missing); k++ {
		m := s.missing[k]
		if !final && (s.last-(m.num+m.n-1))&mask < fam.reorder {
			break
		}
		e.exp.add(piece{acct: a, lo: m.lo, hi: m.hi, demand: uint64(m.n), kind: fam.evidence, at: m.hi, flow: e.fateFlow})
	}
	s.missing = append(s.missing[:0], s.missing[k:]...)
}

// seqEnd settles every stream of a flow that ends.
func (e *Engine) seqEnd(a *acct) {
	if a.x == nil || a.x.seq == nil {
		return
	}
	for i := range a.x.seq.list {
		s := &a.x.seq.list[i]
		if s.fam.end != nil {
			s.fam.end(a, s)
		}
		e.seqSettle(a, s, true)
	}
}

// bookSeq books a family's piece p: got of its all packets the recorded
// gaps explained.
func bookSeq(p *piece, got, all uint64) {
	fam := familyOf(p.kind)
	c := p.acct.c()
	cs := fam.counts(c)
	*cs.lostCapture += got
	if p.proven {
		*fam.unexplained(c) += all - got
		return
	}
	*cs.lostOutside += all - got
}

// packets returns what the recorded gaps explained of a packet-counting
// piece p, of which they explained taken frames: got of its all
// packets. A piece's packets are its frames (demand), or, when they are
// not one a frame (MPEG-TS: up to 7 a datagram), its segs, in
// proportion to the frames explained.
func (p *piece) packets(taken uint64) (got, all uint64) {
	if p.segs == 0 {
		return taken, p.demand
	}
	if taken >= p.demand {
		return p.segs, p.segs
	}
	return p.segs * taken / p.demand, p.segs
}
