package loss

import (
	"encoding/binary"
	"slices"

	"github.com/gapan/gapan/decode"
	"github.com/gopacket/gopacket/layers"
)

// MPEG transport stream (ISO/IEC 13818-1) over UDP, bare or after an RTP
// header (RFC 2250, payload type 33 or a dynamic one): each datagram
// carries whole 188-byte TS packets (7 in an Ethernet MTU), each with a
// 13-bit PID and a 4-bit continuity counter (CC) that counts, per PID,
// the packets that carry a payload. A step of the counter by more than
// one shows packets of that PID missing; since the counter has 16 values
// it shows at most 15 of them per discontinuity, so every count of
// missing TS packets is a lower bound (docs/metrics.md).

const (
	mp2tPacketLen = 188
	mp2tSync      = 0x47
	// mp2tMaxPackets is how many TS packets of a datagram the
	// accounting reads (7: an Ethernet MTU's worth, the common
	// payload of 1316 bytes). A datagram with more is read as far as
	// that and the PIDs' expectations start again after it.
	mp2tMaxPackets = 7
	// mp2tNullPID is the null packets' PID: their CC means nothing.
	mp2tNullPID = 0x1FFF
	// mp2tConfirm is how many datagrams in a row must look like a
	// transport stream (every packet's sync byte at its place) before
	// the direction's missing packets count: one datagram of 188 bytes
	// starting with 0x47 is too easily something else.
	mp2tConfirm = 4
	// mp2tMaxPIDs bounds the PIDs followed per direction: a multiplex
	// of a few programs has a few dozen; beyond that new PIDs are not
	// followed (their packets are counted, their CC not checked).
	mp2tMaxPIDs = 64
	// mp2tHold is how many of a direction's datagrams an open loss
	// episode waits, after its last evidence, for the evidence of the
	// PIDs that appear less often (PAT, PMT, audio) to join it before it
	// is handed to the explanation: their missing packets were mostly
	// in the same lost datagrams.
	mp2tHold = 256
)

// Bits of an mp2tHead entry: the TS header's low 24 bits (TEI, PUSI,
// priority, PID, scrambling, adaptation field control, CC) and the
// adaptation field's discontinuity_indicator.
const (
	mp2tCCMask   = 0x0F
	mp2tAFCShift = 4
	mp2tPIDShift = 8
	mp2tPIDMask  = 0x1FFF
	mp2tTEI      = 1 << 23
	mp2tDI       = 1 << 24
)

// Flags of an mp2tHead.
const (
	// mp2tPartial: the datagram holds TS packets whose headers were not
	// read (cut by the snap length, or more than mp2tMaxPackets): which
	// PIDs they belong to is unknown.
	mp2tPartial = 1 << iota
	// mp2tRTP: the packets follow an RTP header.
	mp2tRTP
)

// MP2TCounters are the figures of the MPEG-TS continuity counters over
// UDP or RTP, per PID and direction within a flow: mp2t_* in
// docs/metrics.md. The TS packets found missing are lower bounds (a
// counter shows at most 15 per jump). MP2TRestarts counts the packets
// whose discontinuity_indicator announced a new counter, MP2TCCErrors
// the counter jumps that showed packets missing (tshark's mp2t.cc.drop).
type MP2TCounters struct {
	MP2TPackets      uint64 `json:"mp2t_packets"`
	MP2TLostCapture  uint64 `json:"mp2t_lost_capture"`
	MP2TLostUpstream uint64 `json:"mp2t_lost_upstream"`
	MP2TDuplicates   uint64 `json:"mp2t_duplicates"`
	MP2TRestarts     uint64 `json:"mp2t_restarts"`
	MP2TCCErrors     uint64 `json:"mp2t_cc_errors"`
}

func (c *MP2TCounters) add(o *MP2TCounters) {
	c.MP2TPackets += o.MP2TPackets
	c.MP2TLostCapture += o.MP2TLostCapture
	c.MP2TLostUpstream += o.MP2TLostUpstream
	c.MP2TDuplicates += o.MP2TDuplicates
	c.MP2TRestarts += o.MP2TRestarts
	c.MP2TCCErrors += o.MP2TCCErrors
}

// mp2tFamily: the 4-bit continuity counters, one per PID and direction.
// Its streams are tracked by mp2tPacket, not by the framework's
// seqPacket: a datagram carries several TS packets, a counter's 16 values
// cannot tell a late packet from a jump (no late counter), and the
// missing packets of a lost datagram show on several PIDs at once
// (episodes). Its pieces go through the same explanation and fates.
var mp2tFamily = seqFamily{
	evidence:   EvidenceMP2T,
	bits:       4,
	maxStep:    15,
	outside:    FateUpstream,
	lowerBound: true,
	label:      "MPEG-TS", prefix: "mp2t", outsideName: "lost_upstream", outsideWords: "lost upstream",
	counts: func(c *Counters) seqCounts {
		m := &c.MP2TCounters
		return seqCounts{&m.MP2TPackets, &m.MP2TLostCapture, &m.MP2TLostUpstream, nil, &m.MP2TDuplicates, &m.MP2TRestarts}
	},
	extra: func(c *Counters) []SeqFigure {
		return []SeqFigure{{Name: "mp2t_cc_errors", Label: "MPEG-TS counter jumps", N: c.MP2TCCErrors}}
	},
}

