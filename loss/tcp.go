package loss

import (
	"github.com/gapan/gapan/decode"
)

// maxHoles bounds the open holes kept per TCP direction; when a direction
// has more, its oldest hole is given up as unknown. A capture that misses
// most of a fast flow's frames keeps many holes open at once (one per
// window's worth of missing runs), so the bound is generous; holes are kept
// sorted by sequence number and allocated only when a flow has one.
const maxHoles = 256

// maxSeqJump is the largest jump in sequence space taken as real; larger
// jumps (garbage, or a sequence number from another connection) are
// ignored rather than counted as loss.
const maxSeqJump = 1 << 30

// reorderWindowNs is the timing fallback of the reordering rule: a hole
// filled within this time of its discovery, with no IP ID or timestamp
// evidence, is taken as reordering (Wireshark's 3 ms out-of-order
// threshold).
const reorderWindowNs = 3_000_000

// dupWindowNs is how close in time two identical segments must be to count
// as an exact duplicate (a mirror port's copy) rather than a retransmission.
const dupWindowNs = 200_000_000

// hole is a range of one direction's sequence space that the capture has
// not seen, with the frames that bracket where it should have been.
type hole struct {
	start, end int64  // [start, end) in unwrapped sequence numbers
	lo, hi     uint64 // bracket: after global frame lo, up to and including hi
	at         uint64 // the global frame that revealed the hole, which its fate is told on
	detectNs   int64  // when the hole was discovered
	charged    int64  // bytes of the hole already counted as capture loss
	piece      int    // index of the hole's last capture-loss piece in its round
	round      uint64 // explanation round of that piece (0: none)
	// gapFrames is what is left of the frames lost in the recorded gaps
	// of the hole's exact bracket (after the direction's last frame
	// before the hole, up to the frame that revealed it): each
	// retransmission filling the hole that one of them may have carried
	// the original of is ambiguous, and takes one.
	gapFrames uint64
	ipID      uint16 // IP ID of the segment that revealed the hole
	tsVal     uint32 // TSval of the segment that revealed the hole
	hasIPID   bool
	hasTS     bool
	// acked marks data acknowledged before the capture saw it (beyond
	// the highest sequence number seen): capture loss, unless the data
	// still arrives as the original (a mirror port that delivers the two
	// directions out of order). Its ipID is the direction's last ID
	// before the acknowledgement, tsVal the acknowledgement's TSecr, hi
	// the acknowledging frame. It is counted when the direction moves on
	// (settleAcked).
	acked bool
}

// segSig identifies a segment for exact-duplicate detection, but for its
// sequence number, kept apart in tcpDir.recentSeq: only a segment whose
// sequence number repeats a recent one reads the rest.
type segSig struct {
	ack, tsVal uint32
	length     int32
	ipID       uint16
	flags      decode.TCPFlags
	ns         int64
}

// tcpDir is the sequence-space state of one direction of a TCP flow.
// With tens of thousands of live flows each frame's accounting waits on
// cache misses on this state, and with a million its size is the run's
// memory, so it is small (192 bytes, three cache lines) and ordered by
// use: the first 64 bytes are what the peer's acknowledgements and every
// segment of this direction read; of the duplicate ring a segment that
// repeats no recent sequence number only writes one entry.
type tcpDir struct {
	next    int64 // end of the highest sequence number seen
	lastAbs int64 // unwrapped sequence number of the latest segment taken (lastRaw)
	acked   int64 // highest cumulative ACK the peer sent for this direction
	// avgPay is the mean payload of the direction's data segments that
	// advanced its highest sequence number, in 1/16 bytes, a moving
	// average over about the last 32: the unit in which missing bytes are
	// counted as segments.
	avgPay uint32
	_      uint32
	// hp holds the open holes, sorted; nil until the direction has one.
	hp *[]hole

	lastRaw uint32
	isn     uint32
	maxPay  int32
	winMax  int32 // largest receive window this side advertised, in bytes (at most 65535<<14)
	// ipIDSeq is the evidence that IP IDs increase per segment: >0
	// sequential (kept within -16..16).
	ipIDSeq int8
	// rings holds the positions of the two rings: bits 0-2 the pushes
	// into tops so far (topN), bits 3-4 the next entry of the
	// duplicate ring; bit 5 (ringKeepAlive) says the direction's sequence
	// base comes from a segment without data that may have been a
	// keep-alive (one below the sender's next sequence number); bit 6
	// (ringProbe) that the last advancing segment was a zero-window probe.
	rings    uint8
	ws       uint8 // the SYN's window scale shift count
	bits     dirBits
	lastIPID uint16 // latest non-zero IPv4 ID (0: none yet)
	mss      uint16

	recentSeq [4]uint32 // sequence numbers of the duplicate ring, recent
	// tops holds the last frames that advanced the highest sequence number
	// (ring, newest at topN-1), as offsets from the flow's first frame
	// (acct.firstFrame); a flow that outlives 2^32 frames keeps them in
	// Engine.bigTops instead (bitBigTops). Data beyond the highest
	// sequence number was sent after the frame that first carried it; but
	// the latest such frame may be a retransmission of data lost upstream
	// that merely looks new, so brackets start at the oldest of the last
	// few.
	tops   [bracketDepth]uint32
	recent [4]segSig // the last segments, for exact-duplicate detection
}

