package loss_test

import (
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
)

// account runs the engine with cfg over a capture joined with opt, frame
// by frame, and returns its summary; a read error fails the test.
func account(t testing.TB, path string, opt join.Options, cfg loss.Config) *loss.Summary {
	t.Helper()
	_, sum := accountEngine(t, path, opt, cfg)
	return sum
}

// accountEngine is account, returning the engine too (Engine.Live).
func accountEngine(t testing.TB, path string, opt join.Options, cfg loss.Config) (*loss.Engine, *loss.Summary) {
	t.Helper()
	s, err := join.Open([]string{path}, opt)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := loss.NewEngine(cfg)
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		e.Add(f)
	}
	return e, e.Finish(s.Files())
}

// run accounts a capture (with its sidecar unless noSidecar) and returns
// the summary with every flow. It runs the capture twice, with every TCP
// state kept unpacked and with all but one packed after each segment, and
// fails the test unless both give the same summary.
func run(t testing.TB, path string, noSidecar bool) *loss.Summary {
	t.Helper()
	var sums [2]*loss.Summary
	for i, unpacked := range []int{-1, 1} {
		sums[i] = account(t, path, join.Options{NoSidecar: noSidecar}, loss.Config{KeepFlows: true, KeepGaps: true, Unpacked: unpacked})
	}
	if !reflect.DeepEqual(sums[0], sums[1]) {
		t.Fatalf("%s: the summary with packed TCP states differs from the one without", path)
	}
	return sums[0]
}

type rng struct{ lo, hi uint32 }

// coverage is a list of byte ranges.
type coverage []rng

