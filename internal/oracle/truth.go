package oracle

import (
	"fmt"
	"net/netip"
)

// Truth is what deleting a set of frames did to a capture, flow by flow.
type Truth struct {
	// Frames is the number of frames of the original capture, Deleted
	// how many of them were deleted.
	Frames, Deleted uint64
	// Flows are the flows of the damaged capture, in order of their first
	// surviving frame (gapan's flow_id order).
	Flows []*Flow
	// Vanished are the flows of the original capture all of whose frames
	// were deleted: no flow of the damaged capture can show their loss.
	Vanished []*Flow
}

// Flow is the truth about one flow of the damaged capture.
type Flow struct {
	// Proto is "tcp", "udp", "ip-N" (other IP protocols, with the
	// number), or "eth" (non-IP frames).
	Proto string
	// Src sent the flow's first surviving frame; Dst is the other end.
	Src, Dst netip.AddrPort
	// VLAN holds the flow's VLAN ids (outermost first), if any.
	VLAN []int
	// FirstFrame is the original frame number of the flow's first
	// surviving frame (for a vanished flow: of its first frame). It
	// identifies the flow: every frame belongs to one flow.
	FirstFrame uint64
	// LastFrame is the original frame number of the flow's last
	// surviving frame.
	LastFrame uint64
	// OrigFirstFrame is the first frame of the original capture's flow
	// that holds this flow's frames; 0 unless Exact.
	OrigFirstFrame uint64
	// Frames counts the flow's surviving frames, Deleted its deleted
	// frames: the true loss that gapan's est_lost estimates.
	Frames, Deleted uint64
	// DeletedFrames lists the original numbers of the deleted frames.
	DeletedFrames []uint64
	// Exact says that the flow is one flow of the original capture minus
	// the deleted frames: the deletions neither merged two flows of the
	// original (a deleted SYN) nor split one (an idle gap they opened).
	// TCP and RTP are only set for exact flows.
	Exact bool
	TCP   *TCP
	RTP   *RTP
}

// TCP is the byte-level truth of a TCP flow, both directions summed. All
// figures count sequence numbers (payload bytes, plus one for each SYN and
// FIN), unwrapped per direction.
type TCP struct {
	// CaptureLostBytes counts sequence numbers, at or above the
	// direction's first surviving sequence number, that the original
	// capture shows before any acknowledgement of them while in the
	// damaged capture a surviving acknowledgement (cumulative or SACK) of
	// the other direction covers them before any surviving frame carries
	// them: the receiver had them, and the deletions took every copy the
	// capture saw before that. Every one of them is explained by the
	// deletions. CaptureLostSegments counts the distinct segments
	// (sequence number and length) of the deleted frames that carried
	// them.
	CaptureLostBytes    uint64
	CaptureLostSegments uint64
	// OwnLostBytesOrig counts the original capture's own capture loss
	// within what the capture shows of the direction: sequence numbers
	// that no frame of the original carries, below the highest it
	// carries, at or above its first, acknowledged by the other side.
	// OwnLostBytesDamaged counts the same with the surviving frames only
	// (fewer acknowledgements, a later first sequence number).
	OwnLostBytesOrig, OwnLostBytesDamaged uint64
	// BeyondChanged says that the acknowledgements of sequence numbers
	// above the highest any frame of the original carries (the original's
	// tail loss, or acknowledgements that are not plausible) differ
	// between the original and the damaged capture: the deletions
	// changed what the capture can say there, and the oracle cannot say
	// which part of it is true.
	BeyondChanged bool
	// AckFirstDelta is the change the deletions make to sequence numbers
	// the original capture shows only after the other side acknowledged
	// them (the capture missed them and saw a resend, or the tap saw the
	// two directions out of order: issue 15, error 4), where both readings
	// give the same change; AckFirstChanged says they differ, and the
	// oracle cannot tell which is true.
	AckFirstDelta   int64
	AckFirstChanged bool
	// ReCarriedBytes counts sequence numbers of deleted frames, not seen
	// in an earlier surviving frame, that a later surviving frame carries
	// again (a retransmission, a copy, or an original arriving late)
	// before any surviving acknowledgement covers them.
	ReCarriedBytes uint64
	// UndetectableBytes counts sequence numbers of deleted frames below
	// the direction's first surviving sequence number: no analyzer of the
	// damaged capture can see them missing.
	UndetectableBytes uint64
	// UnknownBytes counts sequence numbers of deleted frames that no
	// surviving frame carries and no surviving acknowledgement covers.
	UnknownBytes uint64
	// KeepAliveBytes counts, per direction, the one sequence number the
	// damaged capture cannot place: the direction's first surviving
	// segment carries nothing (no payload, SYN or FIN) and its sequence
	// number S is carried by no frame of the original, yet a surviving
	// acknowledgement covers it. The original shows the segment was a
	// keep-alive (S is the last byte sent before the capture began), but
	// the damaged capture reads the same whether it was one or a pure ACK
	// followed by deleted data from S on: an analyzer may count S as
	// capture loss or not, and both readings are right for some original.
	KeepAliveBytes uint64
	// DeletedData says a deleted frame of the flow carried payload or a
	// FIN (a deleted pure ACK, SYN or RST does not set it).
	DeletedData bool
	// Holes are the original capture's own holes that a later frame
	// filled (the candidates for upstream, ambiguous or reordered), with
	// their brackets in original frame numbers: docs/metrics.md "TCP
	// evidence": after the last frame of the direction before the hole,
	// up to the frame that revealed it, widened to the latest frame that
	// filled part of it.
	Holes []Bracket
	// BracketHit says a deleted frame (of any flow) lies in one of Holes'
	// brackets.
	BracketHit bool
}

