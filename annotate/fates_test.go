package annotate

import (
	"testing"

	"github.com/gapan/gapan/loss"
)

// TestFateComment pins the words of each fate (docs/wireshark.md lists
// them).
func TestFateComment(t *testing.T) {
	for _, c := range []struct {
		f    loss.Fate
		want string
	}{
		{loss.Fate{Frame: 303, Kind: loss.FateCapture, Bytes: 2896, Segments: 2, Gap: 302, GapLost: 40, Ref: 310},
			"gapan: 2 segments (2,896 bytes) before this frame were lost by the capture, inside the recorded gap of 40 frames before frame 302"},
		{loss.Fate{Frame: 303, Kind: loss.FateCapture, Acked: true, Bytes: 1448, Segments: 1, Gap: 302, GapLost: 1, Ref: 303},
			"gapan: 1 segment (1,448 bytes) this frame acknowledges, never seen by the capture, was lost by the capture, inside the recorded gap of 1 frame before frame 302"},
		{loss.Fate{Frame: 303, Kind: loss.FateCaptureUnexplained, Bytes: 2896, Segments: 2},
			"gapan: 2 segments (2,896 bytes) before this frame were lost by the capture, not explained by any recorded gap"},
		{loss.Fate{Frame: 303, Kind: loss.FateUpstream, Bytes: 1448, Segments: 1, Ref: 1418},
			"gapan: 1 segment (1,448 bytes) before this frame was lost before the capture point: retransmitted at frame 1418"},
		{loss.Fate{Frame: 303, Kind: loss.FateAmbiguous, Bytes: 1448, Segments: 1, Ref: 418},
			"gapan: 1 segment (1,448 bytes) before this frame was lost by the capture or before it (ambiguous): retransmitted at frame 418"},
		{loss.Fate{Frame: 303, Kind: loss.FateUnknown, Bytes: 1, Segments: 1},
			"gapan: 1 segment (1 byte) before this frame was never retransmitted nor acknowledged while the capture saw the flow: fate unknown"},
		{loss.Fate{Frame: 418, Kind: loss.FateDownstream, Bytes: 1448, Segments: 1},
			"gapan: this frame retransmits 1 segment (1,448 bytes) the capture saw: lost after the capture point (downstream)"},
		{loss.Fate{Frame: 418, Kind: loss.FateUpstream, Resend: true, Bytes: 1448, Segments: 1, Ref: 303},
			"gapan: retransmission repairing upstream loss (1 segment (1,448 bytes), missing before frame 303)"},
		{loss.Fate{Frame: 418, Kind: loss.FateAmbiguous, Resend: true, Bytes: 1448, Segments: 1, Ref: 303},
			"gapan: retransmission of 1 segment (1,448 bytes) lost by the capture or before it (ambiguous; missing before frame 303)"},
		{loss.Fate{Frame: 418, Kind: loss.FateSpurious, Resend: true, Bytes: 1448, Segments: 1},
			"gapan: spurious retransmission of 1 segment (1,448 bytes) the receiver had acknowledged"},
		{loss.Fate{Frame: 418, Kind: loss.FateSpurious, Resend: true, Bytes: 1448, Segments: 1, Ref: 400},
			"gapan: spurious retransmission of 1 segment (1,448 bytes) the receiver had acknowledged at frame 400 (the capture missed the original)"},
		{loss.Fate{Frame: 30, Kind: loss.FateCapture, Evidence: loss.EvidenceRTP, Segments: 3, Gap: 29, GapLost: 3},
			"gapan: 3 RTP packets before this frame were lost by the capture, inside the recorded gap of 3 frames before frame 29"},
		{loss.Fate{Frame: 30, Kind: loss.FateUpstream, Evidence: loss.EvidenceRTP, Segments: 1},
			"gapan: 1 RTP packet before this frame was lost before the capture point (no recorded gap can hold it)"},
		{loss.Fate{Frame: 42, Kind: loss.FateCapture, Evidence: loss.EvidenceESP, Segments: 2, Gap: 41, GapLost: 2},
			"gapan: 2 ESP packets before this frame were lost by the capture, inside the recorded gap of 2 frames before frame 41"},
		{loss.Fate{Frame: 42, Kind: loss.FateUpstream, Evidence: loss.EvidenceGTPU, Segments: 1},
			"gapan: 1 GTP-U packet before this frame was lost before the capture point (no recorded gap can hold it)"},
		{loss.Fate{Frame: 42, Kind: loss.FateCaptureUnexplained, Evidence: loss.EvidenceICMP, Segments: 1},
			"gapan: 1 ICMP echo packet before this frame was lost by the capture, not explained by any recorded gap"},
	} {
		if got := FateComment(c.f); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.f, got, c.want)
		}
	}
}

// TestFateRecordEvidence: a fate of packets says "packets=", and for a
// sequence family which one ("evidence="), as the plugin reads it; RTP's
// record stays as it was.
func TestFateRecordEvidence(t *testing.T) {
	for _, c := range []struct {
		f    loss.Fate
		want string
	}{
		{loss.Fate{FlowID: 3, Kind: loss.FateCapture, Evidence: loss.EvidenceESP, Segments: 2, Gap: 41, GapLost: 2}, "flow=3 | fate=capture packets=2 evidence=esp gap=41 gap_lost=2"},
		{loss.Fate{FlowID: 3, Kind: loss.FateUpstream, Evidence: loss.EvidenceRTP, Segments: 1}, "flow=3 | fate=upstream packets=1"},
		{loss.Fate{FlowID: 3, Kind: loss.FateCaptureUnexplained, Evidence: loss.EvidenceICMP, Segments: 1}, "flow=3 | fate=capture_unexplained packets=1 evidence=icmp"},
	} {
		if got := string(fateRecord(nil, []loss.Fate{c.f})); got != c.want {
			t.Errorf("%+v:\n got %q\nwant %q", c.f, got, c.want)
		}
	}
}
