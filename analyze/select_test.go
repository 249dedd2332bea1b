package analyze

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/simulate"
)

// The window tests' capture: synth's two flows take turns (input frame n
// belongs to flow (n-1)%2, client port 10000 or 10001), one frame a
// microsecond; simulate deletes these input frames, so the truth of every
// gap is known from the list alone.
var (
	windowDeleted = [][2]uint64{{100, 104}, {501, 501}, {801, 810}, {995, 1000}}
	windowFrames  = 1000
	windowStart   = int64(1_700_000_000_000_000_000)
)

// windowGap is a gap of the thinned capture, derived from windowDeleted.
type windowGap struct {
	frame, prev, lost uint64 // output frame numbers
	inFrame           uint64 // input frame carrying it
}

// windowTruth returns the thinned capture's gaps (not the tail), its tail
// and its frame count, by counting the deletions.
func windowTruth() (gaps []windowGap, tail uint64, frames uint64) {
	var deleted uint64
	for _, r := range windowDeleted {
		n := r[1] - r[0] + 1
		if int(r[1]) == windowFrames {
			tail = n
		} else {
			after := r[1] + 1 // the input frame after the deletion
			out := after - deleted - n
			gaps = append(gaps, windowGap{frame: out, prev: out - 1, lost: n, inFrame: after})
		}
		deleted += n
	}
	return gaps, tail, uint64(windowFrames) - deleted
}

// outNumber returns the output frame number of input frame in (kept).
func outNumber(in uint64) uint64 {
	n := in
	for _, r := range windowDeleted {
		if r[1] < in {
			n -= r[1] - r[0] + 1
		}
	}
	return n
}

func windowCapture(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := synth.Generate(f, synth.Config{Flows: 2, Frames: windowFrames, Payload: 100, AckEvery: 2, StartNs: windowStart, StepNs: 1000}, false); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "thin.pcap")
	if _, err := simulate.Run(simulate.Config{Input: in, Output: out, Model: simulate.List{Ranges: windowDeleted}}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestSelectionWindowsAndGaps holds the semantics of docs/report.md
// ("Selecting frames") against the deletions simulate made: a filter hides
// no gap (the gap list and totals keep every gap of the window, with the
// numbers of the whole file) while the flows see only the selected frames,
// with their frame numbers in the file; a window keeps the gaps inside
// it, the gap of a window that began mid-gap counted once (with the frame
// before it, outside the window), and the tail only when the window
// reaches the end.
func TestSelectionWindowsAndGaps(t *testing.T) {
	path := windowCapture(t)
	gaps, tail, frames := windowTruth()
	us := func(in uint64) time.Duration { return time.Duration(in-1) * time.Microsecond } // input frame's offset
	at := func(in uint64) string {
		return time.Unix(0, windowStart+int64(us(in))).UTC().Format(time.RFC3339Nano)
	}
	start := func(s string) selection.Time { v, err := selection.ParseTime(s); must(t, err); return v }
	// inWindow keeps the gaps whose carrying frame is in the output frame range [lo, hi].
	inRange := func(lo, hi uint64) []windowGap {
		var out []windowGap
		for _, g := range gaps {
			if g.frame >= lo && g.frame <= hi {
				out = append(out, g)
			}
		}
		return out
	}
	cases := []struct {
		name     string
		sel      selection.Select
		gaps     []windowGap
		tail     uint64
		captured uint64
		flows    []uint64 // client ports of the flows kept
	}{
		{"filter hides no gap", selection.Select{Filter: "port 10001"}, gaps, tail, frames, []uint64{10001}},
		{"filter hides no gap 2", selection.Select{Filter: "port 10000"}, gaps, tail, frames, []uint64{10000}},
		{"frames from the gap's frame", selection.Select{FirstFrame: gaps[0].frame, LastFrame: 800}, inRange(gaps[0].frame, 800), 0, 800 - gaps[0].frame + 1, []uint64{10000, 10001}},
		{"frames after the gap", selection.Select{FirstFrame: gaps[0].frame + 1}, inRange(gaps[0].frame+1, frames), tail, frames - gaps[0].frame, []uint64{10000, 10001}},
		// Starts at input frame 102, deleted: the window begins mid-gap,
		// whose 5 frames count once, on output frame 100; ends at
		// input frame 810, deleted, before the third gap's frame.
		{"time window from mid-gap", selection.Select{Start: start("+" + us(102).String()), End: start("+" + us(810).String())}, inRange(gaps[0].frame, outNumber(800)), 0, outNumber(800) - gaps[0].frame + 1, []uint64{10000, 10001}},
		{"the same in RFC 3339", selection.Select{Start: start(at(102)), End: start(at(810))}, inRange(gaps[0].frame, outNumber(800)), 0, outNumber(800) - gaps[0].frame + 1, []uint64{10000, 10001}},
		{"window and filter", selection.Select{Filter: "port 10001", FirstFrame: 300}, inRange(300, frames), tail, frames - 299, []uint64{10001}},
	}
	for _, tc := range cases {
		for _, workers := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/workers=%d", tc.name, workers), func(t *testing.T) {
				var onGap []loss.GapRef
				r, err := Run(Config{Captures: []string{path}, KernelDrops: -1, Workers: workers, Select: tc.sel,
					Engine: loss.Config{KeepFlows: true, KeepGaps: true, OnGap: func(g loss.GapRef) { onGap = append(onGap, g) }}})
				if err != nil {
					t.Fatal(err)
				}
				s := r.Summary
				var want []loss.GapRef
				var lost uint64
				for _, g := range tc.gaps {
					want = append(want, loss.GapRef{Frame: g.frame, PrevFrame: g.prev, Lost: g.lost,
						Ns: windowStart + int64(us(g.inFrame)), PrevNs: windowStart + int64(us(g.inFrame-g.lost-1))})
					lost += g.lost
				}
				if !slices.Equal(s.Gaps, want) || !slices.Equal(onGap, want) {
					t.Errorf("gaps:\n got %+v\n OnGap %+v\nwant %+v", s.Gaps, onGap, want)
				}
				if s.GapEvents != uint64(len(want)) || s.TailGap != tc.tail || s.FramesLost != lost+tc.tail || s.FramesCaptured != tc.captured {
					t.Errorf("totals %d gap events, %d lost, tail %d, %d captured; want %d, %d, %d, %d",
						s.GapEvents, s.FramesLost, s.TailGap, s.FramesCaptured, len(want), lost+tc.tail, tc.tail, tc.captured)
				}
				var ports []uint64
				var packets uint64
				for _, fl := range s.List {
					port := fl.SrcPort // the client's; the server's is 80
					if port == 80 {
						port = fl.DstPort
					}
					ports = append(ports, uint64(port))
					packets += fl.Packets
					// Frame numbers of the whole file: the flow's frames
					// are every other frame, so its first and last frames
					// in the window are easy to find by hand.
					if fl.FirstFrame < 1 || fl.LastFrame > frames {
						t.Errorf("flow %d frames %d..%d outside the file", port, fl.FirstFrame, fl.LastFrame)
					}
				}
				slices.Sort(ports)
				if !slices.Equal(ports, tc.flows) {
					t.Errorf("flows of client ports %v, want %v", ports, tc.flows)
				}
				if packets != r.Selected {
					t.Errorf("flows hold %d packets, %d frames selected", packets, r.Selected)
				}
			})
		}
	}
}

