package parquet_test

import (
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/parquet"
	"github.com/gapan/gapan/simulate"
)

// TestDatasetSequenceFamilies: the flows table carries the sequence
// families' columns as the JSON report does, with the GTP-U packets a
// thinned tunnel lost (internal/synth's SampleGTPU, frames 12, 13 and 22
// deleted by simulate: 3).
func TestDatasetSequenceFamilies(t *testing.T) {
	dir := t.TempDir()
	in, err := synth.SeqSample(dir, synth.SampleGTPU)
	if err != nil {
		t.Fatal(err)
	}
	flows := thinnedFlows(t, dir, in, [][2]uint64{{12, 13}, {22, 22}})
	var lost, packets int64
	for _, r := range flows.rows {
		lost += r["gtpu_lost_capture"].(int64)
		packets += r["gtpu_packets"].(int64)
	}
	if lost != 3 || packets != 11 {
		t.Errorf("flows table: %d GTP-U packets, %d lost in the capture; want 11 and 3", packets, lost)
	}
}

// thinnedFlows deletes the frame ranges from capture in with simulate
// (its sidecar records them as gaps), writes the Parquet dataset of the
// thinned capture in dir and returns its flows table, after checking it
// against the JSON report of an independent run.
func thinnedFlows(t *testing.T, dir, in string, ranges [][2]uint64) rows {
	t.Helper()
	capture := filepath.Join(dir, "thinned.pcap")
	if _, err := simulate.Run(simulate.Config{Input: in, Output: capture, Model: simulate.List{Ranges: ranges}}); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(out, []string{capture}, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	flows := readParquet(t, filepath.Join(out, "flows", parquet.PartFile))
	compareFlows(t, flows, reportJSONFlows(t, independentReport(t, capture)))
	return flows
}
