package parquet_test

import (
	"fmt"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/testfiles"
	"github.com/gapan/gapan/parquet"
)

// TestLossUnknownMetadata: a run whose sidecar has no trailer (a killed
// recorder) writes "loss unknown after frame N" into the key/value
// metadata of every table, N being the sidecar's last record.
func TestLossUnknownMetadata(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "zeek-dcerpc-20-fids-no-close.pcap", "list:5,17-19,40-49", 1)
	last := testfiles.CutSidecar(t, capture)
	want := fmt.Sprintf("loss unknown after frame %d (the sidecar ends there)", last)

	out := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(out, []string{capture}, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, table := range []string{parquet.FramesTable, parquet.GapsTable, parquet.FlowsTable} {
		pr := openParquet(t, filepath.Join(out, table, parquet.PartFile))
		got := pr.MetaData().KeyValueMetadata().FindValue(parquet.MetaLossUnknown)
		pr.Close()
		if got == nil || *got != want {
			t.Errorf("%s: %s = %v, want %q", table, parquet.MetaLossUnknown, got, want)
		}
	}
}
