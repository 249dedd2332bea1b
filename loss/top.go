package loss

import (
	"cmp"
	"math"
)

// Score is how much a flow with counters c lost, the figure flows are
// ranked by (Flow.LossScore): its estimated share of the lost frames plus
// its TCP segments lost in the capture, upstream or either (ambiguous),
// and its RTP packets and sequence families' packets lost in the capture
// or before it.
func Score(c *Counters) float64 {
	seqCapture, seqOutside := c.SeqLost()
	return c.EstLost + float64(c.CaptureLostSegments+c.UpstreamLostSegments+c.AmbiguousSegments+c.RTPLostCapture+c.RTPLostUpstream+seqCapture+seqOutside)
}

// CompareLoss orders flows as every output lists "the flows that lost
// most": LossScore rounded to 6 decimals (so that the order is the same on
// every platform, whatever the last bits of a sum), largest first, then
// the smaller flow id. It returns a negative number when a comes first.
func CompareLoss(a, b *Flow) int {
	if c := cmp.Compare(Round6(b.LossScore), Round6(a.LossScore)); c != 0 {
		return c
	}
	return cmp.Compare(a.FlowID, b.FlowID)
}

// Round6 rounds an estimate to 6 decimal places, as every output shows
// it and as flows are ranked by it: sums of shares may differ in their
// last bits between platforms (fused multiply-add), the rounded figures
// do not.
func Round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// compareLoss is CompareLoss for topn.Keeper.
func compareLoss(a, b **Flow) int { return CompareLoss(*a, *b) }