// dirBits are a tcpDir's flags.
type dirBits uint8

const (
	bitInit    dirBits = 1 << iota // the direction has a sequence base
	bitAckSeen                     // acked holds an acknowledgement
	bitSynSeen                     // this side sent a SYN (isn holds it)
	bitAckFlag                     // this side has sent a segment with the ACK flag
	bitWSOpt                       // the SYN carried a window scale option
	bitWindow0                     // the last segment advertised a zero window
	bitTSO                         // segments larger than an Ethernet MTU with a sender's TTL: captured on the sending host
	bitBigTops                     // tops are kept in Engine.bigTops
)

func (d *tcpDir) is(b dirBits) bool { return d.bits&b != 0 }

func (d *tcpDir) set(b dirBits, v bool) {
	if v {
		d.bits |= b
	} else {
		d.bits &^= b
	}
}

// topN is the number of pushes into tops so far, saturating: it stays
// within 4..7 once it has reached bracketDepth, so that whether it
// reached bracketDepth and its value mod bracketDepth, all that is used
// of it, are those of the true count.
func (d *tcpDir) topN() uint8 { return d.rings & 7 }

func (d *tcpDir) incTopN() {
	n := d.rings&7 + 1
	if n == 2*bracketDepth {
		n = bracketDepth
	}
	d.rings = d.rings&^7 | n
}

// ringKeepAlive is the bit of tcpDir.rings that says the direction's
// first segment was a segment without data, possibly a keep-alive: the
// sender's next sequence number may be one above what it showed.
const ringKeepAlive = 1 << 5

// ringProbe is the bit of tcpDir.rings that says the segment that last
// advanced the highest sequence number was a zero-window probe: one byte
// sent while the peer advertised a zero window, which the receiver
// usually drops and the sender sends again with the data that follows
// once the window opens.
const ringProbe = 1 << 6

// ringAcked is the bit of tcpDir.rings that says the direction has holes
// marked acked (hole.acked) waiting to be settled.
const ringAcked = 1 << 7

// keepAliveBase reports whether the direction's base may be a keep-alive's
// and x, the start of a segment or an acknowledgement, is one above it:
// then x is the sender's real next sequence number, and nothing was
// missed. It clears the possibility either way once the base is used.
func (d *tcpDir) keepAliveBase(x int64) bool {
	if d.rings&ringKeepAlive == 0 {
		return false
	}
	d.rings &^= ringKeepAlive
	return x == d.next+1
}

// recentN is the duplicate ring's next entry.
func (d *tcpDir) recentN() uint8 { return d.rings >> 3 & 3 }

func (d *tcpDir) incRecentN() { d.rings = d.rings&^(3<<3) | (d.recentN()+1)&3<<3 }

// nHoles is the number of open holes.
func (d *tcpDir) nHoles() int {
	if d.hp == nil {
		return 0
	}
	return len(*d.hp)
}

// unknownScale is the window scale assumed for a flow whose handshake was
// not captured: it bounds how far an acknowledgement may plausibly run
// ahead of the data seen (docs/metrics.md).
const unknownScale = 10

// scale returns the window scale shift of this side's window field.
func (d *tcpDir) scale(peer *tcpDir) uint8 {
	switch {
	case d.is(bitSynSeen) && peer.is(bitSynSeen):
		if d.is(bitWSOpt) && peer.is(bitWSOpt) {
			return d.ws
		}
		return 0
	case d.is(bitSynSeen) && !d.is(bitWSOpt):
		return 0
	}
	return unknownScale
}

// bracketDepth is how many of the latest frames that advanced the highest
// sequence number a bracket reaches back over (docs/metrics.md).
const bracketDepth = 4

// pushTop records global frame gi as the latest that
// advanced the highest sequence number of d, a direction of a.
func (e *Engine) pushTop(a *acct, d *tcpDir, gi uint64) {
	if off := gi - a.firstFrame; off>>32 == 0 && d.bits&bitBigTops == 0 {
		d.tops[d.topN()%bracketDepth] = uint32(off)
	} else {
		e.pushBigTop(a, d, gi)
	}
	d.incTopN()
}

// pushBigTop is pushTop's fallback for a flow that outlived 2^32 frames.
func (e *Engine) pushBigTop(a *acct, d *tcpDir, gi uint64) {
	if !d.is(bitBigTops) {
		// Keep the flow's frame numbers whole from now on.
		big := new([bracketDepth]uint64)
		for i, t := range d.tops {
			big[i] = a.firstFrame + uint64(t)
		}
		if e.bigTops == nil {
			e.bigTops = make(map[*tcpDir]*[bracketDepth]uint64)
		}
		e.bigTops[d] = big
		d.set(bitBigTops, true)
	}
	e.bigTops[d][d.topN()%bracketDepth] = gi
}