// TestSyntheticGroundTruth generates a capture with known upstream loss,
// deletes frames with a known list, and checks every TCP figure against
// an oracle computed from the generator's log and the deletion list.
func TestSyntheticGroundTruth(t *testing.T) {
	for _, tc := range []struct {
		name      string
		flows     int
		upstream  float64
		drop      float64
		seed      uint64
		isn       uint32 // server ISN; near 2^32 the sequence numbers wrap
		midStream bool   // no handshake: flows first seen mid-stream
	}{
		{name: "uniform-2pct", flows: 20, upstream: 0.02, drop: 0.02, seed: 1},
		{name: "heavy-10pct", flows: 7, upstream: 0.03, drop: 0.10, seed: 2},
		{name: "one-flow", flows: 1, upstream: 0.05, drop: 0.05, seed: 3},
		{name: "seq-wraparound", flows: 3, upstream: 0.03, drop: 0.05, seed: 4, isn: 1<<32 - 500_000},
		{name: "mid-stream", flows: 5, upstream: 0.03, drop: 0.05, seed: 5, midStream: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			orig := filepath.Join(dir, "orig.pcap")
			f, err := os.Create(orig)
			if err != nil {
				t.Fatal(err)
			}
			const payload = 1000
			tr, err := synth.Generate(f, synth.Config{Flows: tc.flows, Frames: 4000, Payload: payload, AckEvery: 2,
				Handshake: !tc.midStream, Upstream: tc.upstream, Seed: tc.seed, StartNs: 1_700_000_000_000_000_000, StepNs: 50_000,
				ServerISN: tc.isn}, true)
			f.Close()
			if err != nil {
				t.Fatal(err)
			}
			// Choose the frames to delete, sparing the handshakes: a flow
			// whose handshake and first data were all lost has no sequence
			// base to measure holes from.
			r := rand.New(rand.NewPCG(tc.seed, 99))
			deleted := map[int]bool{} // 0-based frame index in the original
			var list []string
			for i := 3 * tc.flows; i < len(tr.Frames); i++ {
				if tc.midStream && i < 6*tc.flows {
					continue // the first data segments give each flow its base
				}
				if r.Float64() < tc.drop {
					deleted[i] = true
					list = append(list, strconv.Itoa(i+1))
				}
			}
			model, err := simulate.ParseModel("list:" + strings.Join(list, ","))
			if err != nil {
				t.Fatal(err)
			}
			thin := filepath.Join(dir, "thin.pcap")
			if _, err := simulate.Run(simulate.Config{Input: orig, Output: thin, Model: model}); err != nil {
				t.Fatal(err)
			}

			want := oracle(tr, deleted, tc.flows)
			got := run(t, thin, false)
			if got.FramesLost != uint64(len(deleted)) {
				t.Errorf("frames_lost = %d, want %d", got.FramesLost, len(deleted))
			}
			byFlow := map[int]*loss.Flow{}
			for _, fl := range got.List {
				if fl.Proto != "tcp" {
					continue
				}
				// Flow i's client is 10.x.y.z with z = i's low byte (synth).
				var a, b, c, d int
				fmt.Sscanf(fl.SrcIP, "%d.%d.%d.%d", &a, &b, &c, &d)
				if a == 192 {
					fmt.Sscanf(fl.DstIP, "%d.%d.%d.%d", &a, &b, &c, &d)
				}
				byFlow[b<<16|c<<8|d] = fl
			}
			var estErr, trueLost float64
			for i := 0; i < tc.flows; i++ {
				fl := byFlow[i]
				if fl == nil {
					t.Fatalf("flow %d missing", i)
				}
				w := want[i]
				check := func(name string, got, want uint64) {
					t.Helper()
					if got != want {
						t.Errorf("flow %d %s = %d, want %d", i, name, got, want)
					}
				}
				check("capture_lost_bytes", fl.CaptureLostBytes, w.captureLost)
				check("capture_explained_bytes", fl.CaptureExplainedBytes, w.captureLost)
				check("capture_unexplained_bytes", fl.CaptureUnexplainedBytes, 0)
				check("upstream_lost_bytes", fl.UpstreamLostBytes, w.upstream)
				check("ambiguous_bytes", fl.AmbiguousBytes, w.ambiguous)
				check("unknown_bytes", fl.UnknownBytes, w.unknown)
				check("missed_bytes", fl.MissedBytes, w.captureLost+w.unknown)
				check("duplicates", fl.Duplicates, 0)
				check("downstream_lost_segments", fl.DownstreamLostSegments, 0)
				check("spurious_retransmissions", fl.SpuriousRetransmissions, 0)
				check("reordered", fl.Reordered, 0)
				estErr += math.Abs(fl.EstLost - float64(w.framesDeleted))
				trueLost += float64(w.framesDeleted)
			}
			// The estimator's error: the share of lost frames attributed to
			// the wrong flow (half the L1 distance). With round-robin
			// flows the local packet rate is exact, so it stays small.
			misattributed := estErr / 2 / trueLost
			t.Logf("est_lost misattributes %.1f%% of %v lost frames over %d flows", 100*misattributed, trueLost, tc.flows)
			if tc.flows == 1 && misattributed > 1e-9 {
				t.Errorf("one flow: est_lost must be exact, misattributed %.3f", misattributed)
			}
			if misattributed > 0.2 {
				t.Errorf("est_lost misattributes %.1f%% of lost frames (bound 20%%)", 100*misattributed)
			}
			if got.Consistency == nil || *got.Consistency != 1 {
				t.Errorf("consistency = %v, want 1", got.Consistency)
			}

			// Without the sidecar the same loss is all unexplained.
			bare := run(t, thin, true)
			if bare.FramesLost != 0 || bare.Flows.CaptureExplainedBytes != 0 {
				t.Errorf("without sidecar: frames_lost %d, explained %d; want 0, 0", bare.FramesLost, bare.Flows.CaptureExplainedBytes)
			}
			if bare.Flows.CaptureUnexplainedBytes != got.Flows.CaptureLostBytes {
				t.Errorf("without sidecar: unexplained %d, want %d", bare.Flows.CaptureUnexplainedBytes, got.Flows.CaptureLostBytes)
			}
			// Ranges whose original was lost upstream become ambiguous, not
			// upstream, only when a deletion lies in their bracket.
			if got.Flows.UpstreamLostBytes+got.Flows.AmbiguousBytes > bare.Flows.UpstreamLostBytes+bare.Flows.AmbiguousBytes {
				t.Errorf("sidecar created upstream loss")
			}
		})
	}
}

