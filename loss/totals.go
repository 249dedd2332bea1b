package loss

import "github.com/gapan/gapan/join"

// GapRef names one gap: Lost frames lost on an interface between frame
// PrevFrame and frame Frame of capture File (an index into the set; 0 for a
// single capture). PrevFrame is the previous frame on the same interface,
// 0 when Frame is the interface's first frame in the file.
type GapRef struct {
	Frame     uint64 `json:"frame"`
	Lost      uint64 `json:"lost"`
	PrevFrame uint64 `json:"prev_frame"`
	PrevNs    int64  `json:"prev_ts_ns"`
	Ns        int64  `json:"ts_ns"`
	Interface int    `json:"interface"`
	File      int    `json:"-"`
	Capture   string `json:"capture,omitempty"`
}

// Totals are the capture-wide loss figures (docs/metrics.md). The JSON
// names are those of the report's summary.
type Totals struct {
	FramesCaptured uint64  `json:"frames_captured"`
	GapEvents      uint64  `json:"gap_events"`
	FramesLost     uint64  `json:"frames_lost"`
	TailGap        uint64  `json:"tail_gap"`
	LargestGap     *GapRef `json:"largest_gap"`
	LossRatio      float64 `json:"loss_ratio"`
}

// TotalsCounter counts the capture-wide Totals over a joined stream (the
// frames, the gaps, the largest gap, the tail). Its zero value is ready
// to use.
type TotalsCounter struct {
	// KeepGaps makes Add collect every gap into Gaps.
	KeepGaps bool
	// Gaps holds every gap in frame order when KeepGaps is set.
	Gaps []GapRef
	// OnGap, if set, is called with every gap, in frame order, as Add
	// finds it (Capture not yet set).
	OnGap func(GapRef)

	t       Totals
	largest GapRef
	file    int
	last    []lastFrame // per interface of the current file
}

type lastFrame struct {
	number uint64
	ns     int64
}

// Add counts one joined frame. Frames must come in stream order.
func (c *TotalsCounter) Add(f *join.Frame) {
	c.t.FramesCaptured++
	if f.File != c.file {
		c.file = f.File
		c.last = c.last[:0]
	}
	id := f.InterfaceID
	for len(c.last) <= id {
		c.last = append(c.last, lastFrame{})
	}
	prev := c.last[id]
	c.last[id] = lastFrame{f.Number, f.TimestampNs}
	if f.GapBefore == 0 {
		return
	}
	c.t.GapEvents++
	c.t.FramesLost += f.GapBefore
	g := GapRef{Frame: f.Number, Lost: f.GapBefore, PrevFrame: prev.number, PrevNs: prev.ns, Ns: f.TimestampNs, Interface: id, File: f.File}
	if g.Lost > c.largest.Lost {
		c.largest = g
	}
	if c.KeepGaps {
		c.Gaps = append(c.Gaps, g)
	}
	if c.OnGap != nil {
		c.OnGap(g)
	}
}

// Finish adds the tail gaps of the files and returns the totals. When the
// set has more than one capture, gaps are labelled with their capture's
// name.
func (c *TotalsCounter) Finish(files []join.FileInfo) Totals {
	t := c.t
	for i := range files {
		t.TailGap += files[i].TailTotal()
	}
	t.FramesLost += t.TailGap
	if c.largest.Lost > 0 {
		g := c.largest
		if len(files) > 1 {
			g.Capture = files[g.File].Name
		}
		t.LargestGap = &g
	}
	if len(files) > 1 {
		for i := range c.Gaps {
			c.Gaps[i].Capture = files[c.Gaps[i].File].Name
		}
	}
	if all := t.FramesCaptured + t.FramesLost; all > 0 {
		t.LossRatio = float64(t.FramesLost) / float64(all)
	}
	return t
}
