package parquet_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/parquet"
)

// entries lists the names in dir.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	es, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		out = append(out, e.Name())
	}
	return out
}

// independentReport runs `gapan report` on its own: a separate run from the
// dataset's.
func independentReport(t *testing.T, capture string) *analyze.Result {
	t.Helper()
	r, err := analyze.Run(analyze.Config{Captures: []string{capture}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDatasetSingleCapture(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "tls-subjectaltname.pcap", "burst:p=0.005,r=0.2", 3)
	out := filepath.Join(dir, "ds")
	res, err := parquet.WriteDataset(out, []string{capture}, parquet.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"ds", "tls-subjectaltname.pcap", "tls-subjectaltname.pcap.gaps"}) {
		t.Errorf("dir holds %v: a temporary directory was left behind", got)
	}
	for _, tbl := range []string{parquet.FramesTable, parquet.GapsTable, parquet.FlowsTable} {
		if got := entries(t, filepath.Join(out, tbl)); !slices.Equal(got, []string{parquet.PartFile}) {
			t.Errorf("%s holds %v, want [%s]", tbl, got, parquet.PartFile)
		}
	}
	r := independentReport(t, capture)
	frames := readParquet(t, filepath.Join(out, "frames", parquet.PartFile))
	gaps := readParquet(t, filepath.Join(out, "gaps", parquet.PartFile))
	if uint64(len(frames.rows)) != r.Summary.FramesCaptured || res.Captures[0].Frames != int64(len(frames.rows)) {
		t.Errorf("%d frame rows, report %d", len(frames.rows), r.Summary.FramesCaptured)
	}
	var lost int64
	for _, g := range gaps.rows {
		lost += g["lost"].(int64)
	}
	if r.Summary.FramesLost == 0 || uint64(lost) != r.Summary.FramesLost {
		t.Errorf("gaps sum(lost) %d, report frames_lost %d", lost, r.Summary.FramesLost)
	}
	compareFlows(t, readParquet(t, filepath.Join(out, "flows", parquet.PartFile)), reportJSONFlows(t, r))
}

func TestDatasetRefusesAndReplaces(t *testing.T) {
	dir := t.TempDir()
	a := corpus + "zeek-pppoe-over-qinq.pcap"
	b := corpus + "ndpi-ultrasurf-vlan.pcap"
	out := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(out, []string{a}, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	if _, err := parquet.WriteDataset(out, []string{b}, parquet.Options{}); !errors.Is(err, parquet.ErrExists) {
		t.Fatalf("second write without Force: %v, want ErrExists", err)
	}
	if n := len(readParquet(t, filepath.Join(out, "frames", parquet.PartFile)).rows); n != 86 {
		t.Fatalf("refused write changed the dataset: %d frames, want qinq's 86", n)
	}
	if _, err := parquet.WriteDataset(out, []string{b}, parquet.Options{Force: true}); err != nil {
		t.Fatal(err)
	}
	if n := len(readParquet(t, filepath.Join(out, "frames", parquet.PartFile)).rows); n != 333 {
		t.Errorf("after --force: %d frames, want ultrasurf's 333", n)
	}
	if got := entries(t, dir); !slices.Equal(got, []string{"ds"}) {
		t.Errorf("dir holds %v after the replacement, want only ds", got)
	}
	// A capture inside the dataset would be deleted by the replacement.
	inside := filepath.Join(out, "x.pcap")
	data, _ := os.ReadFile(a)
	os.WriteFile(inside, data, 0o644)
	if _, err := parquet.WriteDataset(out, []string{inside}, parquet.Options{Force: true}); !errors.Is(err, parquet.ErrInputInside) {
		t.Errorf("capture inside the dataset: %v, want ErrInputInside", err)
	}
}

func TestDatasetFailureLeavesNothing(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "ds")
	// The second capture is damaged: the whole dataset must fail.
	_, err := parquet.WriteDataset(out, []string{corpus + "zeek-pppoe-over-qinq.pcap", corpus + "suricata-smtp-to-comma-corrupt.pcap"}, parquet.Options{})
	if err == nil {
		t.Fatal("a damaged capture gave no error")
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("a failed run left %v", got)
	}
	// A cancelled run leaves nothing either.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := parquet.WriteDataset(out, []string{corpus + "zeek-echo-connections.pcap"}, parquet.Options{Context: ctx}); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled run: %v, want context.Canceled", err)
	}
	if got := entries(t, dir); len(got) != 0 {
		t.Errorf("a cancelled run left %v", got)
	}
}

func TestDatasetManyCaptures(t *testing.T) {
	dir := t.TempDir()
	caps := []string{
		simulated(t, dir, "ndpi-netflix.pcap", "uniform:0.02", 1),
		simulated(t, dir, "ndpi-teams.pcap", "burst:p=0.01,r=0.25", 2),
		corpus + "zeek-pppoe-over-qinq.pcap",
	}
	out := filepath.Join(dir, "ds")
	res, err := parquet.WriteDataset(out, caps, parquet.Options{Parallel: 3})
	if err != nil {
		t.Fatal(err)
	}
	for _, tbl := range []string{parquet.FramesTable, parquet.GapsTable, parquet.FlowsTable} {
		want := []string{"capture=ndpi-netflix.pcap", "capture=ndpi-teams.pcap", "capture=zeek-pppoe-over-qinq.pcap"}
		if got := entries(t, filepath.Join(out, tbl)); !slices.Equal(got, want) {
			t.Errorf("%s partitions %v, want %v", tbl, got, want)
		}
	}
	for i, c := range caps {
		r := independentReport(t, c)
		part := parquet.PartitionName(c)
		if res.Captures[i].Partition != part || res.Captures[i].Name != c {
			t.Errorf("result %d: %+v", i, res.Captures[i])
		}
		frames := readParquet(t, filepath.Join(out, "frames", part, parquet.PartFile))
		if uint64(len(frames.rows)) != r.Summary.FramesCaptured {
			t.Errorf("%s: %d frames, report %d", part, len(frames.rows), r.Summary.FramesCaptured)
		}
		// Frame numbers stay per capture.
		for j, row := range frames.rows {
			if row["frame_number"] != int64(j+1) {
				t.Fatalf("%s row %d: frame_number %v", part, j, row["frame_number"])
			}
		}
		var lost int64
		for _, g := range readParquet(t, filepath.Join(out, "gaps", part, parquet.PartFile)).rows {
			lost += g["lost"].(int64)
		}
		if uint64(lost) != r.Summary.FramesLost {
			t.Errorf("%s: sum(lost) %d, report %d", part, lost, r.Summary.FramesLost)
		}
		compareFlows(t, readParquet(t, filepath.Join(out, "flows", part, parquet.PartFile)), reportJSONFlows(t, r))
	}

	dup := []string{caps[0], filepath.Join(t.TempDir(), "ndpi-netflix.pcap")}
	if _, err := parquet.WriteDataset(filepath.Join(dir, "dup"), dup, parquet.Options{}); !errors.Is(err, parquet.ErrDuplicateCapture) {
		t.Errorf("two captures named alike: %v, want ErrDuplicateCapture", err)
	}
}

func TestPartitionName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"/a/b/cap_001.pcap", "capture=cap_001.pcap"},
		{"x y=z.pcap", "capture=x%20y%3Dz.pcap"},
		{"caf\u00e9.pcapng", "capture=caf%C3%A9.pcapng"},
	} {
		if got := parquet.PartitionName(tc.in); got != tc.want {
			t.Errorf("PartitionName(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}
