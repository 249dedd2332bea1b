package report

import (
	"fmt"
	"time"

	"github.com/gapan/gapan/loss"
)

// formatTime formats a timestamp in nanoseconds since the epoch the way the
// report prints it: "2026-11-02 12:00:01.000123456 UTC", in loc (UTC when
// loc is nil).
func formatTime(ns int64, loc *time.Location) string {
	if loc == nil {
		loc = time.UTC
	}
	return time.Unix(0, ns).In(loc).Format("2006-01-02 15:04:05.000000000 MST")
}

// DescribeGap says in words where a gap is: "40 frames lost between frame
// 302 (2026-11-02 12:00:01.000123456 UTC) and frame 303 (… UTC)".
func DescribeGap(g loss.GapRef, loc *time.Location) string {
	unit := "frames"
	if g.Lost == 1 {
		unit = "frame"
	}
	var s string
	if g.PrevFrame == 0 {
		s = fmt.Sprintf("%d %s lost before frame %d (%s), the first frame", g.Lost, unit, g.Frame, formatTime(g.Ns, loc))
		if g.Interface > 0 {
			s += fmt.Sprintf(" on interface %d", g.Interface)
		}
	} else {
		s = fmt.Sprintf("%d %s lost between frame %d (%s) and frame %d (%s)", g.Lost, unit, g.PrevFrame, formatTime(g.PrevNs, loc), g.Frame, formatTime(g.Ns, loc))
		if g.Interface > 0 || g.PrevFrame != g.Frame-1 {
			s += fmt.Sprintf(" on interface %d", g.Interface)
		}
	}
	if g.Capture != "" {
		s += " of " + g.Capture
	}
	return s
}
