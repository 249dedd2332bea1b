package loss

import (
	"encoding/binary"

	"github.com/gapan/gapan/decode"
)

// rtpConfirm is how many consecutive packets with RTP version 2, the same
// SSRC and small sequence steps make a UDP direction an RTP stream (the
// spirit of Wireshark's rtp_udp heuristic, which tests version and payload
// type per packet; a steady SSRC over several packets is stricter).
const rtpConfirm = 4

// rtpMaxStep is the largest forward sequence step taken as loss within a
// stream; a larger one starts a new stream.
const rtpMaxStep = 3000

// rtpHeadLen is how many bytes of a UDP datagram's payload the RTP
// accounting reads (the fixed RTP header): a Batch keeps these bytes of
// the payload.
const rtpHeadLen = 12

// rtpReorder is how many sequence numbers a stream may advance past a
// missing packet before it counts as lost: a packet arriving late within
// that window fills its place (late, not lost), so that gapan's loss equals
// Wireshark's "expected minus received" for streams that reorder.
const rtpReorder = 64

type rtpDir struct {
	started   bool
	confirmed bool
	ssrc      uint32
	lastSeq   uint16
	run       uint16 // consecutive packets fitting the stream before confirmation
	lastFrm   uint64
	missing   []rtpMiss // missing sequence numbers still within the reorder window, oldest first
	// arrivals holds the frames of the stream's latest packets (ring,
	// newest at arrN-1), and maxLate the furthest a late packet has
	// arrived behind the newest (at most len(arrivals)-1): a stream that
	// reorders may have sent a packet found missing now before packets
	// that arrived ahead of it, so its bracket reaches back that far.
	arrivals [8]uint64
	arrSeq   [8]uint16 // their sequence numbers
	arrLate  uint8     // which of them arrived late (bit per entry)
	arrN     uint8
	maxLate  uint8
}

// arrived records global frame gi, with sequence number seq, as the
// stream's latest packet; late says it arrived behind a newer one.
func (d *rtpDir) arrived(gi uint64, seq uint16, late bool) {
	i := d.arrN % uint8(len(d.arrivals))
	d.arrivals[i], d.arrSeq[i] = gi, seq
	d.arrLate &^= 1 << i
	if late {
		d.arrLate |= 1 << i
	}
	d.arrN++
}

// behind fills m.after with the frames of the stream's latest packets
// that arrived after m.lo, in order, with sequence numbers below m's: if
// the capture lost m's packets in a gap before them, they arrived late
// behind those packets.
func (d *rtpDir) behind(m *rtpMiss) {
	for k := range min(int(d.arrN), len(d.arrivals)) {
		i := (int(d.arrN) - 1 - k) & (len(d.arrivals) - 1)
		if d.arrivals[i] > m.lo && d.arrLate&(1<<i) == 0 && int16(d.arrSeq[i]-m.seq) < 0 && int(m.nAfter) < len(m.after) {
			m.after[m.nAfter] = d.arrivals[i]
			m.nAfter++
		}
	}
}

// bracketStart is the frame after which packets found missing at the
// stream's next packet were sent: its previous packet, or for a stream
// that reorders, the packet maxLate+1 arrivals before that.
func (d *rtpDir) bracketStart() uint64 {
	back := int(d.maxLate)
	if back == 0 {
		return d.lastFrm
	}
	back++
	if back > int(d.arrN) {
		back = int(d.arrN)
	}
	if back >= len(d.arrivals) {
		back = len(d.arrivals) - 1
	}
	return d.arrivals[(int(d.arrN)-1-back)&(len(d.arrivals)-1)]
}

// rtpMiss is a run of missing sequence numbers [seq, seq+n) found between
// frames lo and hi.
type rtpMiss struct {
	seq    uint16
	n      uint16
	lo, hi uint64
	// after holds the frames of packets with smaller sequence numbers
	// that arrived in the bracket after lo (behind).
	after  [7]uint64
	nAfter uint8
}