// plausibleAhead is how far beyond base, the lower of the highest
// sequence number seen of d and the peer's latest acknowledgement of it,
// an acknowledgement (or SACK block) sent by acker may reach at global
// frame gi: what the sender can have sent that the capture did not show.
// A sender keeps at most the receiver's window in flight beyond what the
// receiver acknowledged, so one window (the acker's largest, at least
// 64 KiB); the capture may have missed the acknowledgements that let the
// sender move on, and the data they acknowledged, but not more of them
// than the data it did show of the direction, or than the frames the
// recorded gaps since the direction last advanced can have carried. An
// acknowledgement beyond all three acknowledges data nobody sent
// (docs/metrics.md, gopacket-cip.pcap frame 6889).
func (e *Engine) plausibleAhead(a *acct, d, acker *tcpDir, base, ack int64, gi uint64) bool {
	win := max(int64(acker.winMax), 65535) + 1
	shown := max(d.next-1<<32, 0)
	if ack <= base+win+shown {
		return true
	}
	lost := e.exp.lostIn(e.lastTop(a, d), gi)
	return ack <= base+win+shown+int64(lost)*int64(d.framePayload())
}

// bracketStart is the frame after which data beyond the highest sequence
// number seen of d, a direction of a, was sent.
func (e *Engine) bracketStart(a *acct, d *tcpDir) uint64 {
	n := d.topN()
	if n == 0 {
		return 0
	}
	i := n % bracketDepth
	if n < bracketDepth {
		i = 0
	}
	if d.is(bitBigTops) {
		return e.bigTops[d][i]
	}
	return a.firstFrame + uint64(d.tops[i])
}

// lastTop is the latest frame that advanced the highest sequence number
// of d, a direction of a (0: none): the last frame of d before data
// beyond it.
func (e *Engine) lastTop(a *acct, d *tcpDir) uint64 {
	n := d.topN()
	if n == 0 {
		return 0
	}
	i := (n - 1) % bracketDepth
	if d.is(bitBigTops) {
		return e.bigTops[d][i]
	}
	return a.firstFrame + uint64(d.tops[i])
}

// abs unwraps a 32-bit sequence number near the direction's last one.
func (d *tcpDir) abs(raw uint32) int64 {
	return d.lastAbs + int64(int32(raw-d.lastRaw))
}

func (d *tcpDir) segSize() int {
	if d.mss > 0 {
		return int(d.mss)
	}
	return 1460
}

// avgPayShift sets the weight of the newest segment in tcpDir.avgPay:
// 1/8, so that the mean follows the sizes of the segments around a loss
// (a bulk transfer after a handshake of small records).
const avgPayShift = 3

// notePayload folds the payload of a data segment that advanced the
// highest sequence number into d.avgPay.
func (d *tcpDir) notePayload(payLen int) {
	x := uint32(payLen) << 4
	if d.avgPay == 0 {
		// The prior: the MSS, until the direction has shown its sizes.
		d.avgPay = uint32(d.segSize()) << 4
	}
	d.avgPay = uint32(int64(d.avgPay) + (int64(x)-int64(d.avgPay))>>avgPayShift)
}

// segments estimates how many segments carried the bytes [charged,
// charged+n) of a range of missing data that starts a run (the bytes
// before charged were counted already): the run's bytes divided by the
// mean payload the direction showed (the MSS, at most, when it has shown
// none), rounded, at least one for the run. Counting by the MSS
// undercounts when segments are smaller: on loopback the MSS is 65,476.
func (d *tcpDir) segments(charged, n int64) uint64 {
	unit := int64(d.avgPay)
	if unit < 16 {
		unit = int64(d.segSize()) << 4
	}
	count := func(b int64) uint64 {
		if b <= 0 {
			return 0
		}
		return max(uint64((b<<4+unit/2)/unit), 1)
	}
	// No fewer than the frames the bytes need at the largest payload.
	fp := d.framePayload()
	return max(count(charged+n), ceilDiv(charged+n, fp)) - max(count(charged), ceilDiv(charged, fp))
}

// framePayload is the most data a frame of this direction can carry: the
// unit in which a gap's lost frames can explain missing bytes.
func (d *tcpDir) framePayload() int {
	return max(int(d.maxPay), d.segSize())
}

func ceilDiv(a int64, b int) uint64 {
	if b <= 0 {
		b = 1
	}
	return uint64((a + int64(b) - 1) / int64(b))
}

// initialTTL reports whether ttl is one that senders start with (64:
// Linux, macOS; 128: Windows; 255: network gear; 32: old Windows). A frame
// with a smaller TTL (or IPv6 hop limit) crossed routers: the capture is
// not on its sending host, so a frame larger than the MTU is a receiver's
// GRO merge, not TSO.
func initialTTL(ttl uint8) bool {
	return ttl == 64 || ttl == 128 || ttl == 255 || ttl == 32
}

// tcpSegment accounts one TCP segment sent in direction dir of flow a, in
// four phases: what the segment shows of its sender (observe; an exact
// duplicate stops there), its acknowledgement of the peer's data
// (segmentAck), its window (noteWindow), and its place in the direction's
// sequence space (sequenceBase, then advance).
func (e *Engine) tcpSegment(a *acct, dir int, p *decode.Packet, gi uint64, ns int64) {
	d := &a.st.d[dir]
	peer := &a.st.d[1-dir]
	payLen := max(p.PayloadLen, 0)
	seqLen := d.seqLen(&p.TCP, payLen)
	if !e.observe(a, d, p, payLen, ns) {
		return
	}
	if t := &p.TCP; t.Flags&decode.TCPAck != 0 && t.Flags&decode.TCPRst == 0 {
		e.segmentAck(a, d, peer, p, gi, ns)
	}
	d.noteWindow(peer, &p.TCP)
	if e.sequenceBase(a, d, peer, &p.TCP, seqLen, gi) {
		e.advance(a, d, peer, p, payLen, seqLen, gi, ns)
	}
}

