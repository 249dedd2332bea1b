package loss_test

import (
	"os"
	"sort"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/sidecar"
)

// fateSums adds up fates per flow and kind (Resend fates apart).
type fateKey struct {
	flow   uint64
	kind   loss.FateKind
	ev     loss.Evidence
	resend bool
}

type fateSum struct{ bytes, segs uint64 }

// runFates runs the engine over path (with its sidecar) collecting every
// fate and the flow of every frame.
func runFates(t *testing.T, path string) (*loss.Summary, []loss.Fate, []uint64) {
	t.Helper()
	s, err := join.Open([]string{path}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var fates []loss.Fate
	flowOf := []uint64{0} // by global frame index
	e := loss.NewEngine(loss.Config{KeepFlows: true, KeepGaps: true, Epoch: 97, OnFate: func(f loss.Fate) { fates = append(fates, f) }})
	for {
		f, err := s.Next()
		if err != nil {
			break
		}
		flowOf = append(flowOf, e.Add(f).FlowID)
	}
	return e.Finish(s.Files()), fates, flowOf
}

// TestFatesAddUp requires the fates of a run to add up, flow by flow and
// kind by kind, to the flows' counters, and each to be told on a frame of
// its own flow, with its explaining gap a recorded gap: on the demo
// capture (capture loss), corpus captures thinned by simulate (capture
// loss, RTP), and captures with upstream and downstream loss of their own.
func TestFatesAddUp(t *testing.T) {
	paths := map[string]string{
		"demo":          "../testdata/demo/demo.pcap",
		"netflix-sim":   simulated(t, "ndpi-netflix.pcap", "uniform:0.05", 3),
		"tls-upstream":  corpusPath("tls-subjectaltname.pcap"),
		"ultrasurf":     corpusPath("ndpi-ultrasurf-vlan.pcap"),
		"tls-sim":       simulated(t, "tls-subjectaltname.pcap", "burst:p=0.02,r=0.3", 5),
		"rtp-sim":       simulated(t, "sipp-g711a-rtp.pcap", "uniform:0.1", 7),
		"rtp-fax":       corpusPath("ndpi-sip-rtp-t38-fax.pcap"),
		"cip":           corpusPath("gopacket-cip.pcap"),
		"netflix-burst": simulated(t, "ndpi-netflix.pcap", "burst:p=0.01,r=0.2", 11),
		"esp-sim":       simulatedFile(t, espLong(t, true), "uniform:0.05", 3),
		"mp2t-sim":      simulatedFile(t, mp2tUpstream(t, false), "uniform:0.05", 3),
		"mp2t-rtp-sim":  simulatedFile(t, mp2tUpstream(t, true), "uniform:0.05", 5),
		"gtpu-thinned":  thin(t, seqSample(t, synth.SampleGTPU), []uint64{12, 13, 22}),
		"icmp-sim":      pingThinned(t, 4),
	}
	for name, path := range paths {
		t.Run(name, func(t *testing.T) {
			sum, fates, flowOf := runFates(t, path)
			gaps := map[uint64]uint64{}
			var global uint64
			// Gap frames are per file; the run is one file.
			for _, g := range sum.Gaps {
				global = g.Frame
				gaps[global] = g.Lost
			}
			got := map[fateKey]fateSum{}
			for _, f := range fates {
				if f.Frame == 0 || f.Frame >= uint64(len(flowOf)) || flowOf[f.Frame] != f.FlowID {
					t.Errorf("fate %+v told on frame %d of another flow", f, f.Frame)
				}
				if f.Ref != 0 && !f.Resend && (f.Ref >= uint64(len(flowOf)) || flowOf[f.Ref] != f.FlowID) {
					t.Errorf("fate %+v refers to frame %d of another flow", f, f.Ref)
				}
				if f.Kind == loss.FateCapture && gaps[f.Gap] != f.GapLost {
					t.Errorf("fate %+v: no recorded gap of %d frames before frame %d (%d)", f, f.GapLost, f.Gap, gaps[f.Gap])
				}
				if f.Kind != loss.FateCapture && f.Gap != 0 {
					t.Errorf("fate %+v names a gap", f)
				}
				k := fateKey{f.FlowID, f.Kind, f.Evidence, f.Resend}
				s := got[k]
				s.bytes += f.Bytes
				s.segs += f.Segments
				got[k] = s
			}
			var n int
			for _, fl := range sum.List {
				want := map[fateKey]fateSum{
					{fl.FlowID, loss.FateCapture, loss.EvidenceTCP, false}:             {fl.CaptureExplainedBytes, fl.CaptureExplainedSegments},
					{fl.FlowID, loss.FateCaptureUnexplained, loss.EvidenceTCP, false}:  {fl.CaptureUnexplainedBytes, fl.CaptureUnexplainedSegments},
					{fl.FlowID, loss.FateUpstream, loss.EvidenceTCP, false}:            {fl.UpstreamLostBytes, fl.UpstreamLostSegments},
					{fl.FlowID, loss.FateAmbiguous, loss.EvidenceTCP, false}:           {fl.AmbiguousBytes, fl.AmbiguousSegments},
					{fl.FlowID, loss.FateDownstream, loss.EvidenceTCP, false}:          {fl.DownstreamLostBytes, fl.DownstreamLostSegments},
					{fl.FlowID, loss.FateUnknown, loss.EvidenceTCP, false}:             {fl.UnknownBytes, fl.UnknownSegments},
					{fl.FlowID, loss.FateCapture, loss.EvidenceRTP, false}:             {0, fl.RTPLostCapture},
					{fl.FlowID, loss.FateUpstream, loss.EvidenceRTP, false}:            {0, fl.RTPLostUpstream},
					{fl.FlowID, loss.FateCapture, loss.EvidenceESP, false}:             {0, fl.ESPLostCapture},
					{fl.FlowID, loss.FateUpstream, loss.EvidenceESP, false}:            {0, fl.ESPLostUpstream},
					{fl.FlowID, loss.FateCapture, loss.EvidenceGTPU, false}:            {0, fl.GTPULostCapture},
					{fl.FlowID, loss.FateUpstream, loss.EvidenceGTPU, false}:           {0, fl.GTPULostUpstream},
					{fl.FlowID, loss.FateCapture, loss.EvidenceICMP, false}:            {0, fl.ICMPLostCapture},
					{fl.FlowID, loss.FateUpstream, loss.EvidenceICMP, false}:           {0, fl.ICMPLostUpstream},
					{fl.FlowID, loss.FateCaptureUnexplained, loss.EvidenceICMP, false}: {0, fl.ICMPCaptureUnexplained},
					{fl.FlowID, loss.FateCapture, loss.EvidenceMP2T, false}:            {0, fl.MP2TLostCapture},
					{fl.FlowID, loss.FateUpstream, loss.EvidenceMP2T, false}:           {0, fl.MP2TLostUpstream},
				}
				for k, w := range want {
					if got[k] != w {
						t.Errorf("flow %d %v (%v): fates add up to %+v, the flow's counters say %+v", fl.FlowID, k.kind, k.ev, got[k], w)
					}
					if w != (fateSum{}) {
						n++
					}
					delete(got, k)
				}
				// Retransmissions that repair upstream or ambiguous loss
				// tell the same bytes again.
				for _, kind := range []loss.FateKind{loss.FateUpstream, loss.FateAmbiguous} {
					r := got[fateKey{fl.FlowID, kind, loss.EvidenceTCP, true}]
					if w := want[fateKey{fl.FlowID, kind, loss.EvidenceTCP, false}]; r != w {
						t.Errorf("flow %d: retransmissions repairing %v: %+v, want %+v", fl.FlowID, kind, r, w)
					}
				}
			}
			for k, s := range got {
				if !k.resend && s != (fateSum{}) {
					t.Errorf("fates of no flow's counter: %+v %+v", k, s)
				}
			}
			if n == 0 {
				t.Errorf("no loss at all: the case tests nothing")
			}
			t.Logf("%d fates, %d flow figures held", len(fates), n)
		})
	}
}

// TestFateBracket requires the capture-loss fates of a capture thinned by
// simulate (of captures that lost no data of their own), read without its
// sidecar, to carry a bracket (Lo, Frame] starting on a frame of their own
// flow, and most (75 %) to hold one of the gaps simulate really made
// (its sidecar, read apart): package infer places gaps by these brackets.
// The few that miss are listed: the bracket starts at the flow's frame
// that advanced its top sequence number bracketDepth tops back, which
// reordering can place after the loss.
func TestFateBracket(t *testing.T) {
	for _, c := range []struct {
		name, model string
		seed        uint64
	}{
		{"tls-subjectaltname.pcap", "uniform:0.01", 3},
		{"tls-subjectaltname.pcap", "burst:p=0.02,r=0.3", 5},
		{"ndpi-teams.pcap", "uniform:0.02", 7},
	} {
		t.Run(c.name, func(t *testing.T) {
			path := simulated(t, c.name, c.model, c.seed)
			sf, err := os.Open(sidecar.PathFor(path))
			if err != nil {
				t.Fatal(err)
			}
			sr, err := sidecar.NewReader(sf)
			if err != nil {
				t.Fatal(err)
			}
			truth, err := sidecar.ReadAll(sr)
			sf.Close()
			if err != nil {
				t.Fatal(err)
			}
			s, err := join.Open([]string{path}, join.Options{NoSidecar: true})
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			var fates []loss.Fate
			flowOf := []uint64{0}
			e := loss.NewEngine(loss.Config{OnFate: func(f loss.Fate) { fates = append(fates, f) }})
			for {
				f, err := s.Next()
				if err != nil {
					break
				}
				flowOf = append(flowOf, e.Add(f).FlowID)
			}
			e.Finish(s.Files())
			var n, miss int
			for _, f := range fates {
				if f.Kind != loss.FateCaptureUnexplained {
					if f.Lo != 0 && f.Kind != loss.FateCapture && !(f.Evidence.Packets() && f.Kind == loss.FateUpstream) {
						t.Errorf("fate %+v has a bracket", f)
					}
					continue
				}
				n++
				if f.Lo >= f.Frame || f.Lo != 0 && flowOf[f.Lo] != f.FlowID {
					t.Errorf("fate %+v: bracket start %d is not an earlier frame of its flow", f, f.Lo)
				}
				i := sort.Search(len(truth.Records), func(i int) bool { return truth.Records[i].Frame > f.Lo })
				if i == len(truth.Records) || truth.Records[i].Frame > f.Frame {
					t.Logf("fate %+v: no gap simulate made in its bracket (%d, %d]", f, f.Lo, f.Frame)
					miss++
				}
			}
			if n == 0 {
				t.Fatal("no capture loss: the case tests nothing")
			}
			if miss*4 > n {
				t.Errorf("%d of %d capture-loss fates hold no true gap in their bracket", miss, n)
			}
			t.Logf("%d capture-loss fates (%d miss), %d true gaps", n, miss, len(truth.Records))
		})
	}
}
