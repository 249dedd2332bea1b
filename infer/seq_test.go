package infer

import (
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/sidecar"
	"github.com/gapan/gapan/simulate"
)

// thinned writes pkts to a pcap, deletes the listed 1-based frames with
// simulate, and returns the thinned capture's path and the gaps
// simulate's sidecar records (frame after the gap → frames lost).
func thinned(t *testing.T, pkts []synth.Packet, del [][2]uint64) (string, map[uint64]uint64) {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.WritePackets(f, pkts); err != nil {
		t.Fatal(err)
	}
	f.Close()
	return thinFile(t, in, del)
}

// thinFile deletes the listed 1-based frames of capture in with simulate
// and returns the thinned capture's path and the gaps simulate's sidecar
// records (frame after the gap → frames lost).
func thinFile(t *testing.T, in string, del [][2]uint64) (string, map[uint64]uint64) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "out.pcap")
	if _, err := simulate.Run(simulate.Config{Input: in, Output: out, Model: simulate.List{Ranges: del}}); err != nil {
		t.Fatal(err)
	}
	sf, err := os.Open(sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	r, err := sidecar.NewReader(sf)
	if err != nil {
		t.Fatal(err)
	}
	truth := map[uint64]uint64{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		truth[rec.Frame] = rec.Gap
	}
	return out, truth
}

// checkBrackets requires each true gap inside exactly one inferred
// gap's bracket, of its size, and every inferred gap to hold one.
func checkBrackets(t *testing.T, name string, gaps []Gap, truth map[uint64]uint64) {
	t.Helper()
	if len(truth) == 0 {
		t.Fatalf("%s: simulate recorded no gap", name)
	}
	if len(gaps) != len(truth) {
		t.Errorf("%s: %d gaps inferred, %d true: %+v", name, len(gaps), len(truth), gaps)
	}
	for _, g := range gaps {
		var n int
		var lost uint64
		for f, l := range truth {
			if g.First <= f && f <= g.Last {
				n++
				lost += l
			}
		}
		if n != 1 || g.Lost != lost {
			t.Errorf("%s: gap [%d, %d] of %d frames holds %d true gaps of %d frames", name, g.First, g.Last, g.Lost, n, lost)
		}
	}
}

// checkSequenceOnly requires infer to find nothing in the capture at path
// without Sequence (nothing there tells the capture's loss from loss
// upstream) and, with it, the true gaps (checkBrackets).
func checkSequenceOnly(t *testing.T, name, path string, truth map[uint64]uint64) {
	t.Helper()
	for _, seq := range []bool{false, true} {
		r, err := Run(Config{Capture: path, KernelDrops: -1, Sequence: seq})
		if err != nil {
			t.Fatal(err)
		}
		if !seq {
			if len(r.Gaps) != 0 {
				t.Errorf("without Sequence: %d gaps inferred from %s", len(r.Gaps), name)
			}
			continue
		}
		checkBrackets(t, name, r.Gaps, truth)
	}
}

// TestInferSequence: the sequence families as infer's evidence. Two ESP
// SAs and a GTP-U tunnel with frames deleted by simulate: with Sequence
// their missing numbers bracket the true gaps (and size them); without
// it nothing is inferred (nothing there tells the capture's loss from
// loss upstream). A ping with requests deleted: their replies show the
// capture missed them, so infer finds the gaps without Sequence.
func TestInferSequence(t *testing.T) {
	a, b := net.IP{10, 8, 0, 1}, net.IP{10, 8, 0, 2}
	var pkts []synth.Packet
	for i := range uint32(600) {
		pkts = append(pkts, synth.ESP(a, b, 0x51, i+1), synth.ESP(b, a, 0x52, i+1), synth.GTPU(a, b, 0x700, uint16(i)))
	}
	// Frames 301-302 (ESP 0x51 101, ESP 0x52 101), 1000 (GTP-U 332),
	// 1500-1505 (two of each).
	path, truth := thinned(t, pkts, [][2]uint64{{301, 302}, {1000, 1000}, {1500, 1505}})
	checkSequenceOnly(t, "ESP and GTP-U", path, truth)

	var ping []synth.Packet
	for i := range uint16(60) {
		ping = append(ping, synth.Echo(a, b, false, 9, i+1), synth.Echo(b, a, true, 9, i+1))
	}
	// Requests 20 (frame 39) and 45 (frame 89).
	path, truth = thinned(t, ping, [][2]uint64{{39, 39}, {89, 89}})
	r, err := Run(Config{Capture: path, KernelDrops: -1})
	if err != nil {
		t.Fatal(err)
	}
	checkBrackets(t, "ping", r.Gaps, truth)
}

// TestInferSequenceMirror: the missing numbers of mirror sessions (ERSPAN
// II and III, keyed GRE, interleaved) bracket the frames simulate deleted
// when Sequence is set, and give nothing without it.
func TestInferSequenceMirror(t *testing.T) {
	sessions := []synth.MirrorSession{
		{Kind: "erspan2", Src: net.IP{192, 0, 2, 1}, Dst: net.IP{198, 51, 100, 9}, ID: 100},
		{Kind: "erspan3", Src: net.IP{192, 0, 2, 2}, Dst: net.IP{198, 51, 100, 9}, ID: 7},
		{Kind: "gre", Src: net.IP{192, 0, 2, 3}, Dst: net.IP{198, 51, 100, 9}, ID: 9},
	}
	var frames []synth.MirrorFrame
	for k := range 200 {
		for i := range sessions {
			frames = append(frames, synth.MirrorFrame{Session: i, Seq: uint32(1000 + k), Flow: k % 4})
		}
	}
	in := filepath.Join(t.TempDir(), "in.pcap")
	f, err := os.Create(in)
	if err != nil {
		t.Fatal(err)
	}
	if err := synth.MirrorCapture(f, sessions, frames); err != nil {
		t.Fatal(err)
	}
	f.Close()
	out, _ := thinFile(t, in, [][2]uint64{{50, 50}, {120, 121}, {300, 300}})
	// The thinned file's gaps: before its frames 50, 118 and 296.
	truth := map[uint64]uint64{50: 1, 118: 2, 296: 1}
	checkSequenceOnly(t, "mirror sessions", out, truth)
}

// TestInferMP2T: an MPEG transport stream (7 TS packets a datagram) with
// datagrams deleted by simulate: with Sequence the PIDs' counter jumps
// bracket each true gap and size it in datagrams (one per 7 missing TS
// packets, rounded up); without it nothing is inferred.
func TestInferMP2T(t *testing.T) {
	in := filepath.Join(t.TempDir(), "ts.pcap")
	if _, err := synth.MP2TFile(in, synth.MP2TConfig{Datagrams: 500, AFOnlyEvery: 9}); err != nil {
		t.Fatal(err)
	}
	out, _ := thinFile(t, in, [][2]uint64{{80, 80}, {150, 151}, {300, 300}})
	// The deletions' places in the thinned capture: the frame after each.
	truth := map[uint64]uint64{80: 1, 149: 2, 297: 1}
	checkSequenceOnly(t, "MPEG-TS", out, truth)
}