// seqLen returns the sequence space a segment of payLen bytes with header
// t takes (SYN and FIN take one each), and notes the MSS a SYN announces.
func (d *tcpDir) seqLen(t *decode.TCP, payLen int) int64 {
	n := int64(payLen)
	if t.Flags&decode.TCPSyn != 0 {
		n++
		if t.Opts&decode.OptMSS != 0 && t.MSS > 0 {
			d.mss = t.MSS
		}
	}
	if t.Flags&decode.TCPFin != 0 {
		n++
	}
	return n
}

// observe records what segment p shows of its sender, direction d of a:
// the duplicate ring, the IPv4 ID counter, the largest payload and TSO. It
// reports false for an exact duplicate (a mirror port's second copy),
// which changes nothing else.
func (e *Engine) observe(a *acct, d *tcpDir, p *decode.Packet, payLen int, ns int64) bool {
	t := &p.TCP
	length := int32(payLen)
	if d.is(bitInit) && e.isDuplicate(d, p, length, ns) {
		a.c().Duplicates++
		return false
	}
	// The ring's entry is written field by field: a segSig built apart
	// and copied in is read back in 16-byte loads from its narrower
	// stores, which cannot be forwarded from the store buffer and wait
	// for every older store, misses included, to be written.
	n := d.recentN()
	d.recentSeq[n] = t.Seq
	r := &d.recent[n]
	r.ack, r.tsVal, r.length, r.ipID, r.flags, r.ns = t.Ack, t.TSVal, length, uint16(p.IPID), t.Flags, ns
	d.incRecentN()

	// An IPv4 ID of 0 says nothing about the sender's counter: Linux
	// sends 0 with DF set on SYN/ACKs (and on other segments of sockets
	// that do not count), so it is skipped, not taken as a step.
	e.prevIPID = d.lastIPID
	if p.IPVersion == 4 && p.IPID != 0 {
		if d.lastIPID != 0 { // 0: no ID seen yet
			delta := uint16(p.IPID) - d.lastIPID
			if delta > 0 && delta < 64 {
				if d.ipIDSeq < 16 {
					d.ipIDSeq++
				}
			} else if d.ipIDSeq > -16 {
				d.ipIDSeq--
			}
		}
		d.lastIPID = uint16(p.IPID)
	}
	if payLen > int(d.maxPay) {
		d.maxPay = int32(payLen)
	}
	if p.IPLen > 1500 && initialTTL(p.TTL) {
		d.set(bitTSO, true)
	}
	return true
}

// segmentAck applies the acknowledgement of segment p, sent in direction
// d, to the other direction, peer.
func (e *Engine) segmentAck(a *acct, d, peer *tcpDir, p *decode.Packet, gi uint64, ns int64) {
	t := &p.TCP
	// While the peer's SYN is unanswered (the peer has sent nothing
	// with an ACK yet, so it has not seen a SYN/ACK), an ACK from this
	// side that is not a SYN/ACK answers nothing the peer sent (a
	// stray or challenge ACK, RFC 5961): it must not count as loss.
	// A recorded gap since the SYN may hold the SYN/ACK and the
	// peer's ACK: then the ACK is taken. So is one that acknowledges
	// the SYN and at most 64 KiB beyond it (the most a SYN/ACK's
	// unscaled window lets the peer send before it hears back): the
	// capture missed the handshake's end and what followed, while a
	// challenge ACK carries the old connection's number, unrelated to
	// this SYN's.
	if !(peer.is(bitSynSeen) && !peer.is(bitAckFlag) && !d.is(bitSynSeen) && t.Flags&decode.TCPSyn == 0) ||
		e.exp.lostIn(e.lastTop(a, peer), gi) > 0 || peer.is(bitInit) && inRange(peer.abs(t.Ack)-peer.next, 0, synAckWindow) {
		e.tcpAck(a, peer, d, p, gi, ns)
	} else if peer.is(bitInit) && peer.abs(t.Ack) != peer.next {
		a.c().ImplausibleAcks++
	}
}

// noteWindow records the window a segment with header t advertises for
// direction d (its zero-window flag, its largest window) and whether d
// has sent an ACK.
func (d *tcpDir) noteWindow(peer *tcpDir, t *decode.TCP) {
	d.set(bitWindow0, t.Window == 0 && t.Flags&(decode.TCPSyn|decode.TCPRst) == 0)
	if t.Flags&decode.TCPAck != 0 {
		d.set(bitAckFlag, true)
	}
	if t.Flags&decode.TCPRst == 0 {
		win := int64(t.Window)
		if t.Flags&decode.TCPSyn != 0 {
			d.set(bitWSOpt, t.Opts&decode.OptWindowScale != 0)
			d.ws = min(t.WindowScale, 14)
		} else {
			win <<= d.scale(peer)
		}
		d.winMax = int32(max(int64(d.winMax), win))
	}
}

