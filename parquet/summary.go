package parquet

import (
	"fmt"
	"time"

	"github.com/gapan/gapan/internal/plural"
)

// Summary says in words what the dataset holds and how fast it was
// written, given the time WriteDataset took, as gapan parquet prints it.
func (r *Result) Summary(elapsed time.Duration) string {
	t := r.Total()
	return fmt.Sprintf("%s: %s, %s, %s (%s), %s in %.2fs (%.0f frames/s)", r.Dir, plural.Count(len(r.Captures), "capture"), plural.Count(t.Frames, "frame"),
		plural.Count(t.Gaps, "gap row"), plural.CountOf(t.Lost, "frame lost", "frames lost"), plural.Count(t.Flows, "flow"), elapsed.Seconds(), float64(t.Frames)/max(elapsed.Seconds(), 1e-9))
}