type expect struct {
	captureLost, upstream, ambiguous, unknown uint64
	framesDeleted                             int
}

// oracle derives the expected fates from the generator's log, whole
// capture at once: per flow, server data ranges present in the thinned
// capture, the client's highest acknowledgement, and for each upstream
// retransmission that remains whether a deleted frame lies in its hole's
// original bracket.
func oracle(tr *synth.Truth, deleted map[int]bool, flows int) []expect {
	out := make([]expect, flows)
	type seen struct {
		present                 coverage
		maxAck, highest         uint32
		lastSrv                 int // bracket start: the 4th-last kept server frame that advanced the highest sequence number
		lastTop                 int // the last kept server frame that advanced the highest sequence number
		tops                    []int
		holes                   []hole
		retxPresent, origAbsent map[uint32]bool
	}
	st := make([]seen, flows)
	for i := range st {
		st[i].lastSrv = -1
		st[i].lastTop = -1
		st[i].highest = 1
	}
	for i, f := range tr.Frames {
		s := &st[f.Flow]
		if deleted[i] {
			out[f.Flow].framesDeleted++
			continue
		}
		switch f.Kind {
		case synth.KindAck:
			if f.Ack > s.maxAck {
				s.maxAck = f.Ack
			}
		case synth.KindData, synth.KindRetx:
			end := f.Seq + uint32(f.Len)
			if f.Seq > s.highest {
				// The hole's exact bracket: after the last kept frame
				// that advanced the highest sequence number, up to this
				// one. Each deleted frame in it may have carried one
				// original of the hole.
				h := hole{start: s.highest, end: f.Seq}
				for j := s.lastTop + 1; j <= i; j++ {
					if deleted[j] {
						h.gapFrames++
					}
				}
				s.holes = append(s.holes, h)
			}
			if f.Kind == synth.KindRetx {
				// Fills part of an earlier hole: upstream, or ambiguous
				// while the deleted frames of its bracket last.
				for k := range s.holes {
					h := &s.holes[k]
					if f.Seq >= h.start && end <= h.end {
						amb := h.gapFrames > 0
						if amb {
							h.gapFrames--
						}
						if amb {
							out[f.Flow].ambiguous += uint64(f.Len)
						} else {
							out[f.Flow].upstream += uint64(f.Len)
						}
					}
				}
			}
			s.present = append(s.present, rng{f.Seq, end})
			if end >= s.highest {
				// What is sent beyond the highest sequence number was
				// sent after the frame that carried it, not merely after
				// the latest (re)transmission.
				s.highest = end
				s.tops = append(s.tops, i)
				s.lastSrv = s.tops[max(0, len(s.tops)-4)]
				s.lastTop = i
			}
		}
	}
	for fi := range st {
		s := &st[fi]
		top := s.highest
		if s.maxAck > top {
			top = s.maxAck
		}
		sort.Slice(s.present, func(a, b int) bool { return s.present[a].lo < s.present[b].lo })
		// Sweep the sorted ranges: what lies in [1, top) and is covered by
		// none of them was never seen.
		count := func(lo, hi uint32) {
			if hi <= lo {
				return
			}
			split := min(max(lo, s.maxAck), hi)
			out[fi].captureLost += uint64(split - lo)
			out[fi].unknown += uint64(hi - split)
		}
		pos := uint32(1)
		for _, r := range s.present {
			if r.lo > pos {
				count(pos, min(r.lo, top))
			}
			pos = max(pos, r.hi)
		}
		count(pos, top)
	}
	return out
}

type hole struct {
	gapFrames  int // deleted frames in the hole's exact bracket not yet taken
	start, end uint32
}
