package loss

import "github.com/gapan/gapan/decode"

// ICMPCounters are the figures of ICMP and ICMPv6 echo (ping), per
// identifier within a flow: icmp_* in docs/metrics.md. Requests and
// replies are numbered streams of their own (a missing reply number is a
// lost reply); besides, requests are paired with their replies.
type ICMPCounters struct {
	ICMPPackets      uint64 `json:"icmp_packets"`
	ICMPLostCapture  uint64 `json:"icmp_lost_capture"`
	ICMPLostUpstream uint64 `json:"icmp_lost_upstream"`
	ICMPLate         uint64 `json:"icmp_late"`
	ICMPDuplicates   uint64 `json:"icmp_duplicates"`
	ICMPRestarts     uint64 `json:"icmp_restarts"`
	// ICMPNoReply counts the requests the capture saw with no reply
	// seen; ICMPNoRequest the replies whose request it did not see (the
	// request passed the capture point: the target answered it), of
	// which ICMPCaptureUnexplained are those no recorded gap holds.
	ICMPNoReply            uint64 `json:"icmp_no_reply"`
	ICMPNoRequest          uint64 `json:"icmp_no_request"`
	ICMPCaptureUnexplained uint64 `json:"icmp_capture_unexplained"`
}

func (c *ICMPCounters) add(o *ICMPCounters) {
	c.ICMPPackets += o.ICMPPackets
	c.ICMPLostCapture += o.ICMPLostCapture
	c.ICMPLostUpstream += o.ICMPLostUpstream
	c.ICMPLate += o.ICMPLate
	c.ICMPDuplicates += o.ICMPDuplicates
	c.ICMPRestarts += o.ICMPRestarts
	c.ICMPNoReply += o.ICMPNoReply
	c.ICMPNoRequest += o.ICMPNoRequest
	c.ICMPCaptureUnexplained += o.ICMPCaptureUnexplained
}

// icmpFamily: 16-bit numbers, one stream per identifier, direction, and
// request or reply. ping sends one request a second: the reorder window
// is 8 numbers, and a jump of more than 3,000 is a restart.
var icmpFamily = seqFamily{
	evidence: EvidenceICMP,
	bits:     16,
	maxStep:  rtpMaxStep,
	reorder:  8,
	outside:  FateUpstream,
	label:    "ICMP echo", prefix: "icmp", outsideName: "lost_upstream", outsideWords: "lost upstream",
	subFlags: decode.SeqReply,
	byteSwap: true,
	counts: func(c *Counters) seqCounts {
		i := &c.ICMPCounters
		return seqCounts{&i.ICMPPackets, &i.ICMPLostCapture, &i.ICMPLostUpstream, &i.ICMPLate, &i.ICMPDuplicates, &i.ICMPRestarts}
	},
	extra: func(c *Counters) []SeqFigure {
		i := &c.ICMPCounters
		return []SeqFigure{
			{"icmp_no_reply", "ICMP echo requests without reply", i.ICMPNoReply},
			{"icmp_no_request", "ICMP echo replies without request", i.ICMPNoRequest},
			{"icmp_capture_unexplained", "ICMP echo requests lost by the capture, unexplained", i.ICMPCaptureUnexplained},
		}
	},
	unexplained: func(c *Counters) *uint64 { return &c.ICMPCaptureUnexplained },
	after:       echoAfter,
	end:         echoEnd,
}

// echoRingLen is how many of a request stream's latest requests wait for
// their reply: a reply more than that many requests late is not paired.
const echoRingLen = 64

// echoRing holds a request stream's latest requests.
type echoRing struct {
	num      [echoRingLen]uint16
	answered [echoRingLen]bool
	n        int // requests recorded; the latest is at (n-1) % echoRingLen
}

// echoAfter pairs ICMP echo requests with replies (icmpFamily.after).
func echoAfter(e *Engine, a *acct, s *seqStream, got seqArrival, n uint32, prev, gi uint64) {
	if got == seqDup {
		return
	}
	num := uint16(n)
	if s.key.sub == 0 {
		r := s.echo
		if r == nil {
			r = new(echoRing)
			s.echo = r
		}
		i := r.n % echoRingLen
		if r.n >= echoRingLen && !r.answered[i] {
			a.c().ICMPNoReply++
		}
		r.num[i], r.answered[i] = num, false
		r.n++
		return
	}
	// A reply: its request went the other way. (Finding its stream may
	// move the flow's streams: s is not used after.)
	fam := s.fam
	rk := seqKey{id: s.key.id, kind: s.key.kind, dir: s.key.dir ^ 1}
	rs, fresh := a.x.seq.stream(e, a, rk, fam)
	if !fresh && rs.echo != nil {
		r := rs.echo
		for k := range min(r.n, echoRingLen) {
			i := (r.n - 1 - k) % echoRingLen
			if r.num[i] == num {
				r.answered[i] = true
				return
			}
		}
	}
	// No request: the capture missed it (the target answered it). It
	// was sent after the stream's previous request, if that one is
	// older than the reply, and before the reply. A capture that never
	// saw a request of the stream may not see that direction at all:
	// its replies are counted, but are no evidence of the capture's
	// loss.
	a.c().ICMPNoRequest++
	seen := !fresh && rs.echo != nil
	lo := rs.lastFrm
	// The request stream's own order (a reply carries its request's
	// number as the request did).
	n = rs.order(n, fresh)
	switch {
	case fresh:
		rs.last, rs.lastFrm = n, gi
	case rs.fill(n, 0xffff):
		lo = rs.filled
	case uint16(n-rs.last) >= 0x8000:
		// Behind the requests and no longer missing: a request the
		// stream has already settled as lost (a reply more than the
		// reorder window late).
	default:
		// Ahead of the requests: the request stream moves to it, as if
		// the request had come, but without counting it.
		var scratch Counters
		e.seqTrack(a, rs, fam, fam.counts(&scratch), n, gi, false)
	}
	if !seen {
		return
	}
	if lo >= gi {
		lo = prev
	}
	e.exp.add(piece{acct: a, lo: lo, hi: gi, demand: 1, kind: EvidenceICMP, proven: true, at: gi, flow: e.fateFlow})
}

// echoEnd counts the requests left unanswered when the flow ends
// (icmpFamily.end).
func echoEnd(a *acct, s *seqStream) {
	r := s.echo
	if r == nil {
		return
	}
	for k := range min(r.n, echoRingLen) {
		if !r.answered[k] {
			a.c().ICMPNoReply++
		}
	}
	s.echo = nil
}