// sequenceBase sets the sequence base of d, a direction of a, from a SYN
// or its first segment. It reports whether the segment's sequence number
// is to be placed in the direction's sequence space (advance): not for
// the segment that set the base, nor for a reset.
func (e *Engine) sequenceBase(a *acct, d, peer *tcpDir, t *decode.TCP, seqLen int64, gi uint64) bool {
	// A SYN sets the direction's sequence base: whatever was seen before
	// with another base (a stray ACK, a previous connection) is forgotten.
	if t.Flags&decode.TCPSyn != 0 && t.Flags&decode.TCPRst == 0 && (!d.is(bitSynSeen) || d.isn != t.Seq) {
		if d.is(bitInit) {
			a.c().SeqRebases++
		}
		d.set(bitInit|bitAckSeen, false)
		if d.hp != nil {
			*d.hp = (*d.hp)[:0]
		}
		d.set(bitSynSeen, true)
		d.isn = t.Seq
	}
	if !d.is(bitInit) {
		d.set(bitInit, true)
		d.lastRaw = t.Seq
		d.lastAbs = 1 << 32
		d.next = d.lastAbs + seqLen
		// Not after the peer's SYN: then the segment completes (or
		// follows) the handshake and its sequence number is the next.
		if seqLen == 0 && t.Flags&decode.TCPRst == 0 && !peer.is(bitSynSeen) {
			d.rings |= ringKeepAlive
		}
		e.pushTop(a, d, gi)
		return false
	}
	// A reset's sequence number says nothing reliable about data.
	return t.Flags&decode.TCPRst == 0
}

// advance places segment p, of payLen bytes taking seqLen of sequence
// space, in direction d of a: a jump beyond the highest sequence number
// seen opens a hole, data below it fills holes or repeats data
// (tcpResend), and data beyond it moves it on.
func (e *Engine) advance(a *acct, d, peer *tcpDir, p *decode.Packet, payLen int, seqLen int64, gi uint64, ns int64) {
	t := &p.TCP
	s := d.abs(t.Seq)
	if s-d.next > maxSeqJump || d.next-s > maxSeqJump {
		return
	}
	d.lastRaw, d.lastAbs = t.Seq, s
	end := s + seqLen

	// Keep-alive: one byte (or none) just below what was sent.
	if seqLen <= 1 && s == d.next-1 && t.Flags&(decode.TCPSyn|decode.TCPFin) == 0 {
		return
	}
	// A segment at or above the acknowledged holes, even a pure ACK
	// (its sequence number is the sender's next), was sent after them:
	// they are not coming late, and are capture loss now (in the
	// explanation round of the acknowledgement, not at the flow's end).
	if d.rings&ringAcked != 0 && s >= d.next {
		e.settleAcked(a, d)
	}
	if s > d.next && d.keepAliveBase(s) {
		d.next = s // the first segment was a keep-alive: nothing missed
	}
	if s > d.next {
		a.c().HoleEvents++
		e.addHole(a, d, hole{start: d.next, end: s, lo: e.bracketStart(a, d), hi: gi, at: gi, detectNs: ns,
			gapFrames: e.exp.lostIn(e.lastTop(a, d), gi),
			ipID:      uint16(p.IPID), hasIPID: p.IPVersion == 4 && p.IPID != 0 && d.ipIDSeq > 0,
			tsVal: t.TSVal, hasTS: t.Opts&decode.OptTimestamps != 0})
		d.next = s
	}
	if s < d.next && seqLen > 0 {
		e.tcpResend(a, d, peer, p, s, min(end, d.next), gi, ns)
	}
	if end >= d.next {
		if end > d.next {
			if payLen > 0 {
				d.notePayload(payLen)
			}
			d.rings &^= ringKeepAlive | ringProbe
			if payLen == 1 && seqLen == 1 && peer.is(bitWindow0) {
				d.rings |= ringProbe
			}
		}
		d.next = end
		e.pushTop(a, d, gi)
	}
}

func inRange(v, lo, hi int64) bool { return v >= lo && v <= hi }

// synAckWindow is the largest window a SYN/ACK can offer: its window
// field is never scaled (RFC 7323, section 2.2).
const synAckWindow = 65535

// isDuplicate reports whether p, with length bytes of payload seen at ns,
// repeats a recent segment exactly: same sequence, acknowledgement, length
// and flags, and the same IPv4 ID (or, without one, the same TCP
// timestamp), within dupWindowNs.
func (e *Engine) isDuplicate(d *tcpDir, p *decode.Packet, length int32, ns int64) bool {
	t := &p.TCP
	hasTS := t.Opts&decode.OptTimestamps != 0
	ipID := uint16(p.IPID)
	for i := range d.recent {
		if d.recentSeq[i] != t.Seq {
			continue
		}
		r := &d.recent[i]
		if r.ns == 0 || r.length != length || r.ack != t.Ack || r.flags != t.Flags {
			continue
		}
		if ns-r.ns > dupWindowNs || ns < r.ns {
			continue
		}
		if p.IPVersion == 4 && ipID != 0 {
			if r.ipID == ipID {
				return true
			}
			continue
		}
		// Without an IP ID only data can be told apart: a repeated pure
		// ACK with the same timestamp is a duplicate ACK, not a copy.
		if hasTS && r.tsVal == t.TSVal && length > 0 {
			return true
		}
	}
	return false
}

