package loss_test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/loss"
)

// mirrorPlan is what a switch sent on one session and what became of it:
// the numbers it sent in order (a number twice is a duplicate the mirror
// made, two numbers swapped a reordering), the frames (indexes into sent)
// that never reached the capture host (skipped: mirror loss) and those the
// capture host received but its capture dropped (deleted with simulate,
// which records them in the sidecar: capture loss).
type mirrorPlan struct {
	session synth.MirrorSession
	sent    []uint32
	skip    map[int]bool
	drop    map[int]bool
	// want are the figures the plan implies.
	want loss.MirrorSession
}

// seqs returns the numbers from first, n of them, modulo 2^32.
func seqs(first uint32, n int) []uint32 {
	out := make([]uint32, n)
	for i := range out {
		out[i] = first + uint32(i)
	}
	return out
}

// at returns the indexes in sent of the first occurrence of each of nums
// at or after index from.
func at(sent []uint32, from int, nums ...uint32) map[int]bool {
	m := map[int]bool{}
	for _, n := range nums {
		m[from+slices.Index(sent[from:], n)] = true
	}
	return m
}

// mirrorPlans are four sessions: ERSPAN II with mirror and capture loss
// apart and in one run; ERSPAN III across the 32-bit wrap with a
// duplicate and a reordering; GRE with a key whose numbering restarts;
// a clean ERSPAN II session with the same session id as the first from
// another switch; and an ERSPAN III session with two stray frames. Missing numbers are kept at least ten frames of
// the interleaved capture away from another session's, so that each
// recorded gap can only explain its own session's numbers.
func mirrorPlans() []*mirrorPlan {
	sw1, sw2, col := net.IP{192, 0, 2, 1}, net.IP{192, 0, 2, 2}, net.IP{198, 51, 100, 9}
	wrapSent := seqs(1<<32-100, 200)
	// A duplicate of 2^32-60 and a reordering of 2^32-30 and 2^32-29.
	i60 := slices.Index(wrapSent, 1<<32-60)
	wrapSent = slices.Insert(wrapSent, i60+1, 1<<32-60)
	i30 := slices.Index(wrapSent, 1<<32-30)
	wrapSent[i30], wrapSent[i30+1] = wrapSent[i30+1], wrapSent[i30]
	restart := append(seqs(1, 100), seqs(1, 100)...)
	// Two stray frames that the next frame does not continue: one from
	// far back, one from far ahead.
	stray := seqs(500, 150)
	stray = slices.Insert(stray, 60, 400)
	stray = slices.Insert(stray, 100, 500+1<<30)
	return []*mirrorPlan{
		{
			session: synth.MirrorSession{Kind: "erspan2", Src: sw1, Dst: col, ID: 100},
			sent:    seqs(1000, 200),
			// 1170 and 1171 are one run: half mirror, half capture loss.
			skip: at(seqs(1000, 200), 0, 1050, 1100, 1101, 1102, 1170),
			drop: at(seqs(1000, 200), 0, 1020, 1140, 1141, 1171),
			want: loss.MirrorSession{MirrorLost: 5, CaptureLost: 4, Missing: 9},
		},
		{
			session: synth.MirrorSession{Kind: "erspan3", Src: sw2, Dst: col, ID: 7},
			sent:    wrapSent,
			// Across the wrap: 2^32-1 and 0 missing, one each way.
			skip: at(wrapSent, 0, 1<<32-1, 40),
			drop: at(wrapSent, 0, 0, 1<<32-80),
			want: loss.MirrorSession{MirrorLost: 2, CaptureLost: 2, Missing: 4, Duplicates: 1, Late: 1},
		},
		{
			session: synth.MirrorSession{Kind: "gre", Src: sw2, Dst: col, ID: 0xbeef},
			// Numbers 1-100, then the session starts over at 1. The
			// first stretch's 30 is skipped, the second's 70 dropped: each
			// is missing in its own stretch.
			sent: restart,
			skip: at(restart, 0, 30),
			drop: at(restart, 100, 70),
			want: loss.MirrorSession{MirrorLost: 1, CaptureLost: 1, Missing: 2, Restarts: 1},
		},
		{
			session: synth.MirrorSession{Kind: "erspan2", Src: sw2, Dst: col, ID: 100},
			sent:    seqs(5, 150),
		},
		{
			session: synth.MirrorSession{Kind: "erspan3", Src: sw1, Dst: col, ID: 1023},
			sent:    stray,
			want:    loss.MirrorSession{Late: 2},
		},
	}
}

