package loss_test

import (
	"io"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket/layers"
)

// writeMP2T writes the synthetic transport stream cfg describes into a
// temporary pcap.
func writeMP2T(t *testing.T, cfg synth.MP2TConfig) (string, *synth.MP2TTruth) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "ts.pcap")
	truth, err := synth.MP2TFile(path, cfg)
	if err != nil {
		t.Fatal(err)
	}
	return path, truth
}

// mp2tUpstream writes a transport stream of 2,000 datagrams, bare or over
// RTP, with a few datagrams lost before the capture.
func mp2tUpstream(t *testing.T, rtp bool) string {
	path, _ := writeMP2T(t, synth.MP2TConfig{Datagrams: 2000, RTP: rtp, Skip: []int{100, 700, 701, 1500}, AFOnlyEvery: 13})
	return path
}

// deleteFrames removes the listed 1-based frames from the capture at path
// with simulate, which writes their ground-truth sidecar next to it.
func deleteFrames(t *testing.T, path string, frames []int) string {
	t.Helper()
	var l []string
	for _, f := range frames {
		l = append(l, strconv.Itoa(f))
	}
	m, err := simulate.ParseModel("list:" + strings.Join(l, ","))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sim.pcap")
	if _, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: m}); err != nil {
		t.Fatal(err)
	}
	return out
}

// runBoth accounts the capture at path with Engine.Add and with the
// pipelined run's Batch and AddBatch, requires the same flows from both,
// and returns the summary and the fates of the first.
func runBoth(t *testing.T, path string, noSidecar bool) (*loss.Summary, []loss.Fate) {
	t.Helper()
	var sums [2]*loss.Summary
	var fates []loss.Fate
	for i := range sums {
		s, err := join.Open([]string{path}, join.Options{NoSidecar: noSidecar})
		if err != nil {
			t.Fatal(err)
		}
		cfg := loss.Config{KeepFlows: true, Epoch: 50}
		if i == 0 {
			cfg.OnFate = func(f loss.Fate) { fates = append(fates, f) }
		}
		e := loss.NewEngine(cfg)
		b, dec := e.NewBatch(7), decode.NewDecoder()
		for {
			f, err := s.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if i == 0 {
				e.Add(f)
				continue
			}
			b.Add(f, dec)
			if b.Full() {
				e.AddBatch(b, nil)
				b.Reset()
			}
		}
		e.AddBatch(b, nil)
		sums[i] = e.Finish(s.Files())
		s.Close()
	}
	if !reflect.DeepEqual(sums[0].List, sums[1].List) {
		t.Errorf("Add and AddBatch differ:\n%+v\n%+v", sums[0].List, sums[1].List)
	}
	return sums[0], fates
}

// tsharkCC returns what tshark's MPEG-TS analysis says of the capture:
// the TS packets flagged mp2t.cc.drop ("Detected missing TS frames") and
// the sum of their skips, and the frames with at least one.
func tsharkCC(t *testing.T, path string, rtp bool) (drops, skips, frames int) {
	t.Helper()
	args := []string{"-n", "-r", path, "-Y", "mp2t.cc.drop", "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=,", "-e", "mp2t.analysis.skips"}
	if rtp {
		args = append(args, "-d", "udp.port==5004,rtp")
	}
	out, err := exec.Command("tshark", args...).Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		if l == "" {
			continue
		}
		frames++
		for _, v := range strings.Split(l, ",") {
			n, err := strconv.Atoi(v)
			if err != nil {
				t.Fatalf("tshark skips %q: %v", l, err)
			}
			drops++
			skips += n
		}
	}
	return drops, skips, frames
}

// tsFlow returns the one flow of a synthetic capture, which must be an
// MPEG-TS flow.
func tsFlow(t *testing.T, s *loss.Summary) *loss.Flow {
	t.Helper()
	if len(s.List) != 1 || !s.List[0].IsMP2T {
		t.Fatalf("want one MPEG-TS flow, got %+v", s.List)
	}
	return s.List[0]
}

