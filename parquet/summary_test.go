package parquet

import (
	"testing"
	"time"
)

// TestSummary: the totals over the captures, in words, and the rate.
func TestSummary(t *testing.T) {
	r := &Result{Dir: "ds", Captures: []CaptureResult{
		{Stats: Stats{Frames: 1500, Gaps: 3, Flows: 7, Lost: 12}},
		{Stats: Stats{Frames: 500, Gaps: 1, Flows: 1, Lost: 1}},
	}}
	const want = "ds: 2 captures, 2,000 frames, 4 gap rows (13 frames lost), 8 flows in 0.50s (4000 frames/s)"
	if got := r.Summary(500 * time.Millisecond); got != want {
		t.Errorf("Summary = %q\nwant      %q", got, want)
	}
	one := &Result{Dir: "d", Captures: []CaptureResult{{Stats: Stats{Frames: 1, Gaps: 1, Flows: 1, Lost: 1}}}}
	const wantOne = "d: 1 capture, 1 frame, 1 gap row (1 frame lost), 1 flow in 2.00s (0 frames/s)"
	if got := one.Summary(2 * time.Second); got != wantOne {
		t.Errorf("Summary = %q\nwant      %q", got, wantOne)
	}
}
