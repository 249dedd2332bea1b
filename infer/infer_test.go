package infer

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestMerge: brackets that share a frame become one gap with their
// intersection; disjoint ones stay apart; sizes add up the segments.
func TestMerge(t *testing.T) {
	ev := []Evidence{
		{Flow: 1, Lo: 10, Frame: 20, Segments: 2},
		{Flow: 2, Lo: 15, Frame: 25, Segments: 1},
		{Flow: 3, Lo: 22, Frame: 30, Segments: 3}, // after 20: a new gap
		{Flow: 4, Lo: 40, Frame: 40, Segments: 1}, // empty bracket: ignored
	}
	g := Merge(ev)
	if len(g) != 2 {
		t.Fatalf("%d gaps: %+v", len(g), g)
	}
	if g[0].First != 16 || g[0].Last != 20 || g[0].Frame != 20 || g[0].MinLost != 3 || g[0].Lost != 3 || g[0].ConfidencePermille != 200 || len(g[0].Evidence) != 2 {
		t.Errorf("first gap %+v", g[0])
	}
	if g[1].First != 23 || g[1].Last != 30 || g[1].MinLost != 3 || g[1].ConfidencePermille != 125 {
		t.Errorf("second gap %+v", g[1])
	}
	ev[0].framesPerSegment = 2
	if g := Merge(ev); g[0].Lost != 5 || g[0].MinLost != 3 {
		t.Errorf("scaled estimate %+v", g[0])
	}
}

// TestDistribute: a total below the evidence leaves the minimum, one
// between minimum and estimate is shared out exactly, one beyond the
// estimate leaves the rest without a position.
func TestDistribute(t *testing.T) {
	mk := func() []Gap { return []Gap{{MinLost: 2, Lost: 4}, {MinLost: 1, Lost: 3}} }
	for _, c := range []struct {
		total, unplaced uint64
		lost            [2]uint64
	}{
		{1, 0, [2]uint64{2, 1}},
		{5, 0, [2]uint64{3, 2}},
		{7, 0, [2]uint64{4, 3}},
		{10, 3, [2]uint64{4, 3}},
	} {
		g := mk()
		u := Distribute(g, c.total)
		if u != c.unplaced || g[0].Lost != c.lost[0] || g[1].Lost != c.lost[1] {
			t.Errorf("total %d: unplaced %d, gaps %d %d; want %d, %v", c.total, u, g[0].Lost, g[1].Lost, c.unplaced, c.lost)
		}
	}
}

