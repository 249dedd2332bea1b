package infer_test

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/gapan/gapan/infer"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// tcpSeg is what gopacket decodes of a frame's TCP header: the truth the
// accuracy test measures against, independent of gapan's decoder.
type tcpSeg struct {
	key, rev   string
	seq, end   uint32
	ack        uint32
	hasAck, ok bool
	syn        bool
}

// segments decodes every frame of path with gopacket (index: frame
// number; [0] unused).
func segments(t *testing.T, path string) []tcpSeg {
	t.Helper()
	rd, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	out := []tcpSeg{{}}
	for {
		f, err := rd.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		var s tcpSeg
		p := gopacket.NewPacket(f.Data, f.LinkType, gopacket.Default)
		if tl, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok && p.NetworkLayer() != nil {
			src, dst := p.NetworkLayer().NetworkFlow().Endpoints()
			s = tcpSeg{ok: true, syn: tl.SYN, seq: tl.Seq, end: tl.Seq + uint32(len(tl.Payload)), ack: tl.Ack, hasAck: tl.ACK,
				key: fmt.Sprint(src, tl.SrcPort, dst, tl.DstPort), rev: fmt.Sprint(dst, tl.DstPort, src, tl.SrcPort)}
		}
		out = append(out, s)
	}
}

// trueGap is a gap simulate made: before thinned frame frame, it deleted
// the original frames del.
type trueGap struct {
	frame uint64
	del   []int
}

// detectable says that a gap deleted TCP data that the capture shows was
// lost: a kept frame of the other direction acknowledges it, and no kept
// frame of its own direction carries it again.
func detectable(orig []tcpSeg, kept []bool, g trueGap) bool {
	for _, d := range g.del {
		s := orig[d]
		if !s.ok || s.end == s.seq {
			continue
		}
		acked, resent := false, false
		for k := 1; k < len(orig); k++ {
			o := orig[k]
			if !kept[k] || !o.ok {
				continue
			}
			if k > d && o.key == s.rev && o.hasAck && int32(o.ack-s.end) >= 0 {
				acked = true
			}
			if o.key == s.key && int32(o.seq-s.seq) <= 0 && int32(o.end-s.end) >= 0 && o.end != o.seq {
				resent = true
			}
		}
		if acked && !resent {
			return true
		}
	}
	return false
}

// ownHoles returns where the original capture lost TCP data itself, by
// gopacket's decoding: data a receiver acknowledged that the capture
// never carried. Either a frame acknowledges more than its other
// direction carried (beyond a SYN or FIN's one), or a direction's
// sequence numbers jump ahead and the jumped-over bytes are acknowledged
// without being sent again. Each is (lo, hi]: the sender's last data
// frame before the hole, and the frame after it (the data beyond the
// jump, or the acknowledgement).
func ownHoles(orig []tcpSeg) [][2]int {
	type hole struct {
		start, end uint32
		lo, hi     int
	}
	type dirState struct {
		end  uint32
		last int
		open []hole
	}
	st := map[string]*dirState{}
	var out [][2]int
	for k := 1; k < len(orig); k++ {
		s := orig[k]
		if !s.ok {
			continue
		}
		if s.syn {
			st[s.key] = &dirState{end: s.seq + 1, last: k}
		}
		if s.end != s.seq {
			d := st[s.key]
			if d == nil {
				d = &dirState{end: s.end}
				st[s.key] = d
			}
			if int32(s.seq-d.end) > 0 {
				d.open = append(d.open, hole{d.end, s.seq, d.last, k})
			}
			// Sent again: the hole was not the capture's loss.
			d.open = slices.DeleteFunc(d.open, func(h hole) bool { return int32(s.seq-h.start) <= 0 && int32(s.end-h.start) > 0 })
			if int32(s.end-d.end) > 0 {
				d.end = s.end
			}
			d.last = k
		}
		d := st[s.rev]
		if d == nil || !s.hasAck {
			continue
		}
		d.open = slices.DeleteFunc(d.open, func(h hole) bool {
			if int32(s.ack-h.end) >= 0 {
				out = append(out, [2]int{h.lo, h.hi})
				return true
			}
			return false
		})
		if int32(s.ack-d.end) > 1 {
			out = append(out, [2]int{d.last, k})
			d.end = s.ack
		}
	}
	return out
}

// accRow is one line of the accuracy table.
type accRow struct {
	name                   string
	trueGaps, detectable   int
	found, inferred, right int
	own                    int // inferred gaps at the original's own loss
	widths                 []uint64
	sizeErr                []int64
}

func (r *accRow) add(o *accRow) {
	r.trueGaps += o.trueGaps
	r.detectable += o.detectable
	r.found += o.found
	r.inferred += o.inferred
	r.right += o.right
	r.own += o.own
	r.widths = append(r.widths, o.widths...)
	r.sizeErr = append(r.sizeErr, o.sizeErr...)
}