// TestSelectionFlowFrames: with a filter, a flow's first and last frame
// are its frame numbers in the file (1-based over the set), not counts of
// the frames selected.
//
// With the flows live at the end deferred (loss.Config.DeferLive, as
// the JSON, CSV and NDJSON reports ask), a selection hands them to OnFlow all the
// same, for their frame numbers to be translated: none is left in
// Result.Live.
func TestSelectionFlowFrames(t *testing.T) {
	path := windowCapture(t)
	for _, workers := range []int{1, 2} {
		for _, deferLive := range []bool{false, true} {
			var handed []loss.Flow
			r, err := Run(Config{Captures: []string{path}, KernelDrops: -1, Workers: workers,
				Select: selection.Select{Filter: "port 10001"},
				Engine: loss.Config{KeepFlows: true, DeferLive: deferLive, OnFlow: func(f *loss.Flow) { handed = append(handed, *f) }}})
			if err != nil {
				t.Fatal(err)
			}
			if len(r.Summary.List) != 1 || len(handed) != 1 || r.Live != nil {
				t.Fatalf("%d flows, %d handed out, live %v: want 1, 1, none", len(r.Summary.List), len(handed), r.Live)
			}
			// Flow 1 has the even input frames; its first is input 2
			// (output 2), its last kept one input 994 (after 16
			// deletions: 978).
			for _, fl := range []*loss.Flow{r.Summary.List[0], &handed[0]} {
				if fl.FirstFrame != outNumber(2) || fl.LastFrame != outNumber(994) {
					t.Errorf("workers %d, deferred %v: flow frames %d..%d, want %d..%d", workers, deferLive, fl.FirstFrame, fl.LastFrame, outNumber(2), outNumber(994))
				}
			}
		}
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
