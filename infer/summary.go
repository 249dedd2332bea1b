package infer

import (
	"bytes"

	"github.com/gapan/gapan/internal/numfmt"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/sidecar"
)

// Sidecar returns the sidecar WriteSidecar writes, held in memory and
// open for reading: a run reads it as the capture's sidecar through
// join.Options.Readers (gapan report --infer), no file written.
func (r *Result) Sidecar(tool string, createdNs int64) (sidecar.RecordReader, error) {
	var b bytes.Buffer
	if err := r.WriteSidecar(&b, tool, createdNs); err != nil {
		return nil, err
	}
	return sidecar.NewReader(&b)
}

// Summary says in words what r inferred, as gapan infer prints it: the
// gap events and the frames they lost, and, with a capture-wide total,
// what of it no gap could take.
func (r *Result) Summary() string {
	s := plural.Count(len(r.Gaps), "inferred gap event") + ", " + plural.CountOf(r.Lost(), "frame lost", "frames lost") + " (inferred)"
	if r.HasTotal {
		s += "; of the total of " + numfmt.Int(r.Total) + ", " + plural.CountOf(r.Unplaced, "frame lost", "frames lost") + ", position unknown"
	}
	return s
}