// mp2tHead is what the MPEG-TS accounting reads of a UDP datagram: the
// headers of its TS packets, packed, so that a Batch carries them instead
// of the payload (32 bytes, not 1316).
type mp2tHead struct {
	n     uint8 // TS packets read (0: the datagram is not a transport stream)
	flags uint8
	hdr   [mp2tMaxPackets]uint32
}

// scan reads the TS packet headers of p's UDP payload into h and reports
// whether the payload is a transport stream: whole 188-byte packets, each
// starting with the sync byte 0x47, right at the start of the payload or
// after an RTP version 2 header (with its CSRCs and extension). It reads
// only the captured bytes and allocates nothing.
func (h *mp2tHead) scan(p *decode.Packet) bool {
	h.n, h.flags = 0, 0
	b := p.Payload
	if p.Proto != layers.IPProtocolUDP || len(b) == 0 || p.PayloadLen < mp2tPacketLen {
		return false
	}
	off := 0
	if b[0] != mp2tSync {
		if b[0]>>6 != 2 || len(b) < 12 {
			return false
		}
		off = 12 + 4*int(b[0]&0x0F)
		if b[0]&0x10 != 0 { // header extension: 4 bytes and its length in words
			if len(b) < off+4 {
				return false
			}
			off += 4 + 4*int(binary.BigEndian.Uint16(b[off+2:]))
		}
		if b[0]&0x20 != 0 || off >= len(b) || b[off] != mp2tSync {
			return false // padding would not leave whole TS packets
		}
		h.flags |= mp2tRTP
	}
	size := p.PayloadLen - off
	if size <= 0 || size%mp2tPacketLen != 0 {
		return false
	}
	total := size / mp2tPacketLen
	n := 0
	for ; n < min(total, mp2tMaxPackets); n++ {
		o := off + n*mp2tPacketLen
		if o+4 > len(b) {
			break // cut by the snap length
		}
		if b[o] != mp2tSync {
			return false
		}
		v := binary.BigEndian.Uint32(b[o:]) & 0xFFFFFF
		if (v>>mp2tAFCShift)&2 != 0 { // adaptation field: its length, then its flags
			if o+6 > len(b) {
				break
			}
			if b[o+4] > 0 && b[o+5]&0x80 != 0 {
				v |= mp2tDI
			}
		}
		h.hdr[n] = v
	}
	if n == 0 {
		return false
	}
	if n < total {
		h.flags |= mp2tPartial
	}
	h.n = uint8(n)
	return true
}

// mp2tDir is the MPEG-TS state of one direction of a UDP flow.
type mp2tDir struct {
	run       uint8 // datagrams in a row that looked like a transport stream, up to mp2tConfirm
	confirmed bool
	per       uint8  // the most TS packets seen in one datagram
	dgrams    uint64 // TS datagrams of the direction so far
	pids      []mp2tPID
	ep        mp2tEpisode // open when ep.k > 0
	// prev holds the TS headers of the direction's latest datagram: the
	// same again is a copy of the datagram (a mirror port's, a network's
	// duplicate), whose packets would otherwise show every PID's
	// counter jumping back.
	prev  [mp2tMaxPackets]uint32
	prevN uint8
}

// mp2tPID is the continuity state of one PID.
type mp2tPID struct {
	pid  uint16
	cc   uint8
	last uint64 // global frame of the PID's latest packet
}

// mp2tEpisode is TS packets found missing, on one or several PIDs, between
// frames lo (exclusive) and hi (inclusive) of a direction: brackets that
// overlap are most likely the same lost datagrams, seen on each PID.
type mp2tEpisode struct {
	lo, hi uint64
	at     uint64 // the frame that first revealed the loss
	hiDg   uint64 // mp2tDir.dgrams at hi
	k      uint64 // TS packets missing, over the PIDs
	demand uint64 // datagrams needed to carry them: the most any one PID needs
	rtp    bool   // the packets follow an RTP header
}

