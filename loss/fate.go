package loss

// FateKind is what became of data, or RTP packets, that a flow's frames
// show were sent but the capture does not hold (docs/metrics.md), or what
// a retransmission repaired.
type FateKind uint8

// The fates. Their String forms are the words of gapan.fate in the
// Wireshark plugin (docs/wireshark.md).
const (
	// FateCapture: lost by the capture, inside a recorded gap
	// (capture_explained_*; rtp_lost_capture).
	FateCapture FateKind = iota + 1
	// FateCaptureUnexplained: lost by the capture (the receiver had the
	// data), but no recorded gap can have held it
	// (capture_unexplained_*).
	FateCaptureUnexplained
	// FateUpstream: lost before the capture point: the sender had to
	// send it again (upstream_lost_*; rtp_lost_upstream, for RTP
	// packets no recorded gap explains).
	FateUpstream
	// FateDownstream: seen by the capture and sent again: lost after the
	// capture point (downstream_lost_*).
	FateDownstream
	// FateAmbiguous: retransmitted, but a recorded gap may have held
	// the original (ambiguous_*).
	FateAmbiguous
	// FateUnknown: never retransmitted nor acknowledged while the flow
	// was seen (unknown_*).
	FateUnknown
	// FateSpurious: a retransmission of data the receiver had already
	// acknowledged (spurious_retransmissions); only on a Resend fate.
	FateSpurious
	// FateMirror: mirrored frames (Evidence EvidenceMirror) that no
	// recorded gap explains: lost between the switch and the capture host
	// (a mirror session's mirror_lost).
	FateMirror
)

var fateNames = [...]string{"", "capture", "capture_unexplained", "upstream", "downstream", "ambiguous", "unknown", "spurious", "mirror"}

// String returns the fate's word: capture, capture_unexplained,
// upstream, downstream, ambiguous, unknown, spurious or mirror.
func (k FateKind) String() string {
	if int(k) < len(fateNames) && k != 0 {
		return fateNames[k]
	}
	return "invalid"
}

// Fate is the final verdict on a run of missing data (or RTP packets) of
// one flow, told on the frame that revealed it, or on a retransmission
// what it repaired. Config.OnFate receives them; a fate is final when it
// is handed out, which may be long after its frame (a retransmission
// later in the stream, the explanation round, the flow's end). Over a
// run, the fates' Bytes and Segments add up, kind by kind and flow by
// flow, to the flow's figures: FateCapture to capture_explained_bytes
// and _segments (RTP: rtp_lost_capture), FateCaptureUnexplained to
// capture_unexplained_*, FateUpstream to upstream_lost_* (RTP:
// rtp_lost_upstream), FateAmbiguous to ambiguous_*, FateDownstream to
// downstream_lost_*, FateUnknown to unknown_*; Resend fates repeat what
// a retransmission repaired and are not counted again.
type Fate struct {
	// Frame is the global index (1-based over the whole set) of the
	// frame the fate is told on: the frame after a hole in the sequence
	// space, the acknowledgement of data the capture never saw (Acked),
	// the RTP packet after missing ones, or, for Resend and
	// FateDownstream, the retransmission.
	Frame  uint64
	FlowID uint64
	Kind   FateKind
	// Resend says that Frame is a retransmission and Kind what it
	// repaired: FateUpstream, FateAmbiguous, FateDownstream, or
	// FateSpurious (FateCapture when it resent data the receiver had
	// but the capture missed); Ref is then the frame that revealed the
	// hole it fills (0 for data the capture had seen).
	Resend bool
	// Acked says that Frame is an acknowledgement (cumulative or SACK)
	// of data the capture never saw.
	Acked bool
	// Evidence is what revealed the missing data: TCP, RTP or a
	// sequence family (ESP, GTP-U, ICMP echo). For every kind but TCP
	// (Evidence.Packets), Segments counts packets and Bytes is 0.
	Evidence Evidence
	// Bytes and Segments are the TCP bytes and segments the fate covers
	// (segments estimated as the flow's counters are).
	Bytes, Segments uint64
	// Gap is, for FateCapture, the global index of the frame after the
	// first recorded gap that explains the loss, and GapLost that gap's
	// size in frames.
	Gap, GapLost uint64
	// Ref is the other frame of the story: for FateUpstream and
	// FateAmbiguous the retransmission; for FateCapture and
	// FateCaptureUnexplained of TCP data the frame whose acknowledgement
	// showed the receiver had it; for a Resend fate the frame that
	// revealed the hole. 0 when there is none.
	Ref uint64
	// Lo opens the bracket of a capture-loss fate (FateCapture,
	// FateCaptureUnexplained; RTP FateCapture and FateUpstream): the
	// data was lost after global frame Lo (the flow's last frame before
	// the hole, 0 when none) and before the frame after Lo up to Frame
	// (package infer places gaps by it). 0 for the other fates.
	Lo uint64
}

// fate hands f, a fate of the flow being accounted, to Config.OnFate.
func (e *Engine) fate(f Fate) {
	if e.cfg.OnFate != nil {
		f.FlowID = e.fateFlow
		e.cfg.OnFate(f)
	}
}

// unknown counts the bytes of a hole of d, revealed at global frame at,
// that the flow gave up as unknown.
func (e *Engine) unknown(a *acct, d *tcpDir, bytes int64, at uint64) {
	segs := d.segments(0, bytes)
	a.c().UnknownBytes += uint64(bytes)
	a.c().UnknownSegments += segs
	e.fate(Fate{Frame: at, Kind: FateUnknown, Bytes: uint64(bytes), Segments: segs})
}

// bookFates hands out the fates of piece p, of which the recorded gaps
// explained taken frames (the first of them in the gap before global
// frame gap, of gapLost frames), eb bytes and es segments.
func (x *explainer) bookFates(p *piece, taken, eb, es, gap, gapLost uint64) {
	f := Fate{Frame: p.at, FlowID: p.flow, Evidence: p.kind, Acked: p.byAck, Lo: p.lo}
	if p.kind.Packets() {
		got, all := p.packets(taken)
		if got > 0 {
			f.Kind, f.Segments, f.Gap, f.GapLost = FateCapture, got, gap, gapLost
			x.onFate(f)
		}
		if all > got {
			f.Kind = FateUpstream
			if fam := familyOf(p.kind); p.proven {
				f.Kind = FateCaptureUnexplained
			} else if fam != nil && fam.outside != 0 {
				f.Kind = fam.outside
			}
			if p.kind == EvidenceMirror {
				f.Kind = FateMirror
			}
			f.Segments, f.Gap, f.GapLost = all-got, 0, 0
			x.onFate(f)
		}
		return
	}
	f.Ref = p.hi
	if eb > 0 || es > 0 {
		f.Kind, f.Bytes, f.Segments, f.Gap, f.GapLost = FateCapture, eb, es, gap, gapLost
		x.onFate(f)
	}
	if p.bytes > eb || p.segs > es {
		f.Kind, f.Bytes, f.Segments, f.Gap, f.GapLost = FateCaptureUnexplained, p.bytes-eb, p.segs-es, 0, 0
		x.onFate(f)
	}
}