// addHole records a new hole, giving up the oldest one when there are too
// many.
func (e *Engine) addHole(a *acct, d *tcpDir, h hole) {
	if d.hp == nil {
		d.hp = new([]hole)
	}
	hs := *d.hp
	if len(hs) >= maxHoles {
		old := hs[0]
		if old.acked {
			e.captureLost(a, d, old.start, old.end, &old, old.hi)
		} else {
			e.unknown(a, d, old.end-old.start, old.at)
		}
		copy(hs, hs[1:])
		hs = hs[:len(hs)-1]
	}
	*d.hp = append(hs, h)
}

// cutHole removes [lo, hi) from hole i of d and returns the index to
// continue from. When widenTo is not 0, what remains of the hole gets its
// bracket widened to end at global frame widenTo.
func (e *Engine) cutHole(a *acct, d *tcpDir, i int, lo, hi int64, widenTo uint64) int {
	hs := *d.hp
	h := &hs[i]
	if widenTo > h.hi {
		h.hi = widenTo
	}
	switch {
	case lo <= h.start && hi >= h.end:
		*d.hp = append(hs[:i], hs[i+1:]...)
		return i - 1
	case lo <= h.start:
		h.start = hi
	case hi >= h.end:
		h.end = lo
	default:
		right := *h
		right.start, right.charged, right.round = hi, 0, 0
		h.end = lo
		if len(hs) >= maxHoles {
			e.unknown(a, d, right.end-right.start, right.at)
			return i
		}
		hs = append(hs, hole{})
		copy(hs[i+2:], hs[i+1:])
		hs[i+1] = right
		*d.hp = hs
		return i + 1
	}
	return i
}

// isRetransmission applies the reordering rule (docs/metrics.md) to a
// segment that fills hole h: newer IP ID, then newer TCP timestamp, than
// the segment that revealed the hole means a retransmission; older means
// the original arriving late. Without evidence, timing decides.
func isRetransmission(h *hole, p *decode.Packet, d *tcpDir, ns int64) bool {
	if h.hasIPID && p.IPVersion == 4 && p.IPID != 0 && d.ipIDSeq > 0 {
		delta := uint16(p.IPID) - h.ipID
		if delta != 0 {
			return delta < 0x8000
		}
	}
	if h.hasTS && p.TCP.Opts&decode.OptTimestamps != 0 {
		if diff := int32(p.TCP.TSVal - h.tsVal); diff != 0 {
			return diff > 0
		}
	}
	return ns-h.detectNs >= reorderWindowNs
}

// lateOriginal reports whether p, carrying data of the acked hole h of
// d, is the original arriving after its acknowledgement (a mirror port
// that delays one direction), not a resend. With TCP timestamps: its
// TSval is at most the TSecr of the acknowledgement (the receiver echoes
// the TSval of the data it acknowledges; a resend is sent after that, a
// tail-loss probe or a timeout later, with a later TSval). Otherwise, when
// the direction's IPv4 IDs count, its ID is among the next few after the
// direction's previous segment (prev); without either, it arrives within
// 3 ms of the acknowledgement.
func lateOriginal(h *hole, d *tcpDir, p *decode.Packet, prev uint16, ns int64) bool {
	if h.hasTS && p.TCP.Opts&decode.OptTimestamps != 0 {
		return int32(p.TCP.TSVal-h.tsVal) <= 0
	}
	if h.hasIPID && d.ipIDSeq > 0 && p.IPVersion == 4 && p.IPID != 0 && prev != 0 {
		delta := uint16(p.IPID) - prev
		return delta >= 1 && delta <= 16
	}
	return ns-h.detectNs < reorderWindowNs
}

// settleAcked counts the acked holes of d (hole.acked) that no segment
// filled as capture loss: the direction moved on without sending them.
func (e *Engine) settleAcked(a *acct, d *tcpDir) {
	d.rings &^= ringAcked
	for i := 0; i < d.nHoles(); i++ {
		h := &(*d.hp)[i]
		if !h.acked {
			continue
		}
		e.captureLost(a, d, h.start, h.end, h, h.hi)
		*d.hp = append((*d.hp)[:i], (*d.hp)[i+1:]...)
		i--
	}
}

