package simulate

import (
	"fmt"

	"github.com/gapan/gapan/internal/plural"
)

// Summary says in words what a simulation did, as gapan simulate prints
// it: frames in, written and dropped by the model, and the output
// sidecar's gap events and frames lost (tail included).
func (st Stats) Summary() string {
	return fmt.Sprintf("%s in, %d written, %d dropped by the model; sidecar: %s, %s (tail %d)",
		plural.Count(st.FramesIn, "frame"), st.FramesOut, st.Dropped, plural.Count(st.GapEvents, "gap event"), plural.CountOf(st.Lost, "frame lost", "frames lost"), st.Tail)
}
