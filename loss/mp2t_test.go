package loss_test

import (
	"bytes"
	"io"
	"os"
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
	"github.com/gapan/gapan/simulate"
)

// writeMP2T writes the synthetic transport stream cfg describes into a
// temporary pcap.
func writeMP2T(t *testing.T, cfg synth.MP2TConfig) (string, *synth.MP2TTruth) {
	t.Helper()
	var buf bytes.Buffer
	truth, err := synth.MP2T(&buf, cfg)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "ts.pcap")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return path, truth
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
		if fl.MP2TLostCapture+fl.MP2TLostUpstream+fl.MP2TCCErrors+fl.MP2TDuplicates+fl.MP2TDiscontinuities != 0 {
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
			if !f.MP2T {
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
	path, truth := writeMP2T(t, synth.MP2TConfig{Datagrams: 200, DupVideo: []int{30, 90}, Discontinuity: []int{60, 150}})
	if truth.Duplicates != 2 {
		t.Fatalf("generator wrote %d duplicates", truth.Duplicates)
	}
	s, _ := runBoth(t, path, true)
	fl := tsFlow(t, s)
	if fl.MP2TDuplicates != 2 || fl.MP2TDiscontinuities != 2 || fl.MP2TLostUpstream+fl.MP2TLostCapture+fl.MP2TCCErrors != 0 {
		t.Errorf("%+v", fl.Counters)
	}
	if d, skips, _ := tsharkCC(t, path, false); d != 2 || skips != 2*7 {
		t.Errorf("tshark: %d drops, %d skips; want the 2 announced jumps of 7", d, skips)
	}
}