// tcpResend handles the part [s, e) of a segment that lies below the
// highest sequence number seen: it fills holes (upstream loss, ambiguous,
// or reordering) or repeats data already seen (downstream loss or a
// spurious retransmission).
func (e *Engine) tcpResend(a *acct, d, peer *tcpDir, p *decode.Packet, s, end int64, gi uint64, ns int64) {
	covered := end - s
	isRetx, isReorder := false, false
	for i := 0; i < d.nHoles(); i++ {
		h := &(*d.hp)[i]
		lo, hi := max(s, h.start), min(end, h.end)
		if lo >= hi {
			continue
		}
		n := hi - lo
		covered -= n
		if h.acked {
			// Data acknowledged before the capture saw it: the original
			// arriving after its acknowledgement, or a resend of data the
			// receiver had (the capture missed the original).
			if lateOriginal(h, d, p, e.prevIPID, ns) {
				i = e.cutHole(a, d, i, lo, hi, 0)
				continue
			}
			isRetx = true
			a.c().SpuriousRetransmissions++
			e.captureLost(a, d, lo, hi, h, h.hi)
			e.fate(Fate{Frame: gi, Kind: FateSpurious, Resend: true, Bytes: uint64(n), Segments: 1, Ref: h.at})
			i = e.cutHole(a, d, i, lo, hi, 0)
			continue
		}
		if isRetransmission(h, p, d, ns) {
			isRetx = true
			kind := FateUpstream
			if d.is(bitTSO) || h.gapFrames > 0 {
				if h.gapFrames > 0 {
					h.gapFrames--
				}
				kind = FateAmbiguous
				a.c().AmbiguousSegments++
				a.c().AmbiguousBytes += uint64(n)
			} else {
				a.c().UpstreamLostSegments++
				a.c().UpstreamLostBytes += uint64(n)
			}
			e.fate(Fate{Frame: h.at, Kind: kind, Bytes: uint64(n), Segments: 1, Ref: gi})
			e.fate(Fate{Frame: gi, Kind: kind, Resend: true, Bytes: uint64(n), Segments: 1, Ref: h.at})
		} else {
			isReorder = true
			a.c().ReorderedBytes += uint64(n)
		}
		// What is left of the hole may have been sent as late as this
		// segment: widen its bracket to here.
		i = e.cutHole(a, d, i, lo, hi, gi)
	}
	if isReorder && !isRetx {
		a.c().Reordered++
	}
	if covered > 0 && !isRetx && !isReorder {
		// Data the capture already saw, sent again. (A segment that also
		// fills a hole is one repacketized retransmission: the seen bytes
		// it repeats are how the sender cut it, not another loss.)
		zeroWindowProbe := peer.is(bitWindow0) && end-s <= 1
		// The byte of the last zero-window probe, sent again with the
		// data after it once the window opened: the receiver had dropped
		// the probe, nothing was lost.
		probeResent := d.rings&ringProbe != 0 && s == d.next-1 && covered == 1
		if !zeroWindowProbe && !probeResent {
			isRetx = true
			if d.is(bitAckSeen) && end <= d.acked {
				a.c().SpuriousRetransmissions++
				e.fate(Fate{Frame: gi, Kind: FateSpurious, Resend: true, Bytes: uint64(covered), Segments: 1})
			} else {
				a.c().DownstreamLostSegments++
				a.c().DownstreamLostBytes += uint64(covered)
				e.fate(Fate{Frame: gi, Kind: FateDownstream, Bytes: uint64(covered), Segments: 1})
			}
		}
	}
	if isRetx {
		a.c().Retransmission++
	}
}

// tcpAck applies an acknowledgement (cumulative and SACK) sent by the peer
// of direction d: holes it covers were received although the capture never
// saw them (capture loss), and acknowledged data above the highest sequence
// number seen is capture loss too (Wireshark's ack_lost_segment).
func (e *Engine) tcpAck(a *acct, d, acker *tcpDir, p *decode.Packet, gi uint64, ns int64) {
	if !d.is(bitInit) {
		return
	}
	t := &p.TCP
	ack := d.abs(t.Ack)
	if ack-d.next > maxSeqJump || d.next-ack > maxSeqJump {
		a.c().ImplausibleAcks++
		return
	}
	// The sender cannot have sent more than the acker's window beyond
	// what was acknowledged: an ACK further ahead acknowledges nothing
	// real (a forged or foreign segment) and is ignored.
	base := d.next
	if d.is(bitAckSeen) && d.acked < base {
		base = d.acked
	}
	if ack > base && !e.plausibleAhead(a, d, acker, base, ack, gi) {
		a.c().ImplausibleAcks++
		return
	}
	if ack > d.next && d.keepAliveBase(ack) {
		d.next = ack // the first segment was a keep-alive: nothing missed
	}
	e.ackTSecr, e.ackHasTS = t.TSEcr, t.Opts&decode.OptTimestamps != 0 && t.TSEcr != 0
	if !d.is(bitAckSeen) || ack > d.acked {
		d.acked = ack
		d.set(bitAckSeen, true)
	}
	e.receivedUpTo(a, d, d.acked, gi, ns)
	if t.Opts&decode.OptSACK == 0 {
		return
	}
	for i := 0; i < int(t.SACKCount) && i < len(t.SACK); i++ {
		l, r := d.abs(t.SACK[i].Left), d.abs(t.SACK[i].Right)
		if r <= l || r <= d.acked || d.next-l > maxSeqJump || r > base && !e.plausibleAhead(a, d, acker, base, r, gi) {
			continue // D-SACK, stale or nonsense
		}
		e.received(a, d, l, r, gi, ns)
	}
}

// ackTail is the latest run of data acknowledged beyond the highest
// sequence number seen of a direction, as one hole: acknowledgements that
// each take a piece of it (one mid-segment, the next at its end) need
// together only the frames the whole run would, and count the segments
// the whole would.
type ackTail struct {
	end int64 // where the run ends: the next piece continues it if it starts here
	h   hole
}

// tail returns the hole that accounts for acknowledged data beyond the
// highest sequence number seen of d, a direction of a: the run so far when
// it ends at d.next, else a new one.
func (e *Engine) tail(a *acct, d *tcpDir, gi uint64) *hole {
	x := a.extra()
	if x.tails == nil {
		x.tails = new([2]ackTail)
	}
	t := a.tailOf(d)
	if t.end != d.next || t.h.lo == 0 && t.h.charged == 0 {
		t.h = hole{lo: e.bracketStart(a, d), at: gi, acked: true}
	}
	return &t.h
}

