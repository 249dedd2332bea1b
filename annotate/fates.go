package annotate

import (
	"github.com/gapan/gapan/internal/numfmt"
	"strconv"
	"strings"

	"github.com/gapan/gapan/loss"
)

// groupFates adds up the fates of one frame by kind, retransmission,
// acknowledgement and evidence, keeping the first one's gap and reference
// frame, in the order the first of each group came.
func groupFates(dst, fs []loss.Fate) []loss.Fate {
	dst = dst[:0]
next:
	for _, f := range fs {
		for i := range dst {
			g := &dst[i]
			if g.Kind == f.Kind && g.Resend == f.Resend && g.Acked == f.Acked && g.Evidence == f.Evidence {
				g.Bytes += f.Bytes
				g.Segments += f.Segments
				if g.Gap == 0 {
					g.Gap, g.GapLost = f.Gap, f.GapLost
				}
				if g.Ref == 0 {
					g.Ref = f.Ref
				}
				continue next
			}
		}
		dst = append(dst, f)
	}
	return dst
}

// fateRecord returns the machine-readable fields of a frame's fates (see
// RecordPrefix): "flow=7 | fate=capture bytes=2896 segs=2 gap=302
// gap_lost=40 ref=305 | retransmission=upstream bytes=1448 segs=1
// ref=302". A fate of packets (RTP, a sequence family) has "packets="
// instead of bytes and segments, and for a sequence family
// "evidence=esp" (gtpu, icmp, ...) after it; acked=1 marks an acknowledgement of data the capture never
// saw.
func fateRecord(b []byte, gs []loss.Fate) []byte {
	b = append(b, "flow="...)
	b = strconv.AppendUint(b, gs[0].FlowID, 10)
	for _, g := range gs {
		b = append(b, " | "...)
		if g.Resend {
			b = append(b, "retransmission="...)
		} else {
			b = append(b, "fate="...)
		}
		b = append(b, g.Kind.String()...)
		if g.Evidence.Packets() {
			b = appendField(b, "packets", g.Segments)
			if g.Evidence != loss.EvidenceRTP {
				b = append(b, " evidence="...)
				b = append(b, g.Evidence.String()...)
			}
		} else {
			b = appendField(b, "bytes", g.Bytes)
			b = appendField(b, "segs", g.Segments)
		}
		if g.Acked {
			b = append(b, " acked=1"...)
		}
		if g.Gap != 0 {
			b = appendField(b, "gap", g.Gap)
			b = appendField(b, "gap_lost", g.GapLost)
		}
		if g.Ref != 0 && g.Ref != g.Frame {
			b = appendField(b, "ref", g.Ref)
		}
	}
	return b
}

func appendField(b []byte, key string, v uint64) []byte {
	b = append(b, ' ')
	b = append(b, key...)
	b = append(b, '=')
	return strconv.AppendUint(b, v, 10)
}

// FateComment returns the packet comment that tells fate f in words, for
// example "gapan: 2 segments (2,896 bytes) before this frame were lost by
// the capture, inside the recorded gap of 40 frames before frame 302".
// Frame numbers are those of the annotated file (f.Frame's numbering).
func FateComment(f loss.Fate) string {
	var b strings.Builder
	b.WriteString("gapan: ")
	what, plural := amount(f)
	were := " were"
	if !plural {
		were = " was"
	}
	if f.Resend {
		switch f.Kind {
		case loss.FateUpstream:
			b.WriteString("retransmission repairing upstream loss (" + what + ", missing before frame " + frameNum(f.Ref) + ")")
		case loss.FateAmbiguous:
			b.WriteString("retransmission of " + what + " lost by the capture or before it (ambiguous; missing before frame " + frameNum(f.Ref) + ")")
		default:
			b.WriteString("spurious retransmission of " + what + " the receiver had acknowledged")
			if f.Ref != 0 {
				b.WriteString(" at frame " + frameNum(f.Ref) + " (the capture missed the original)")
			}
		}
		return b.String()
	}
	if f.Kind == loss.FateDownstream {
		b.WriteString("this frame retransmits " + what + " the capture saw: lost after the capture point (downstream)")
		return b.String()
	}
	if f.Acked {
		b.WriteString(what + " this frame acknowledges, never seen by the capture,")
	} else {
		b.WriteString(what + " before this frame")
	}
	b.WriteString(were)
	switch f.Kind {
	case loss.FateCapture:
		b.WriteString(" lost by the capture, inside the recorded gap of " + num(f.GapLost) + " frame")
		if f.GapLost != 1 {
			b.WriteString("s")
		}
		b.WriteString(" before frame " + frameNum(f.Gap))
	case loss.FateCaptureUnexplained:
		b.WriteString(" lost by the capture, not explained by any recorded gap")
	case loss.FateUpstream:
		if f.Evidence.Packets() {
			them := "them"
			if !plural {
				them = "it"
			}
			b.WriteString(" lost before the capture point (no recorded gap can hold " + them + ")")
		} else {
			b.WriteString(" lost before the capture point: retransmitted at frame " + frameNum(f.Ref))
		}
	case loss.FateAmbiguous:
		b.WriteString(" lost by the capture or before it (ambiguous): retransmitted at frame " + frameNum(f.Ref))
	case loss.FateUnknown:
		b.WriteString(" never retransmitted nor acknowledged while the capture saw the flow: fate unknown")
	}
	return b.String()
}

// amount says how much a fate covers: "2 segments (2,896 bytes)", "1 RTP
// packet", and whether that is plural.
func amount(f loss.Fate) (string, bool) {
	if f.Evidence.Packets() {
		if f.Segments == 1 {
			return "1 " + f.Evidence.PacketName(), false
		}
		return num(f.Segments) + " " + f.Evidence.PacketName() + "s", true
	}
	s := num(f.Segments) + " segment"
	if f.Segments != 1 {
		s += "s"
	}
	s += " (" + num(f.Bytes) + " byte"
	if f.Bytes != 1 {
		s += "s"
	}
	return s + ")", f.Segments != 1
}

// frameNum formats a frame number as Wireshark shows it: 1452.
func frameNum(n uint64) string { return strconv.FormatUint(n, 10) }

// num formats a count with thousands separators: 2,896.
func num(n uint64) string { return numfmt.Int(n) }
