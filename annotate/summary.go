package annotate

import (
	"fmt"

	"github.com/gapan/gapan/internal/plural"
)

// Summary says in words what an annotation wrote, as gapan annotate
// prints it: frames, interfaces, frames with a gap before them, frames
// lost with the tail among them.
func (st Stats) Summary() string {
	return fmt.Sprintf("%s, %s; %s, %s (tail %d)", plural.Count(st.Frames, "frame"), plural.Count(st.Interfaces, "interface"),
		plural.CountOf(st.GapFrames, "frame with a gap before it", "frames with a gap before them"), plural.CountOf(st.Lost+st.Tail, "frame lost", "frames lost"), st.Tail)
}

// Summary says in words what an extraction found, as gapan sidecar
// extract prints it.
func (st ExtractStats) Summary() string {
	return fmt.Sprintf("%s, %d with epb_dropcount; %s, %s (tail %d)", plural.Count(st.Frames, "frame"), st.DropCountFrames,
		plural.Count(st.Records, "record"), plural.CountOf(st.Lost+st.Tail, "frame lost", "frames lost"), st.Tail)
}

// Warnings says what of an extraction from input deserves a warning: the
// damage KeepGoing stopped at, an input without any drop count, and
// interfaces whose isb_ifdrop is below the sum of their drop counts.
func (st ExtractStats) Warnings(input string) []string {
	var w []string
	if st.Damage != nil {
		w = append(w, fmt.Sprintf("stopped at damage (--keep-going): %v", st.Damage))
	}
	if st.DropCountFrames == 0 {
		w = append(w, input+" has no epb_dropcount option; the sidecar records no loss")
	}
	if st.Inconsistent > 0 {
		w = append(w, plural.CountOf(st.Inconsistent, "interface reports", "interfaces report")+" an isb_ifdrop below the sum of its drop counts; no tail inferred")
	}
	return w
}