// TestMP2TClean: a whole stream, bare or over RTP, with
// adaptation-field-only packets, shows no missing packet, as tshark
// finds no mp2t.cc.drop; every TS packet of the stream is counted.
func TestMP2TClean(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	for _, rtp := range []bool{false, true} {
		path, _ := writeMP2T(t, synth.MP2TConfig{Datagrams: 300, RTP: rtp, AFOnlyEvery: 9})
		if d, _, _ := tsharkCC(t, path, rtp); d != 0 {
			t.Fatalf("rtp %v: tshark finds %d drops in the clean stream", rtp, d)
		}
		s, _ := runBoth(t, path, true)
		fl := tsFlow(t, s)
		if fl.MP2TLostCapture+fl.MP2TLostUpstream+fl.MP2TCCErrors+fl.MP2TDuplicates+fl.MP2TRestarts != 0 {
			t.Errorf("rtp %v: clean stream: %+v", rtp, fl.Counters)
		}
		// Confirmed at the 4th datagram: the first three's packets are not counted.
		if want := uint64(7 * (300 - 3)); fl.MP2TPackets != want {
			t.Errorf("rtp %v: mp2t_packets %d, want %d", rtp, fl.MP2TPackets, want)
		}
		if fl.IsRTP != rtp {
			t.Errorf("rtp %v: flow rtp %v", rtp, fl.IsRTP)
		}
	}
}

// TestMP2TAgainstTshark: datagrams missing from the capture (lost before
// it: no sidecar explains them) show as counter jumps: gapan counts the
// jumps and the missing packets as tshark's mp2t.cc.drop and skips do,
// and both equal what the generator left out (every run loses fewer than
// 16 packets of a PID).
func TestMP2TAgainstTshark(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	for _, rtp := range []bool{false, true} {
		skip := []int{20, 21, 57, 100, 133, 134, 250}
		path, truth := writeMP2T(t, synth.MP2TConfig{Datagrams: 300, RTP: rtp, Skip: skip})
		drops, skips, _ := tsharkCC(t, path, rtp)
		s, _ := runBoth(t, path, true)
		fl := tsFlow(t, s)
		if int(fl.MP2TLostUpstream) != skips || fl.MP2TLostCapture != 0 || int(fl.MP2TCCErrors) != drops {
			t.Errorf("rtp %v: gapan %d lost upstream, %d capture, %d jumps; tshark %d skips in %d drops",
				rtp, fl.MP2TLostUpstream, fl.MP2TLostCapture, fl.MP2TCCErrors, skips, drops)
		}
		if skips != truth.LostTotal {
			t.Errorf("rtp %v: tshark %d skips, the generator left out %d", rtp, skips, truth.LostTotal)
		}
		if rtp && fl.RTPLostUpstream != uint64(len(skip)) {
			t.Errorf("rtp lost upstream %d, want %d", fl.RTPLostUpstream, len(skip))
		}
		t.Logf("rtp %v: %d datagrams left out: tshark %d mp2t.cc.drop, %d skips; gapan %d cc errors, %d lost", rtp, len(skip), drops, skips, fl.MP2TCCErrors, fl.MP2TLostUpstream)
	}
}

