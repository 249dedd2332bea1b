package analyze

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
)

// TestMP2TPipelined: MPEG transport streams, bare and over RTP, with
// datagrams lost before the capture and deleted by simulate, give the
// same figures on the sequential and the pipelined run, whose batches
// keep each datagram's TS headers instead of its bytes.
func TestMP2TPipelined(t *testing.T) {
	for _, rtp := range []bool{false, true} {
		dir := t.TempDir()
		in := filepath.Join(dir, "ts.pcap")
		if _, err := synth.MP2TFile(in, synth.MP2TConfig{Datagrams: 3000, RTP: rtp, Skip: []int{10, 500, 501}, AFOnlyEvery: 7}); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, "sim.pcap")
		if _, err := simulate.Run(simulate.Config{Input: in, Output: p, Model: simulate.List{Ranges: [][2]uint64{{100, 100}, {1000, 1001}, {2500, 2500}}}}); err != nil {
			t.Fatal(err)
		}
		var flows [2][]*loss.Flow
		for i, workers := range []int{1, 2} {
			r, err := Run(Config{Captures: []string{p}, Join: join.Options{}, KernelDrops: -1, Workers: workers, Engine: loss.Config{KeepFlows: true}})
			if err != nil {
				t.Fatal(err)
			}
			flows[i] = r.Summary.List
		}
		if len(flows[0]) != 1 || flows[0][0].MP2TLostCapture == 0 || flows[0][0].MP2TLostUpstream == 0 {
			t.Fatalf("rtp %v: want one MPEG-TS flow with capture and upstream loss, got %+v", rtp, flows[0])
		}
		if !reflect.DeepEqual(flows[0], flows[1]) {
			t.Errorf("rtp %v: the pipelined run's flows differ from the sequential run's:\n%+v\n%+v", rtp, flows[0][0], flows[1][0])
		}
	}
}