// settle turns the missing runs that the stream has moved past by more
// than rtpReorder (all of them when final) into loss to explain.
func (e *Engine) rtpSettle(a *acct, d *rtpDir, final bool) {
	k := 0
	for ; k < len(d.missing); k++ {
		m := d.missing[k]
		if !final && d.lastSeq-(m.seq+m.n-1) < rtpReorder {
			break
		}
		pc := piece{acct: a, lo: m.lo, hi: m.hi, demand: uint64(m.n), kind: EvidenceRTP, at: m.hi, flow: e.fateFlow}
		if m.nAfter > 0 {
			pc.after = append([]uint64(nil), m.after[:m.nAfter]...)
		}
		e.exp.add(pc)
	}
	d.missing = append(d.missing[:0], d.missing[k:]...)
}

// rtpLate fills seq in the missing runs if it is there.
func (d *rtpDir) rtpLate(seq uint16) bool {
	for i := range d.missing {
		m := &d.missing[i]
		off := seq - m.seq
		if off >= m.n {
			continue
		}
		switch {
		case m.n == 1:
			d.missing = append(d.missing[:i], d.missing[i+1:]...)
		case off == 0:
			m.seq++
			m.n--
		case off == m.n-1:
			m.n--
		default:
			right := rtpMiss{seq: seq + 1, n: m.n - off - 1, lo: m.lo, hi: m.hi, after: m.after, nAfter: m.nAfter}
			m.n = off
			d.missing = append(d.missing, rtpMiss{})
			copy(d.missing[i+2:], d.missing[i+1:])
			d.missing[i+1] = right
		}
		return true
	}
	return false
}

// rtpEnd settles every missing run when a flow ends.
func (e *Engine) rtpEnd(a *acct) {
	if a.x == nil || a.x.rtp == nil {
		return
	}
	for i := range a.x.rtp {
		e.rtpSettle(a, &a.x.rtp[i], true)
	}
}

// rtpPacket accounts one UDP datagram of direction dir as a possible RTP
// packet.
func (e *Engine) rtpPacket(a *acct, dir int, p *decode.Packet, gi uint64) {
	b := p.Payload
	notRTP := len(b) < rtpHeadLen || b[0]>>6 != 2
	if a.x == nil || a.x.rtp == nil {
		if notRTP {
			return // no stream to reset: most UDP flows never get RTP state
		}
		a.extra().rtp = new([2]rtpDir)
	}
	x := a.x
	d := &x.rtp[dir]
	if notRTP {
		d.started, d.confirmed, d.run = false, false, 0
		return
	}
	if pt := b[1] & 0x7f; pt >= 72 && pt <= 76 {
		return // RTCP sharing the port (RFC 5761): not the stream's packets
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	seq := binary.BigEndian.Uint16(b[2:4])
	if !d.started || ssrc != d.ssrc {
		e.rtpSettle(a, d, true)
		*d = rtpDir{started: true, ssrc: ssrc, lastSeq: seq, run: 1, lastFrm: gi, missing: d.missing[:0]}
		return
	}
	step := seq - d.lastSeq
	switch {
	case step == 0:
		a.c().Duplicates++
		return
	case step >= 0x8000:
		if d.confirmed {
			a.c().RTPLate++
			a.c().RTPPackets++
			d.rtpLate(seq)
			d.maxLate = uint8(min(max(int(d.maxLate), int(d.lastSeq-seq)), len(d.arrivals)-2))
			d.arrived(gi, seq, true)
		}
		return
	case step > rtpMaxStep:
		e.rtpSettle(a, d, true)
		*d = rtpDir{started: true, ssrc: ssrc, lastSeq: seq, run: 1, lastFrm: gi, missing: d.missing[:0]}
		return
	}
	if !d.confirmed {
		if step > 100 {
			d.run = 1
		} else {
			d.run++
		}
		if d.run >= rtpConfirm {
			d.confirmed = true
			x.isRTP = true
			a.c().RTPPackets += uint64(d.run)
		}
	} else {
		a.c().RTPPackets++
		if step > 1 {
			m := rtpMiss{seq: d.lastSeq + 1, n: step - 1, lo: d.bracketStart(), hi: gi}
			if d.maxLate > 0 {
				d.behind(&m)
			}
			d.missing = append(d.missing, m)
		}
	}
	d.lastSeq = seq
	d.lastFrm = gi
	d.arrived(gi, seq, false)
	if len(d.missing) > 0 {
		e.rtpSettle(a, d, false)
	}
}