// tailOf returns the acknowledged run of d, a direction of a, whose
// tails exist.
func (a *acct) tailOf(d *tcpDir) *ackTail {
	if d == &a.st.d[1] {
		return &a.x.tails[1]
	}
	return &a.x.tails[0]
}

// tailTo records that the acknowledged run of d now ends at end.
func (a *acct) tailTo(d *tcpDir, end int64) { a.tailOf(d).end = end }

// receivedUpTo is received for a cumulative acknowledgement.
func (e *Engine) receivedUpTo(a *acct, d *tcpDir, ack int64, gi uint64, ns int64) {
	for i := 0; i < d.nHoles(); i++ {
		h := &(*d.hp)[i]
		if h.start >= ack {
			break // holes are sorted: none further is acknowledged
		}
		if h.acked {
			continue
		}
		hi := min(h.end, ack)
		e.captureLost(a, d, h.start, hi, h, gi)
		if hi == h.end {
			*d.hp = append((*d.hp)[:i], (*d.hp)[i+1:]...)
			i--
		} else {
			h.start = hi
		}
	}
	if ack > d.next {
		a.c().AckLostEvents++
		if n := d.nHoles(); n > 0 && (*d.hp)[n-1].acked && (*d.hp)[n-1].end == d.next {
			h := &(*d.hp)[n-1]
			h.end, h.hi = ack, gi // the same run, acknowledged further
			h.tsVal, h.hasTS = e.ackTSecr, e.ackHasTS
		} else {
			e.addHole(a, d, hole{start: d.next, end: ack, lo: e.bracketStart(a, d), hi: gi, at: gi, detectNs: ns, acked: true,
				ipID: d.lastIPID, hasIPID: d.lastIPID != 0 && d.ipIDSeq > 0, tsVal: e.ackTSecr, hasTS: e.ackHasTS})
		}
		d.rings |= ringAcked
		d.next = ack
	}
}

// received marks [l, r) as received by the peer (a SACK block).
func (e *Engine) received(a *acct, d *tcpDir, l, r int64, gi uint64, ns int64) {
	for i := 0; i < d.nHoles(); i++ {
		h := &(*d.hp)[i]
		lo, hi := max(l, h.start), min(r, h.end)
		if lo >= hi || h.acked {
			continue
		}
		e.captureLost(a, d, lo, hi, h, gi)
		i = e.cutHole(a, d, i, lo, hi, 0)
	}
	if r > d.next {
		a.c().AckLostEvents++
		if l > d.next {
			a.c().HoleEvents++
			e.addHole(a, d, hole{start: d.next, end: l, lo: e.bracketStart(a, d), hi: gi, at: gi, detectNs: ns,
				gapFrames: e.exp.lostIn(e.lastTop(a, d), gi)})
			e.captureLost(a, d, l, r, &hole{lo: e.bracketStart(a, d), at: gi, acked: true}, gi)
		} else {
			e.captureLost(a, d, d.next, r, e.tail(a, d, gi), gi)
			a.tailTo(d, r)
		}
		d.next = r
	}
}

// captureLost counts [s, end) of direction d as capture loss and queues it
// for explanation by the recorded gaps after h's start of bracket and up
// to global frame ack, the frame whose acknowledgement shows the receiver
// had the data (it passed the tap somewhere in between). Pieces of one hole
// taken in several steps (a SACK, then the cumulative ACK) together need
// only the frames the whole would: h.charged remembers what was taken.
func (e *Engine) captureLost(a *acct, d *tcpDir, s, end int64, h *hole, ack uint64) {
	n := end - s
	if n <= 0 {
		return
	}
	segs := d.segments(h.charged, n)
	a.c().CaptureLostBytes += uint64(n)
	a.c().CaptureLostSegments += segs
	fp := d.framePayload()
	demand := ceilDiv(h.charged+n, fp) - ceilDiv(h.charged, fp)
	h.charged += n
	if demand == 0 {
		// Fits in the frames already asked for by this hole's earlier
		// piece: merge into it while it waits, else ask for one frame.
		if e.exp.merge(h.piece, h.round, uint64(n), segs) {
			return
		}
		demand = 1
	}
	h.piece, h.round = e.exp.add(piece{acct: a, lo: h.lo, hi: ack, demand: demand, bytes: uint64(n), segs: segs,
		at: h.at, byAck: h.acked, flow: e.fateFlow})
}

// tcpEnd gives up the holes still open in st when flow a ends: unknown,
// but for data acknowledged before the capture saw it: capture loss.
func (e *Engine) tcpEnd(a *acct, st *tcpState) {
	for i := range st.d {
		d := &st.d[i]
		if d.hp == nil {
			continue
		}
		for k := range *d.hp {
			if h := &(*d.hp)[k]; h.acked {
				e.captureLost(a, d, h.start, h.end, h, h.hi)
			} else {
				e.unknown(a, d, h.end-h.start, h.at)
			}
		}
		d.hp = nil
		d.rings &^= ringAcked
	}
}
