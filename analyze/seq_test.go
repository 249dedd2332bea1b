package analyze

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
)

// TestSeqPipelined: the sequence families (ESP, ESP in UDP, GTP-U, ICMP
// echo) give the same figures on the sequential and the pipelined run,
// whose batches keep only the decoded packet (docs/architecture.md), on
// the synthetic captures of internal/synth.WriteSeqSamples and on one
// thinned by simulate.
func TestSeqPipelined(t *testing.T) {
	dir := t.TempDir()
	if err := synth.WriteSeqSamples(dir); err != nil {
		t.Fatal(err)
	}
	thinned := filepath.Join(t.TempDir(), "gtp6-thinned.pcap")
	if _, err := simulate.Run(simulate.Config{Input: filepath.Join(dir, synth.SampleGTPU), Output: thinned, Model: simulate.List{Ranges: [][2]uint64{{12, 13}, {22, 22}}}}); err != nil {
		t.Fatal(err)
	}
	paths := []string{thinned}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		paths = append(paths, filepath.Join(dir, e.Name()))
	}
	for _, p := range paths {
		var flows [2][]*loss.Flow
		for i, workers := range []int{1, 2} {
			r, err := Run(Config{Captures: []string{p}, Join: join.Options{NoSidecar: p != thinned}, KernelDrops: -1, Workers: workers, Engine: loss.Config{KeepFlows: true}})
			if err != nil {
				t.Fatal(err)
			}
			flows[i] = r.Summary.List
		}
		var numbered uint64
		for _, f := range flows[0] {
			numbered += f.ESPPackets + f.GTPUPackets + f.ICMPPackets
		}
		if numbered == 0 && filepath.Base(p) != synth.SampleGTPUUnnumbered {
			t.Errorf("%s: no numbered packet", p)
		}
		if !reflect.DeepEqual(flows[0], flows[1]) {
			t.Errorf("%s: the pipelined run's flows differ from the sequential run's", p)
		}
	}
}