// mp2tPacket accounts one UDP datagram of direction dir whose TS headers
// scan read into h (h.n == 0: not a transport stream). viaRTP pieces do
// not take the recorded gaps' capacity: the RTP sequence numbers of the
// same datagrams already do.
func (e *Engine) mp2tPacket(a *acct, dir int, h *mp2tHead, gi uint64) {
	if a.x == nil || a.x.mp2t == nil {
		if h.n == 0 {
			return // no stream to reset: most UDP flows never get TS state
		}
		a.extra().mp2t = new([2]mp2tDir)
	}
	d := &a.x.mp2t[dir]
	if h.n == 0 {
		e.mp2tSettle(a, d)
		d.run, d.confirmed, d.pids = 0, false, d.pids[:0]
		return
	}
	if d.run < mp2tConfirm {
		d.run++
		if d.run == mp2tConfirm {
			d.confirmed = true
			a.x.isMP2T = true
		}
	}
	d.dgrams++
	d.per = max(d.per, h.n)
	c := a.c()
	if d.confirmed {
		c.MP2TPackets += uint64(h.n)
	}
	if h.advances() {
		if slices.Equal(h.hdr[:h.n], d.prev[:d.prevN]) {
			// A copy of the previous datagram: its packets are
			// duplicates.
			if d.confirmed {
				c.MP2TDuplicates += uint64(h.n)
			}
			return
		}
		d.prev, d.prevN = h.hdr, h.n
	}
	if d.ep.k > 0 && d.dgrams-d.ep.hiDg > mp2tHold {
		e.mp2tSettle(a, d)
	}
	rtp := h.flags&mp2tRTP != 0
	for _, v := range h.hdr[:h.n] {
		pid := uint16(v>>mp2tPIDShift) & mp2tPIDMask
		afc := (v >> mp2tAFCShift) & 3
		if pid == mp2tNullPID || v&mp2tTEI != 0 || afc == 0 {
			continue // no meaningful CC: null packets, transport errors, reserved AFC
		}
		cc := uint8(v & mp2tCCMask)
		s := d.pid(pid)
		if s == nil {
			if len(d.pids) < mp2tMaxPIDs {
				d.pids = append(d.pids, mp2tPID{pid: pid, cc: cc, last: gi})
			}
			continue
		}
		var k uint64
		switch {
		case v&mp2tDI != 0:
			// discontinuity_indicator: the counter may start anew.
			if d.confirmed {
				c.MP2TRestarts++
			}
		case afc&1 == 0:
			// Adaptation field only: the counter is not advanced, and
			// muxers disagree on whether it repeats the PID's latest
			// one or shows the next: it is not evidence either way,
			// and the bracket of packets found missing later still
			// starts at the PID's latest packet with a payload.
			continue
		case cc == s.cc:
			if d.confirmed {
				c.MP2TDuplicates++
			}
			s.last = gi
			continue
		default:
			k = uint64((cc - s.cc - 1) & mp2tCCMask)
		}
		if k > 0 && d.confirmed {
			c.MP2TCCErrors++
			e.mp2tMissing(a, d, s.last, gi, k, rtp)
		}
		s.cc, s.last = cc, gi
	}
	if h.flags&mp2tPartial != 0 {
		// Packets whose PID is unknown went by: no PID's next counter
		// can be checked against its last.
		d.pids = d.pids[:0]
	}
}

// advances reports whether a datagram's packets advance a counter (one
// of them has a payload on a PID other than the null packets'): only
// then can the same headers again not be the stream going on.
func (h *mp2tHead) advances() bool {
	for _, v := range h.hdr[:h.n] {
		if uint16(v>>mp2tPIDShift)&mp2tPIDMask != mp2tNullPID && v&mp2tTEI == 0 && (v>>mp2tAFCShift)&1 != 0 {
			return true
		}
	}
	return false
}

// pid returns the state of pid, or nil when it is not followed.
func (d *mp2tDir) pid(pid uint16) *mp2tPID {
	for i := range d.pids {
		if d.pids[i].pid == pid {
			return &d.pids[i]
		}
	}
	return nil
}

// mp2tMissing adds k TS packets of one PID, missing between frames lo
// (exclusive) and hi, to the direction's open episode, or settles that
// and opens another when the brackets do not overlap.
func (e *Engine) mp2tMissing(a *acct, d *mp2tDir, lo, hi, k uint64, rtp bool) {
	per := uint64(max(d.per, 1))
	need := (k + per - 1) / per
	ep := &d.ep
	if ep.k > 0 && lo < ep.hi {
		ep.lo, ep.hi = min(ep.lo, lo), max(ep.hi, hi)
		ep.k += k
		ep.demand = max(ep.demand, need)
		if hi == ep.hi {
			ep.hiDg = d.dgrams
		}
		return
	}
	e.mp2tSettle(a, d)
	*ep = mp2tEpisode{lo: lo, hi: hi, at: hi, hiDg: d.dgrams, k: k, demand: need, rtp: rtp}
}

// mp2tSettle hands the direction's open episode, if any, to the
// explanation.
func (e *Engine) mp2tSettle(a *acct, d *mp2tDir) {
	ep := &d.ep
	if ep.k == 0 {
		return
	}
	e.exp.add(piece{acct: a, lo: ep.lo, hi: ep.hi, demand: ep.demand, segs: ep.k, kind: EvidenceMP2T, shadow: ep.rtp, at: ep.at, flow: e.fateFlow})
	*ep = mp2tEpisode{}
}

// mp2tEnd settles both directions' open episodes when a flow ends.
func (e *Engine) mp2tEnd(a *acct) {
	if a.x == nil || a.x.mp2t == nil {
		return
	}
	for i := range a.x.mp2t {
		e.mp2tSettle(a, &a.x.mp2t[i])
	}
}