// TestMP2TCaptureVsUpstream: datagrams the capture lost (deleted by
// simulate, whose sidecar records the gaps) are capture loss, datagrams
// missing before the capture point are upstream loss, each counted in TS
// packets as the generator wrote them; without the sidecar all of it is
// upstream. Over RTP the same, with the RTP packets counted by the RTP
// evidence and the TS packets not taking the gaps' capacity twice.
func TestMP2TCaptureVsUpstream(t *testing.T) {
	for _, rtp := range []bool{false, true} {
		skip := []int{40, 41, 200}
		path, truth := writeMP2T(t, synth.MP2TConfig{Datagrams: 400, RTP: rtp, Skip: skip, AFOnlyEvery: 11})
		del := []int{80, 150, 151, 300}
		var frames []int
		for _, d := range del {
			frames = append(frames, truth.Frame[d])
		}
		sim := deleteFrames(t, path, frames)
		wantCapture, wantUp := uint64(truth.LostIn(del)), uint64(truth.LostIn(skip))
		s, fates := runBoth(t, sim, false)
		fl := tsFlow(t, s)
		if fl.MP2TLostCapture != wantCapture || fl.MP2TLostUpstream != wantUp {
			t.Errorf("rtp %v: lost capture %d upstream %d, want %d, %d", rtp, fl.MP2TLostCapture, fl.MP2TLostUpstream, wantCapture, wantUp)
		}
		if rtp && (fl.RTPLostCapture != uint64(len(del)) || fl.RTPLostUpstream != uint64(len(skip))) {
			t.Errorf("rtp lost capture %d upstream %d, want %d, %d", fl.RTPLostCapture, fl.RTPLostUpstream, len(del), len(skip))
		}
		// The fates add up to the counters.
		var fc, fu uint64
		for _, f := range fates {
			if f.Evidence != loss.EvidenceMP2T {
				continue
			}
			switch f.Kind {
			case loss.FateCapture:
				fc += f.Segments
			case loss.FateUpstream:
				fu += f.Segments
			default:
				t.Errorf("mp2t fate %v", f.Kind)
			}
		}
		if fc != fl.MP2TLostCapture || fu != fl.MP2TLostUpstream {
			t.Errorf("rtp %v: fates capture %d upstream %d, counters %d, %d", rtp, fc, fu, fl.MP2TLostCapture, fl.MP2TLostUpstream)
		}
		t.Run("tshark", func(t *testing.T) {
			testenv.NeedTool(t, "tshark")
			drops, skips, _ := tsharkCC(t, sim, rtp)
			if int(fl.MP2TCCErrors) != drops || int(fl.MP2TLostCapture+fl.MP2TLostUpstream) != skips {
				t.Errorf("rtp %v: gapan %d jumps, %d lost; tshark %d drops, %d skips", rtp, fl.MP2TCCErrors, fl.MP2TLostCapture+fl.MP2TLostUpstream, drops, skips)
			}
			t.Logf("rtp %v: tshark %d mp2t.cc.drop, %d skips; gapan %d jumps, %d capture + %d upstream", rtp, drops, skips, fl.MP2TCCErrors, fl.MP2TLostCapture, fl.MP2TLostUpstream)
		})
		s, _ = runBoth(t, sim, true)
		fl = tsFlow(t, s)
		if fl.MP2TLostCapture != 0 || fl.MP2TLostUpstream != wantCapture+wantUp {
			t.Errorf("rtp %v, no sidecar: lost capture %d upstream %d, want 0, %d", rtp, fl.MP2TLostCapture, fl.MP2TLostUpstream, wantCapture+wantUp)
		}
	}
}

// TestMP2TDuplicateAndDiscontinuity: a repeated packet (same counter,
// with a payload) is a duplicate, not loss; a counter that jumps on a
// packet with the discontinuity_indicator is no loss either. tshark
// counts neither the duplicates nor the indicator: it flags the
// announced jump as a drop.
func TestMP2TDuplicateAndDiscontinuity(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	path, truth := writeMP2T(t, synth.MP2TConfig{Datagrams: 200, DupVideo: []int{30, 90}, Discontinuity: []int{60, 150}, AFOnlyEvery: 5})
	if truth.Duplicates != 2 {
		t.Fatalf("generator wrote %d duplicates", truth.Duplicates)
	}
	s, _ := runBoth(t, path, true)
	fl := tsFlow(t, s)
	if fl.MP2TDuplicates != 2 || fl.MP2TRestarts != 2 || fl.MP2TLostUpstream+fl.MP2TLostCapture+fl.MP2TCCErrors != 0 {
		t.Errorf("%+v", fl.Counters)
	}
	if d, skips, _ := tsharkCC(t, path, false); d != 2 || skips != 2*7 {
		t.Errorf("tshark: %d drops, %d skips; want the 2 announced jumps of 7", d, skips)
	}
}