// Bracket is the frames (First..Last, original numbers) between which a
// hole's data should have been seen.
type Bracket struct{ First, Last uint64 }

// RTP is the truth about the RTP streams of a UDP flow, both directions.
type RTP struct {
	// Streams counts the RTP streams the damaged capture confirms.
	Streams int
	// Deleted counts deleted datagrams with an RTP version 2 header of a
	// stream that the damaged capture confirms (docs/metrics.md "RTP").
	Deleted uint64
	// Detectable counts those whose sequence number lies strictly between
	// the stream's confirming packet and its highest surviving packet, and
	// that no surviving packet of the stream repeats: gapan can see them
	// missing.
	Detectable uint64
	// LateDeleted counts deleted packets that were late in the original
	// (older than their stream's newest packet before them): the
	// damaged capture's late packets are the original's minus these.
	LateDeleted uint64
}

// Compute works out the truth for the capture with the given frames
// (1-based numbers) deleted.
func (c *Capture) Compute(deleted map[uint64]bool) *Truth {
	fr := c.frames
	del := func(i int) bool { return deleted[fr[i].num] }
	origID, orig := assignFlows(fr, func(int) bool { return true })
	dmgID, dmg := assignFlows(fr, func(i int) bool { return !del(i) })
	t := &Truth{Frames: uint64(len(fr))}

	// Which damaged flows hold each original flow's surviving frames, and
	// the reverse.
	origTo := make([]map[int32]bool, len(orig))
	dmgFrom := make([]map[int32]bool, len(dmg))
	for i := range fr {
		if del(i) {
			t.Deleted++
			continue
		}
		o, d := origID[i], dmgID[i]
		if origTo[o] == nil {
			origTo[o] = map[int32]bool{}
		}
		origTo[o][d] = true
		if dmgFrom[d] == nil {
			dmgFrom[d] = map[int32]bool{}
		}
		dmgFrom[d][o] = true
	}
	flows := make([]*Flow, len(dmg))
	for d := range dmg {
		flows[d] = newFlow(&fr[dmg[d].first], fr[dmg[d].first].num)
		if len(dmgFrom[d]) == 1 {
			for o := range dmgFrom[d] {
				if len(origTo[o]) == 1 {
					flows[d].Exact = true
					flows[d].OrigFirstFrame = fr[orig[o].first].num
				}
			}
		}
	}
	vanished := map[int32]*Flow{}
	// A deleted frame counts for the damaged flow that holds the latest
	// surviving frame of its original flow before it, or, deleted before
	// any, the first one after it (they differ only when the deletions
	// split a flow).
	firstDmg := make([]int32, len(orig))
	lastDmg := make([]int32, len(orig))
	for i := range orig {
		firstDmg[i], lastDmg[i] = -1, -1
	}
	for i := range fr {
		if o := origID[i]; !del(i) && firstDmg[o] < 0 {
			firstDmg[o] = dmgID[i]
		}
	}
	for i := range fr {
		o := origID[i]
		if !del(i) {
			lastDmg[o] = dmgID[i]
			flows[dmgID[i]].Frames++
			flows[dmgID[i]].LastFrame = fr[i].num
			continue
		}
		switch {
		case firstDmg[o] < 0:
			v := vanished[o]
			if v == nil {
				v = newFlow(&fr[orig[o].first], fr[orig[o].first].num)
				vanished[o] = v
				t.Vanished = append(t.Vanished, v)
			}
			v.Deleted++
			v.DeletedFrames = append(v.DeletedFrames, fr[i].num)
		default:
			d := firstDmg[o]
			if lastDmg[o] >= 0 {
				d = lastDmg[o]
			}
			flows[d].Deleted++
			flows[d].DeletedFrames = append(flows[d].DeletedFrames, fr[i].num)
		}
	}

	// Per original flow, its frames in order, for the byte-level truth.
	members := make([][]int, len(orig))
	for i := range fr {
		members[origID[i]] = append(members[origID[i]], i)
	}
	var deletedNums []uint64
	for i := range fr {
		if del(i) {
			deletedNums = append(deletedNums, fr[i].num)
		}
	}
	for d, fl := range flows {
		if !fl.Exact {
			continue
		}
		var o int32
		for o = range dmgFrom[d] {
		}
		m := members[o]
		switch {
		case fr[m[0]].tcp || fl.Proto == "tcp":
			fl.TCP = tcpTruth(fr, m, del, deletedNums)
		case fl.Proto == "udp":
			fl.RTP = rtpTruth(fr, m, del)
		}
	}
	t.Flows = flows
	return t
}

// newFlow starts the Flow whose first (surviving) frame is f.
func newFlow(f *frame, num uint64) *Flow {
	fl := &Flow{FirstFrame: num}
	k := f.key
	switch {
	case k.ipv == 0:
		fl.Proto = "eth"
	case k.proto == 6:
		fl.Proto = "tcp"
	case k.proto == 17:
		fl.Proto = "udp"
	default:
		fl.Proto = fmt.Sprintf("ip-%d", k.proto)
	}
	fl.Src, fl.Dst = k.lo, k.hi
	if !f.fromLo {
		fl.Src, fl.Dst = k.hi, k.lo
	}
	for _, v := range k.vlan {
		if v > 0 {
			fl.VLAN = append(fl.VLAN, int(v-1))
		}
	}
	return fl
}
