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

// RTPHeadLen is how many bytes of a UDP datagram's payload the RTP
// accounting reads (the fixed RTP header): a caller of AddDecoded that
// reuses frame buffers keeps at least these bytes of the payload.
const RTPHeadLen = 12

type rtpDir struct {
	started   bool
	confirmed bool
	ssrc      uint32
	lastSeq   uint16
	run       uint16 // consecutive packets fitting the stream before confirmation
	lastFrm   uint64
}

// rtpPacket accounts one UDP datagram of direction dir as a possible RTP
// packet.
func (e *Engine) rtpPacket(a *acct, dir int, p *decode.Packet, gi uint64) {
	b := p.Payload
	d := &a.rtp[dir]
	if len(b) < RTPHeadLen || b[0]>>6 != 2 {
		d.started, d.confirmed, d.run = false, false, 0
		return
	}
	if pt := b[1] & 0x7f; pt >= 72 && pt <= 76 {
		return // RTCP sharing the port (RFC 5761): not the stream's packets
	}
	ssrc := binary.BigEndian.Uint32(b[8:12])
	seq := binary.BigEndian.Uint16(b[2:4])
	if !d.started || ssrc != d.ssrc {
		*d = rtpDir{started: true, ssrc: ssrc, lastSeq: seq, run: 1, lastFrm: gi}
		return
	}
	step := seq - d.lastSeq
	switch {
	case step == 0:
		a.Duplicates++
		return
	case step >= 0x8000:
		if d.confirmed {
			a.RTPLate++
			a.RTPPackets++
		}
		return
	case step > rtpMaxStep:
		*d = rtpDir{started: true, ssrc: ssrc, lastSeq: seq, run: 1, lastFrm: gi}
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
			a.isRTP = true
			a.RTPPackets += uint64(d.run)
		}
	} else {
		a.RTPPackets++
		if step > 1 {
			e.exp.add(piece{acct: a, lo: d.lastFrm, hi: gi, demand: uint64(step - 1), rtp: true})
		}
	}
	d.lastSeq = seq
	d.lastFrm = gi
}