// mp2tFuzzFrame builds the Ethernet/IPv4/UDP frame of one FuzzMP2T
// record into buf and returns it with the record's length and gap: rec[0]
// bits 0-2 the TS packets (1 to 8), bit 3 an RTP header first, bit 4 a
// lost sync byte in the last packet, bits 5-7 the frames lost before it;
// then per packet one byte (bits 0-1 which of 4 PIDs, the null PID among
// them, bits 2-3 adaptation field control, bit 4 discontinuity_indicator,
// bit 5 the payload cut off after this packet's header) and its counter.
func mp2tFuzzFrame(buf, rec []byte) (data []byte, used int, gap uint64) {
	n := int(rec[0]&7) + 1
	used = 1 + 2*n
	if len(rec) < used {
		return nil, len(rec), 0
	}
	gap = uint64(rec[0] >> 5)
	pids := [4]uint16{0x100, 0x101, 0, 0x1FFF}
	var pl []byte
	if rec[0]&8 != 0 {
		pl = append(pl, 0x80, 33, 0, byte(len(rec)), 0, 0, 0, 0, 0, 0, 0, 7)
	}
	cut := 0
	for i := range n {
		a, c := rec[1+2*i], rec[2+2*i]
		p := make([]byte, 188)
		pid := pids[a&3]
		p[0], p[1], p[2], p[3] = 0x47, byte(pid>>8), byte(pid), (a>>2&3)<<4|c&0x0F
		if a&0x10 != 0 {
			p[4], p[5] = 1, 0x80
		}
		if i == n-1 && rec[0]&0x10 != 0 {
			p[0] = 0
		}
		if a&0x20 != 0 && cut == 0 {
			cut = len(pl) + 4
		}
		pl = append(pl, p...)
	}
	data = append(buf[:0], 1, 0, 0x5e, 1, 1, 1, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	total := 28 + len(pl)
	data = append(data, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 16, 17, 0, 0, 10, 0, 0, 1, 239, 1, 1, 1)
	data = append(data, 0x13, 0x88, 0x13, 0x8c, byte((8+len(pl))>>8), byte(8+len(pl)), 0, 0)
	data = append(data, pl...)
	if cut > 0 {
		data = data[:42+cut] // the snap length
	}
	return data, used, gap
}

// FuzzMP2T feeds the accounting arbitrary TS datagrams (any PIDs,
// counters, adaptation fields, discontinuity indicators, lost sync
// bytes, datagrams cut short) with gaps: it must never panic, Add and the
// pipelined run's AddBatch must agree, and every counter jump shows at
// most 15 missing packets.
func FuzzMP2T(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{
		0x06, 0x04, 0, 0x05, 0, 0x04, 1, 0x04, 2, 0x04, 3, 0x04, 4, 0x04, 5, 0x04, 6,
		0x06, 0x04, 7, 0x05, 1, 0x04, 8, 0x04, 9, 0x04, 10, 0x04, 11, 0x04, 12, 0x04, 13,
		0x26, 0x04, 3, 0x05, 3, 0x04, 4, 0x0c, 4, 0x14, 9, 0x04, 10, 0x07, 0,
		0x0e, 0x04, 11, 0x04, 11, 0x04, 12, 0x04, 13, 0x24, 14, 0x04, 15, 0x04, 0,
	})
	f.Fuzz(fuzzMP2TBody)
}