func pct(a, b int) string {
	if b == 0 {
		return "–"
	}
	return fmt.Sprintf("%.1f %%", 100*float64(a)/float64(b))
}

func median[T int64 | uint64](v []T) string {
	if len(v) == 0 {
		return "–"
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return fmt.Sprint(s[len(s)/2])
}

func (r *accRow) cells() string {
	return fmt.Sprintf("| %s | %d | %d | %d | %s | %d | %d | %s | %s | %s |", r.name, r.trueGaps, r.detectable, r.found, pct(r.found, r.detectable),
		r.inferred, r.own, pct(r.right, r.inferred-r.own), median(r.widths), median(r.sizeErr))
}

// accuracyCaptures are the corpus captures with TCP data that lost none
// of it themselves (a capture's own loss would count as false inferred
// gaps; TestInferOriginals lists it).
var accuracyCaptures = []string{"tls-subjectaltname.pcap", "ndpi-teams.pcap", "ndpi-alexa-app.pcapng", "suricata-http-range-multiflows-null.pcap", "ndpi-tumblr-ipv6.pcap", "zeek-http-1000-requests-one-dropped-response.pcap"}

// TestInferAccuracy thins corpus captures with gapan simulate (uniform
// 1 %, bursty, one 200-frame gap; two seeds each), infers their gaps
// without the sidecar, and measures against simulate's deletions and
// gopacket's decoding: recall (true gaps that removed detectable data
// and fall inside an inferred bracket), precision (inferred gaps whose
// bracket holds a true gap, among those not at the original capture's
// own loss, which gopacket's decoding finds apart), the median bracket width and the median
// error of the size estimate (inferred minus the frames the true gaps in
// the bracket lost). It prints the table of docs/infer.md.
func TestInferAccuracy(t *testing.T) {
	models := []struct{ name, model string }{
		{"uniform 1 %", "uniform:0.01"},
		{"bursty", "burst:p=0.002,r=0.2"},
		{"one 200-frame gap", ""},
	}
	var rows []*accRow
	total := &accRow{name: "all"}
	for _, name := range accuracyCaptures {
		path := filepath.Join("..", "testdata", "corpus", name)
		orig := segments(t, path)
		for _, m := range models {
			row := &accRow{name: name + ", " + m.name}
			for seed := uint64(1); seed <= 2; seed++ {
				model := m.model
				if model == "" {
					start := 1 + int(seed)*len(orig)/3
					model = fmt.Sprintf("list:%d-%d", start, min(start+199, len(orig)-2))
				}
				row.add(measure(t, path, orig, model, seed))
			}
			rows = append(rows, row)
			total.add(row)
		}
	}
	var b strings.Builder
	b.WriteString("| capture, model (2 seeds) | true gaps | with detectable data | found | recall | inferred gaps | at the original's own loss | precision | median bracket (frames) | median size error (frames) |\n|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n")
	for _, r := range append(rows, total) {
		b.WriteString(r.cells() + "\n")
	}
	t.Log("\n" + b.String())
	if total.detectable == 0 || total.inferred == 0 {
		t.Fatal("nothing to measure")
	}
	// Floors a little below what docs/infer.md reports reached (recall
	// 95.2 %, precision 99.4 %, median bracket 3 frames), so that a
	// change that loses accuracy fails here.
	if total.found*1000 < total.detectable*930 {
		t.Errorf("recall %s, below 93 %%", pct(total.found, total.detectable))
	}
	if total.right*100 < (total.inferred-total.own)*95 {
		t.Errorf("precision %s, below 95 %%", pct(total.right, total.inferred-total.own))
	}
	if w := slices.Sorted(slices.Values(total.widths)); w[len(w)/2] > 20 {
		t.Errorf("median bracket %d frames, above 20", w[len(w)/2])
	}
}

// measure thins path by model and measures infer on it.
func measure(t *testing.T, path string, orig []tcpSeg, model string, seed uint64) *accRow {
	t.Helper()
	m, err := simulate.ParseModel(model)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sim.pcap")
	if _, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: m, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	sr, err := sidecar.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	truth, err := sidecar.ReadAll(sr)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	kept := make([]bool, len(orig))
	for i := range kept {
		kept[i] = true
	}
	var gaps []trueGap
	var shift uint64 // frames deleted before the current record
	for _, r := range truth.Records {
		g := trueGap{frame: r.Frame}
		for k := uint64(0); k < r.Gap; k++ {
			d := int(r.Frame + shift + k)
			kept[d] = false
			g.del = append(g.del, d)
		}
		shift += r.Gap
		gaps = append(gaps, g)
	}
	res, err := infer.Run(infer.Config{Capture: out, KernelDrops: -1, Workers: 1})
	if err != nil {
		t.Fatal(err)
	}
	row := &accRow{trueGaps: len(gaps), inferred: len(res.Gaps)}
	inside := func(g infer.Gap) (n int, lost uint64) {
		i := sort.Search(len(gaps), func(i int) bool { return gaps[i].frame >= g.First })
		for ; i < len(gaps) && gaps[i].frame <= g.Last; i++ {
			n++
			lost += uint64(len(gaps[i].del))
		}
		return n, lost
	}
	for _, g := range gaps {
		if !detectable(orig, kept, g) {
			continue
		}
		row.detectable++
		i := sort.Search(len(res.Gaps), func(i int) bool { return res.Gaps[i].Last >= g.frame })
		if i < len(res.Gaps) && res.Gaps[i].First <= g.frame {
			row.found++
		} else {
			t.Logf("%s %s seed %d: true gap of %d before frame %d not in a bracket", filepath.Base(path), model, seed, len(g.del), g.frame)
		}
	}
	// The original's own holes, in the thinned capture's frame numbers.
	thinned := make([]uint64, len(orig))
	var n uint64
	for k := 1; k < len(orig); k++ {
		if kept[k] {
			n++
		}
		thinned[k] = n
	}
	var own [][2]uint64
	for _, h := range ownHoles(orig) {
		own = append(own, [2]uint64{thinned[h[0]], thinned[h[1]]})
	}
	for _, g := range res.Gaps {
		row.widths = append(row.widths, g.Last-g.First+1)
		if n, _ := inside(g); n == 0 && slices.ContainsFunc(own, func(h [2]uint64) bool { return h[0] < g.Last && h[1] >= g.First }) {
			row.own++
			continue
		}
		if n, lost := inside(g); n > 0 {
			row.right++
			row.sizeErr = append(row.sizeErr, int64(g.Lost)-int64(lost))
		} else {
			t.Logf("%s %s seed %d: inferred gap %+v holds no true gap", filepath.Base(path), model, seed, g)
		}
	}
	return row
}

// TestInferOriginals infers the gaps of the undamaged corpus captures and
// lists each with its evidence (docs/infer.md): a gap only where the
// capture lost data a receiver acknowledged. The captures whose flows
// gapan's report finds no capture loss in must have no inferred gap, and
// nearly every inferred gap (95 % over all of them) must overlap a hole that gopacket's
// decoding shows: an acknowledgement beyond what the other direction
// carried.
func TestInferOriginals(t *testing.T) {
	clean := map[string]bool{}
	for _, n := range accuracyCaptures {
		clean[n] = n != "zeek-http-1000-requests-one-dropped-response.pcap"
	}
	var all, allUnseen int
	defer func() {
		t.Logf("%d of %d inferred gaps overlap no hole gopacket's decoding shows", allUnseen, all)
		if allUnseen*20 > all {
			t.Errorf("%d of %d inferred gaps overlap no acknowledged-but-unseen data", allUnseen, all)
		}
	}()
	for _, name := range append(slices.Clone(accuracyCaptures), "ndpi-netflix.pcap", "ndpi-wechat.pcap", "ndpi-ultrasurf-vlan.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "gopacket-cip.pcap", "ndpi-quickplay-sll.pcap", "ndpi-sites-22if.pcapng") {
		path := filepath.Join("..", "testdata", "corpus", name)
		res, err := infer.Run(infer.Config{Capture: path, KernelDrops: -1, Workers: 1})
		if err != nil {
			t.Fatal(err)
		}
		holes := ownHoles(segments(t, path))
		var unseen int
		for _, g := range res.Gaps {
			if !slices.ContainsFunc(holes, func(h [2]int) bool { return uint64(h[0]) < g.Last && uint64(h[1]) >= g.First }) {
				unseen++
				t.Logf("%s: gap [%d, %d] overlaps no hole gopacket's decoding shows", name, g.First, g.Last)
			}
		}
		allUnseen += unseen
		all += len(res.Gaps)
		if clean[name] && len(res.Gaps) > 0 {
			t.Errorf("%s: %d gaps inferred in a capture without capture loss", name, len(res.Gaps))
		}
		t.Logf("%s: %d inferred gaps, %d frames", name, len(res.Gaps), res.Lost())
		for _, g := range res.Gaps {
			var ev []string
			for _, e := range g.Evidence {
				ev = append(ev, fmt.Sprintf("flow %d: %d segments (%d bytes) after frame %d before %d, acked by frame %d", e.Flow, e.Segments, e.Bytes, e.Lo, e.Frame, e.Ref))
			}
			t.Logf("  before frame %d [%d, %d], %d frames (at least %d): %s", g.Frame, g.First, g.Last, g.Lost, g.MinLost, strings.Join(ev, "; "))
		}
	}
}
