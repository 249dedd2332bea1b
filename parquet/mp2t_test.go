package parquet_test

import (
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
)

// TestDatasetMP2T: the flows table carries the mp2t columns as the JSON
// report does, with the TS packets of the two datagrams simulate deleted
// (frames 80 and 200, in recorded gaps) lost in the capture.
func TestDatasetMP2T(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "ts.pcap")
	truth, err := synth.MP2TFile(in, synth.MP2TConfig{Datagrams: 300, AFOnlyEvery: 9})
	if err != nil {
		t.Fatal(err)
	}
	flows := thinnedFlows(t, dir, in, [][2]uint64{{80, 80}, {200, 200}})
	var lost, upstream int64
	var isTS bool
	for _, r := range flows.rows {
		lost += r["mp2t_lost_capture"].(int64)
		upstream += r["mp2t_lost_upstream"].(int64)
		isTS = isTS || r["mp2t"].(bool)
	}
	if want := int64(truth.LostIn([]int{79, 199})); lost != want || upstream != 0 || !isTS {
		t.Errorf("flows table: mp2t %v, %d TS packets lost in the capture, %d upstream; want true, %d, 0", isTS, lost, upstream, want)
	}
}