// mirrorCapture writes the plans' capture (sessions interleaved round
// robin, skipped numbers not written) to dir and returns its path and the
// 1-based frames to delete for the dropped numbers.
func mirrorCapture(t *testing.T, dir string, plans []*mirrorPlan) (string, []uint64) {
	t.Helper()
	var sessions []synth.MirrorSession
	var frames []synth.MirrorFrame
	var del []uint64
	for _, p := range plans {
		sessions = append(sessions, p.session)
	}
	for k := 0; ; k++ {
		left := false
		for i, p := range plans {
			if k >= len(p.sent) {
				continue
			}
			left = true
			if p.skip[k] {
				continue
			}
			frames = append(frames, synth.MirrorFrame{Session: i, Seq: p.sent[k], Flow: k % 5})
			if p.drop[k] {
				del = append(del, uint64(len(frames)))
			}
		}
		if !left {
			break
		}
	}
	path := filepath.Join(dir, "mirror.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.MirrorCapture(f, sessions, frames); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	return path, del
}

// TestMirrorSessions deletes frames of known mirror sessions with simulate
// (capture loss, recorded in the sidecar) after writing them without
// some numbers (mirror loss, recorded nowhere), and requires each
// session's figures from the plan: a missing number inside a recorded gap
// is capture_lost, outside mirror_lost; the duplicate, the reordering,
// the wrap and the restart are counted apart. Without the sidecar the
// missing numbers are the same and their split unknown.
func TestMirrorSessions(t *testing.T) {
	dir := t.TempDir()
	plans := mirrorPlans()
	in, del := mirrorCapture(t, dir, plans)
	out := thin(t, in, del)
	for _, noSidecar := range []bool{false, true} {
		sum := run(t, out, noSidecar)
		if len(sum.MirrorSessions) != len(plans) {
			t.Fatalf("no sidecar %v: %d sessions, want %d: %+v", noSidecar, len(sum.MirrorSessions), len(plans), sum.MirrorSessions)
		}
		var total loss.MirrorTotals
		for i, p := range plans {
			got := sum.MirrorSessions[i]
			want := p.want
			want.Frames = uint64(len(p.sent) - len(p.skip) - len(p.drop))
			if noSidecar {
				want.CaptureLost, want.MirrorLost = 0, want.Missing
			}
			if got.Kind != p.session.Kind || got.Src.String() != p.session.Src.String() || got.ID != p.session.ID || got.LossNotRecorded != noSidecar {
				t.Errorf("no sidecar %v: session %d is %s %v id %d (not recorded %v), want %s %v id %d",
					noSidecar, i, got.Kind, got.Src, got.ID, got.LossNotRecorded, p.session.Kind, p.session.Src, p.session.ID)
			}
			if got.Frames != want.Frames || got.Missing != want.Missing || got.CaptureLost != want.CaptureLost || got.MirrorLost != want.MirrorLost ||
				got.Late != want.Late || got.Duplicates != want.Duplicates || got.Restarts != want.Restarts {
				t.Errorf("no sidecar %v: session %d (%s): frames %d missing %d capture %d mirror %d late %d dups %d restarts %d; want %d %d %d %d %d %d %d",
					noSidecar, i, got.Kind, got.Frames, got.Missing, got.CaptureLost, got.MirrorLost, got.Late, got.Duplicates, got.Restarts,
					want.Frames, want.Missing, want.CaptureLost, want.MirrorLost, want.Late, want.Duplicates, want.Restarts)
			}
			total.Frames += want.Frames
			total.MirrorLost += want.MirrorLost
			total.CaptureLost += want.CaptureLost
		}
		if sum.Mirror.Sessions != uint64(len(plans)) || sum.Mirror.Frames != total.Frames || sum.Mirror.MirrorLost != total.MirrorLost ||
			sum.Mirror.CaptureLost != total.CaptureLost || sum.Mirror.LossNotRecorded != noSidecar {
			t.Errorf("no sidecar %v: totals %+v, want %d sessions, %d frames, mirror lost %d, capture lost %d",
				noSidecar, sum.Mirror, len(plans), total.Frames, total.MirrorLost, total.CaptureLost)
		}
		// The inner flows are decoded: five UDP flows per session.
		if sum.FlowCount != uint64(5*len(plans)) {
			t.Errorf("no sidecar %v: %d flows, want %d", noSidecar, sum.FlowCount, 5*len(plans))
		}
	}
}

// mirrorSamples writes the synthetic ERSPAN captures
// (internal/synth.WriteMirrorSamples) into a temporary directory and
// returns it.
func mirrorSamples(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteMirrorSamples(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestMirrorClean accounts the synthetic ERSPAN captures (types I, II
// and III: two switches sharing a session id, a type III frame type that
// is not Ethernet, the platform subheader, a frame cut inside it), whose
// sequence numbers are consecutive per session, and requires no missing
// number, duplicate, late frame or restart, and per session the frames
// tshark shows with that session's outer addresses, ERSPAN session id and
// a GRE sequence number.
func TestMirrorClean(t *testing.T) {
	dir := mirrorSamples(t)
	var files []string
	for _, name := range synth.MirrorSamples {
		files = append(files, filepath.Join(dir, name))
	}
	mirrorClean(t, files)
}

// TestMirrorCleanPublic (opt-in: GAPAN_PUBLIC_TRACES) measures the same
// on tcpdump's and Zeek's public ERSPAN traces.
func TestMirrorCleanPublic(t *testing.T) {
	mirrorClean(t, testenv.PublicTraces(t, "zeek-erspanI.pcap", "zeek-erspanII.pcap", "zeek-erspanIII.pcap", "zeek-gre-erspan3-dot1q.pcap",
		"tcpdump-erspan-type-i-1.pcap", "tcpdump-erspan-type-ii-2.pcap", "tcpdump-erspan-type-ii-3.pcap",
		"tcpdump-erspan-type-iii-ft-0.pcap", "tcpdump-erspan-type-iii-ft-7.pcap", "tcpdump-erspan-type-iii-pb-1.pcap"))
}

func mirrorClean(t *testing.T, files []string) {
	var sessions, frames uint64
	for _, file := range files {
		rows := testenv.Tshark(t, "-n", "-r", file, "-T", "fields", "-E", "occurrence=f",
			"-Y", "gre.sequence_number", "-e", "ip.src", "-e", "ipv6.src", "-e", "ip.dst", "-e", "ipv6.dst", "-e", "erspan.spanid")
		want := map[string]uint64{}
		for _, r := range rows {
			want[strings.Join(r, " ")]++
		}
		sum := run(t, file, true)
		got := map[string]uint64{}
		for _, s := range sum.MirrorSessions {
			src, dst := s.Src.String(), s.Dst.String()
			v4src, v6src, v4dst, v6dst := src, "", dst, ""
			if s.Src.Is6() {
				v4src, v6src, v4dst, v6dst = "", src, "", dst
			}
			got[strings.Join([]string{v4src, v6src, v4dst, v6dst, fmt.Sprint(s.ID)}, " ")] += s.Frames
			if s.Missing != 0 || s.Late != 0 || s.Duplicates != 0 || s.Restarts != 0 {
				t.Errorf("%s: session %s %v->%v id %d: missing %d late %d dups %d restarts %d in a clean capture",
					filepath.Base(file), s.Kind, s.Src, s.Dst, s.ID, s.Missing, s.Late, s.Duplicates, s.Restarts)
			}
			sessions++
			frames += s.Frames
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: sessions %v, tshark %v", filepath.Base(file), got, want)
		}
	}
	if sessions == 0 {
		t.Fatal("no mirror session: the check tests nothing")
	}
	t.Logf("%d sessions, %d frames, nothing missing", sessions, frames)
}

// mirrorSample is the committed capture of mirrorPlans, thinned by
// simulate, with its sidecar: the example of docs/metrics.md and the
// report's golden files. GAPAN_MAKE_MIRROR=1 writes it again.
const mirrorSample = "../testdata/mirror/synth/mirror-loss.pcap"

// TestMirrorSample checks the committed sample against the plans it was
// made from (and writes it with GAPAN_MAKE_MIRROR=1).
func TestMirrorSample(t *testing.T) {
	plans := mirrorPlans()
	if os.Getenv("GAPAN_MAKE_MIRROR") == "1" {
		in, del := mirrorCapture(t, t.TempDir(), plans)
		out := thin(t, in, del)
		if err := os.MkdirAll(filepath.Dir(mirrorSample), 0o755); err != nil {
			t.Fatal(err)
		}
		for _, ext := range []string{"", ".gaps"} {
			b, err := os.ReadFile(out + ext)
			if err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(mirrorSample+ext, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		t.Logf("wrote %s: deleted frames %v", mirrorSample, del)
	}
	sum := run(t, mirrorSample, false)
	if len(sum.MirrorSessions) != len(plans) {
		t.Fatalf("%d sessions, want %d", len(sum.MirrorSessions), len(plans))
	}
	for i, p := range plans {
		got := sum.MirrorSessions[i]
		if got.Missing != p.want.Missing || got.CaptureLost != p.want.CaptureLost || got.MirrorLost != p.want.MirrorLost ||
			got.Late != p.want.Late || got.Duplicates != p.want.Duplicates || got.Restarts != p.want.Restarts {
			t.Errorf("session %d: %+v, want %+v", i, got, p.want)
		}
	}
}

// TestMirrorFates requires the fates of the mirror sample's missing
// numbers to add up to the sessions' figures (capture fates to
// capture_lost, mirror fates to mirror_lost), each told on a frame of the
// flow it names, its capture fates naming a recorded gap.
func TestMirrorFates(t *testing.T) {
	sum, fates, flowOf := runFates(t, mirrorSample)
	gaps := map[uint64]uint64{}
	for _, g := range sum.Gaps {
		gaps[g.Frame] = g.Lost
	}
	var capture, mirror uint64
	for _, f := range fates {
		if f.Evidence != loss.EvidenceMirror {
			t.Errorf("fate %+v of the mirror sample is not mirror evidence", f)
			continue
		}
		if f.Frame == 0 || f.Frame >= uint64(len(flowOf)) || flowOf[f.Frame] != f.FlowID {
			t.Errorf("fate %+v told on frame %d of another flow", f, f.Frame)
		}
		switch f.Kind {
		case loss.FateCapture:
			capture += f.Segments
			if gaps[f.Gap] != f.GapLost || f.GapLost == 0 {
				t.Errorf("fate %+v: no recorded gap of %d frames before frame %d", f, f.GapLost, f.Gap)
			}
		case loss.FateMirror:
			mirror += f.Segments
		default:
			t.Errorf("fate %+v: kind %v", f, f.Kind)
		}
	}
	if capture != sum.Mirror.CaptureLost || mirror != sum.Mirror.MirrorLost || capture+mirror == 0 {
		t.Errorf("fates: %d capture, %d mirror; sessions: %d, %d", capture, mirror, sum.Mirror.CaptureLost, sum.Mirror.MirrorLost)
	}
}

// tsharkMirrorMissing returns, per session (outer source, destination,
// ERSPAN session id) of path, the GRE sequence numbers tshark decodes
// missing between the session's smallest and largest (tshark has no
// sequence analysis for GRE: the numbers it decodes are counted here).
func tsharkMirrorMissing(t *testing.T, path string) map[string]uint64 {
	t.Helper()
	rows := testenv.Tshark(t, "-n", "-r", path, "-T", "fields", "-E", "occurrence=f", "-Y", "gre.sequence_number",
		"-e", "ip.src", "-e", "ip.dst", "-e", "erspan.spanid", "-e", "gre.sequence_number")
	seen := map[string]map[uint64]bool{}
	for _, r := range rows {
		k := r[0] + " " + r[1] + " " + r[2]
		n, err := strconv.ParseUint(r[3], 10, 32)
		if err != nil {
			t.Fatalf("gre.sequence_number %q: %v", r[3], err)
		}
		if seen[k] == nil {
			seen[k] = map[uint64]bool{}
		}
		seen[k][n] = true
	}
	out := map[string]uint64{}
	for k, nums := range seen {
		lo, hi := uint64(1<<32), uint64(0)
		for n := range nums {
			lo, hi = min(lo, n), max(hi, n)
		}
		out[k] = hi - lo + 1 - uint64(len(nums))
	}
	return out
}

// TestMirrorAgainstTshark thins the synthetic ERSPAN captures with
// numbered sessions (two switches sharing a session id, one session of
// 108 frames, type III frame type 7) by simulate (uniform 10 %, two seeds) and requires, per
// session, the missing numbers tshark's decoded GRE sequence numbers
// show, all of them lost by the capture (the sidecar records every
// deletion) and none on the mirror path.
func TestMirrorAgainstTshark(t *testing.T) {
	var total, sessions uint64
	dir := mirrorSamples(t)
	for _, name := range []string{synth.SampleERSPAN2TwoSwitches, synth.SampleERSPAN2, synth.SampleERSPAN3FT7} {
		for _, seed := range []uint64{1, 2} {
			path := simulatedFile(t, filepath.Join(dir, name), "uniform:0.1", seed)
			want := tsharkMirrorMissing(t, path)
			sum := run(t, path, false)
			got := map[string]uint64{}
			for _, s := range sum.MirrorSessions {
				k := fmt.Sprintf("%v %v %d", s.Src, s.Dst, s.ID)
				got[k] = s.Missing
				if s.CaptureLost != s.Missing || s.MirrorLost != 0 {
					t.Errorf("%s seed %d: session %s: capture lost %d, mirror lost %d of %d missing; every deletion is recorded",
						name, seed, k, s.CaptureLost, s.MirrorLost, s.Missing)
				}
				total += s.Missing
				sessions++
			}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s seed %d: missing per session %v, tshark's numbers %v", name, seed, got, want)
			}
		}
	}
	if total == 0 {
		t.Fatal("no number missing: the thinning tests nothing")
	}
	t.Logf("%d sessions, %d missing numbers, as tshark's decoded numbers show", sessions, total)
}

// TestMirrorRestarts holds the cases that a window alone would get wrong:
// a session that starts over at 0 after 50 frames (its first numbers look
// like duplicates until the next frame continues them), every frame
// mirrored twice (duplicates, not restarts), and a jump far ahead that the
// session continues.
func TestMirrorRestarts(t *testing.T) {
	sw, col := net.IP{192, 0, 2, 1}, net.IP{198, 51, 100, 9}
	early := append(seqs(0, 50), seqs(0, 100)...)
	var twice []uint32
	for _, n := range seqs(100, 100) {
		twice = append(twice, n, n)
	}
	plans := []*mirrorPlan{
		{session: synth.MirrorSession{Kind: "erspan2", Src: sw, Dst: col, ID: 5}, sent: early,
			skip: map[int]bool{70: true}, want: loss.MirrorSession{Missing: 1, Restarts: 1}},
		{session: synth.MirrorSession{Kind: "erspan3", Src: sw, Dst: col, ID: 9}, sent: twice,
			want: loss.MirrorSession{Duplicates: 100}},
		{session: synth.MirrorSession{Kind: "gre", Src: sw, Dst: col, ID: 1}, sent: append(seqs(10, 50), seqs(1<<31, 50)...),
			want: loss.MirrorSession{Restarts: 1}},
	}
	path, _ := mirrorCapture(t, t.TempDir(), plans)
	sum := run(t, path, true)
	for i, p := range plans {
		got := sum.MirrorSessions[i]
		if got.Missing != p.want.Missing || got.Late != p.want.Late || got.Duplicates != p.want.Duplicates || got.Restarts != p.want.Restarts {
			t.Errorf("session %d (%s): missing %d late %d dups %d restarts %d; want %d %d %d %d", i, got.Kind,
				got.Missing, got.Late, got.Duplicates, got.Restarts, p.want.Missing, p.want.Late, p.want.Duplicates, p.want.Restarts)
		}
	}
}
