package parquet_test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/testfiles"
	"github.com/gapan/gapan/join"
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

// TestLossNotRecordedMetadata: without a sidecar every table says in its
// key/value metadata that the loss was not recorded (its gap_before and
// lost columns are 0 for want of a record, not for want of loss); with a
// complete sidecar none does.
func TestLossNotRecordedMetadata(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "zeek-dcerpc-20-fids-no-close.pcap", "list:5,17-19,40-49", 1)
	for _, tc := range []struct {
		name string
		opt  parquet.Options
		want *string
	}{
		{"no sidecar", parquet.Options{Join: join.Options{NoSidecar: true}}, ptr(parquet.LossNotRecorded)},
		{"sidecar", parquet.Options{}, nil},
	} {
		out := filepath.Join(dir, tc.name)
		if _, err := parquet.WriteDataset(out, []string{capture}, tc.opt); err != nil {
			t.Fatal(err)
		}
		b, err := os.ReadFile(filepath.Join(out, parquet.ManifestFile))
		if err != nil {
			t.Fatal(err)
		}
		var m parquet.Manifest
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		want := ""
		if tc.want != nil {
			want = *tc.want
		}
		if got := m.Captures[0].LossUnknown; got != want {
			t.Errorf("%s: manifest loss_unknown %q, want %q", tc.name, got, want)
		}
		for _, table := range []string{parquet.FramesTable, parquet.GapsTable, parquet.FlowsTable} {
			pr := openParquet(t, filepath.Join(out, table, parquet.PartFile))
			got := pr.MetaData().KeyValueMetadata().FindValue(parquet.MetaLossUnknown)
			pr.Close()
			if (got == nil) != (tc.want == nil) || got != nil && *got != *tc.want {
				t.Errorf("%s, %s: %s = %v, want %v", tc.name, table, parquet.MetaLossUnknown, got, tc.want)
			}
		}
	}
}

func ptr[T any](v T) *T { return &v }