// TestWriteSidecar: the inferred sidecar reads back with its records,
// brackets, totals and the capture's identity.
func TestWriteSidecar(t *testing.T) {
	path := filepath.Join("..", "testdata", "corpus", "ndpi-netflix.pcap")
	res, err := Run(Config{Capture: path, KernelDrops: 1000, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Gaps) == 0 {
		t.Fatal("ndpi-netflix.pcap lost data the receivers acknowledged: no gap inferred")
	}
	var b bytes.Buffer
	if err := res.WriteSidecar(&b, "t", 1); err != nil {
		t.Fatal(err)
	}
	r, err := sidecar.NewReader(&b)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header(); h.Source != sidecar.SourceInferred || !h.Identity.Known {
		t.Errorf("header %+v", h)
	}
	var sum uint64
	for i := 0; ; i++ {
		rec, err := r.Next()
		if err != nil {
			break
		}
		g := res.Gaps[i]
		br, ok := r.Bracket(rec.Frame)
		if rec.Frame != g.Frame || rec.Gap != g.Lost || !ok || br.First != g.First || br.Last != g.Last {
			t.Errorf("record %+v bracket %+v, gap %+v", rec, br, g)
		}
		sum += rec.Gap
	}
	it, ok := r.InferredTotals()
	if tr, tok := r.Trailer(); !tok || tr.Frames != 1793 || !ok || !it.HasTotal || it.Total != 1000 || it.Unplaced != 1000-sum {
		t.Errorf("trailer %+v, totals %+v (gaps take %d)", tr, it, sum)
	}
}

// TestRunPaths: the pipelined run infers what the sequential one does,
// and the tightened brackets lie inside the engine's loose ones.
func TestRunPaths(t *testing.T) {
	path := filepath.Join("..", "testdata", "corpus", "ndpi-netflix.pcap")
	var got [2]*Result
	for i, w := range []int{1, 2} {
		r, err := Run(Config{Capture: path, KernelDrops: -1, Workers: w})
		if err != nil {
			t.Fatal(err)
		}
		got[i] = r
	}
	if len(got[0].Gaps) == 0 || len(got[0].Gaps) != len(got[1].Gaps) {
		t.Fatalf("%d gaps sequential, %d pipelined", len(got[0].Gaps), len(got[1].Gaps))
	}
	for i := range got[0].Gaps {
		a, b := got[0].Gaps[i], got[1].Gaps[i]
		if a.Frame != b.Frame || a.First != b.First || a.Last != b.Last || a.Lost != b.Lost {
			t.Errorf("gap %d: %+v sequential, %+v pipelined", i, a, b)
		}
	}
	loose, err := Run(Config{Capture: path, KernelDrops: -1, Workers: 1, Loose: true})
	if err != nil {
		t.Fatal(err)
	}
	tight := got[0].Gaps
	for _, g := range loose.Gaps {
		// Every loose gap's frames are covered by tight brackets that
		// end inside it.
		i := 0
		for i < len(tight) && tight[i].Last < g.First {
			i++
		}
		if i == len(tight) || tight[i].First < g.First && tight[i].Last > g.Last {
			t.Errorf("loose gap [%d, %d] holds no tight bracket", g.First, g.Last)
		}
	}
	if len(tight) < len(loose.Gaps) {
		t.Errorf("tight brackets merge more (%d gaps) than loose ones (%d)", len(tight), len(loose.Gaps))
	}
}

// TestIfDropTotal: without --kernel-drops, the pcapng isb_ifdrop total
// (read apart by gopacket's pcapng reader) is what Run distributes; with
// no inferred gap, all of it stays without a position.
func TestIfDropTotal(t *testing.T) {
	path := filepath.Join("..", "testdata", "corpus", "zeek-quic-merlinc2-isb-ifdrop.pcapng")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var want uint64
	last := map[int]uint64{}
	r, err := pcapgo.NewNgReader(f, pcapgo.NgReaderOptions{StatisticsCallback: func(i int, st pcapgo.NgInterfaceStatistics) {
		last[i] = st.PacketsDropped
	}})
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
	}
	for _, d := range last {
		want += d
	}
	if want == 0 {
		t.Fatal("no isb_ifdrop in the capture: the case tests nothing")
	}
	res, err := Run(Config{Capture: path, KernelDrops: -1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !res.HasTotal || res.Total != want || res.Unplaced != want-res.Lost() {
		t.Errorf("total %v %d, unplaced %d, gaps take %d; isb_ifdrop says %d", res.HasTotal, res.Total, res.Unplaced, res.Lost(), want)
	}
	res, err = Run(Config{Capture: path, KernelDrops: 7, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total != 7 {
		t.Errorf("--kernel-drops 7 gives total %d", res.Total)
	}
}

// TestStdin: a capture read once from standard input gives the sidecar
// the file gives, byte for byte, and the identity join.CaptureIdentity
// reads from the file on its own.
func TestStdin(t *testing.T) {
	path := filepath.Join("..", "testdata", "corpus", "ndpi-netflix.pcap")
	want, err := Run(Config{Capture: path, KernelDrops: -1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	saved := os.Stdin // reader.Open("-") reads os.Stdin
	os.Stdin = f
	got, err := Run(Config{Capture: "-", KernelDrops: -1, Workers: 1})
	os.Stdin = saved
	if err != nil {
		t.Fatal(err)
	}
	id, frames, err := join.CaptureIdentity(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.Identity != id || got.Frames != frames {
		t.Errorf("from stdin: identity %+v, %d frames; the file has %+v, %d frames", got.Identity, got.Frames, id, frames)
	}
	if len(want.Gaps) == 0 {
		t.Fatal("no inferred gap in the capture: the case tests nothing")
	}
	var a, b bytes.Buffer
	if err := want.WriteSidecar(&a, "t", 1); err != nil {
		t.Fatal(err)
	}
	if err := got.WriteSidecar(&b, "t", 1); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Bytes(), b.Bytes()) {
		t.Errorf("the sidecar inferred from stdin (%d bytes) differs from the file's (%d bytes)", b.Len(), a.Len())
	}
}

// TestSidecarInMemory: Sidecar reads back the records and trailer of the
// gaps it was given.
func TestSidecarInMemory(t *testing.T) {
	res := &Result{Frames: 50, Gaps: []Gap{{Frame: 7, First: 5, Last: 7, Lost: 3, ConfidencePermille: 333}, {Frame: 40, First: 40, Last: 40, Lost: 12, ConfidencePermille: 1000}}}
	r, err := res.Sidecar("t", 1)
	if err != nil {
		t.Fatal(err)
	}
	if h := r.Header(); h.Source != sidecar.SourceInferred || h.Tool != "t" {
		t.Errorf("header %+v", h)
	}
	var got []sidecar.Record
	for {
		rec, err := r.Next()
		if err != nil {
			break
		}
		got = append(got, rec)
	}
	tr, ok := r.Trailer()
	if len(got) != 2 || got[0] != (sidecar.Record{Frame: 7, Gap: 3}) || got[1] != (sidecar.Record{Frame: 40, Gap: 12}) || !ok || tr.Frames != 50 {
		t.Errorf("records %v, trailer %+v %v", got, tr, ok)
	}
}

// TestSummary: the words gapan infer prints, with and without a total.
func TestSummary(t *testing.T) {
	one := &Result{Gaps: []Gap{{Lost: 1}}}
	if s := one.Summary(); s != "1 inferred gap event, 1 frame lost (inferred)" {
		t.Errorf("one gap: %q", s)
	}
	two := &Result{Gaps: []Gap{{Lost: 700}, {Lost: 800}}, HasTotal: true, Total: 2500, Unplaced: 1000}
	if s := two.Summary(); s != "2 inferred gap events, 1,500 frames lost (inferred); of the total of 2,500, 1,000 frames lost, position unknown" {
		t.Errorf("two gaps and a total: %q", s)
	}
}