// fuzzMP2TBody is FuzzMP2T's check of one input.
func fuzzMP2TBody(t *testing.T, in []byte) {
	if len(in) > 1<<16 {
		return
	}
	var sums [2]*loss.Summary
	for k := range sums {
		e := loss.NewEngine(loss.Config{KeepFlows: true, Epoch: 8})
		b, dec := e.NewBatch(5), decode.NewDecoder()
		buf := make([]byte, 0, 2048)
		var frames uint64
		for i := 0; i < len(in); {
			data, used, gap := mp2tFuzzFrame(buf, in[i:])
			i += used
			if data == nil {
				break
			}
			frames++
			jf := &join.Frame{Frame: &reader.Frame{Number: frames, TimestampNs: int64(frames) * 1e6, CapLen: len(data), OrigLen: len(data), LinkType: layers.LinkTypeEthernet, Data: data}, GapBefore: gap}
			if k == 0 {
				e.Add(jf)
				continue
			}
			b.Add(jf, dec)
			if b.Full() {
				e.AddBatch(b, nil)
				b.Reset()
			}
		}
		e.AddBatch(b, nil)
		sums[k] = e.Finish(nil)
	}
	if !reflect.DeepEqual(sums[0].List, sums[1].List) {
		t.Fatalf("Add and AddBatch differ:\n%+v\n%+v", sums[0].List, sums[1].List)
	}
	c := &sums[0].Flows
	if c.MP2TLostCapture+c.MP2TLostUpstream > 15*c.MP2TCCErrors {
		t.Fatalf("%d + %d packets missing in %d jumps", c.MP2TLostCapture, c.MP2TLostUpstream, c.MP2TCCErrors)
	}
}

// TestMP2TCopies: datagrams captured twice in a row (a mirror port's
// copies) are duplicates, 7 TS packets each, not the counters of every
// PID jumping back, which tshark takes for drops; over RTP as well.
func TestMP2TCopies(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	for _, rtp := range []bool{false, true} {
		path, _ := writeMP2T(t, synth.MP2TConfig{Datagrams: 200, RTP: rtp, Copy: []int{20, 21, 100}, AFOnlyEvery: 7})
		s, _ := runBoth(t, path, true)
		fl := tsFlow(t, s)
		if fl.MP2TDuplicates != 3*7 || fl.MP2TLostCapture+fl.MP2TLostUpstream+fl.MP2TCCErrors != 0 {
			t.Errorf("rtp %v: %d duplicates, %d lost, %d jumps; want 21, 0, 0", rtp, fl.MP2TDuplicates, fl.MP2TLostCapture+fl.MP2TLostUpstream, fl.MP2TCCErrors)
		}
		drops, skips, _ := tsharkCC(t, path, rtp)
		t.Logf("rtp %v: 3 datagrams copied: tshark %d mp2t.cc.drop, %d skips; gapan %d duplicates", rtp, drops, skips, fl.MP2TDuplicates)
		if drops == 0 {
			t.Errorf("rtp %v: tshark flags no drop on the copies", rtp)
		}
	}
}

// TestMP2TLowerBound: a run of lost datagrams that takes 16 or more
// packets of a PID shows only their number modulo 16 on its counter:
// gapan's count, like tshark's skips, is then below what was lost, by
// exactly the multiples of 16 the counters cannot show.
func TestMP2TLowerBound(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	path, truth := writeMP2T(t, synth.MP2TConfig{Datagrams: 200, Skip: []int{100, 101, 102, 103}})
	visible := 0
	for _, n := range truth.Lost {
		visible += n % 16
	}
	if visible >= truth.LostTotal {
		t.Fatalf("the run should hide packets: %d lost, %d visible", truth.LostTotal, visible)
	}
	_, skips, _ := tsharkCC(t, path, false)
	s, _ := runBoth(t, path, true)
	fl := tsFlow(t, s)
	if got := int(fl.MP2TLostUpstream + fl.MP2TLostCapture); got != visible || skips != visible {
		t.Errorf("%d TS packets lost (%v by PID): gapan counts %d, tshark %d, the counters can show %d", truth.LostTotal, truth.Lost, got, skips, visible)
	}
	t.Logf("4 datagrams lost: %d TS packets, %d by PID; gapan and tshark see %d", truth.LostTotal, truth.Lost, visible)
}
