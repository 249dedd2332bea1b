package parquet_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gapan/gapan/internal/testfiles"
	"github.com/gapan/gapan/parquet"
	"github.com/gapan/gapan/report"
)

const mirrorSample = "../testdata/mirror/synth/mirror-loss.pcap"

// TestDatasetMirrorSessions writes the dataset of the mirror sample (with
// its sidecar, and a copy without) as two partitions and requires one
// mirror_sessions row per session of the report's JSON, every column
// equal to its member there (capture_lost and mirror_lost null without
// the sidecar), and no mirror_sessions table for a capture without
// sessions.
func TestDatasetMirrorSessions(t *testing.T) {
	dir := t.TempDir()
	// A copy of the capture alone: without a sidecar the split of the
	// missing numbers is unknown.
	bare := testfiles.Bare(t, mirrorSample)
	out := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(out, []string{mirrorSample, bare}, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	for _, capture := range []string{mirrorSample, bare} {
		var js bytes.Buffer
		if err := report.WriteJSON(&js, independentReport(t, capture)); err != nil {
			t.Fatal(err)
		}
		var doc struct {
			Sessions []map[string]any `json:"mirror_sessions"`
		}
		dec := json.NewDecoder(&js)
		dec.UseNumber()
		if err := dec.Decode(&doc); err != nil {
			t.Fatal(err)
		}
		got := readParquet(t, filepath.Join(out, parquet.MirrorSessionsTable, parquet.PartitionName(capture), parquet.PartFile))
		if len(got.rows) != len(doc.Sessions) || len(got.rows) != 5 {
			t.Fatalf("%s: %d rows, the report has %d sessions (want 5)", capture, len(got.rows), len(doc.Sessions))
		}
		for i, row := range got.rows {
			for _, f := range got.schema.Fields() {
				want, v := fmt.Sprint(doc.Sessions[i][f.Name]), fmt.Sprint(row[f.Name])
				if f.Name == "first_ts" || f.Name == "last_ts" {
					// A TIMESTAMP in µs: the report's _ts_ns, truncated.
					ns, err := doc.Sessions[i][f.Name+"_ns"].(json.Number).Int64()
					if err != nil {
						t.Fatal(err)
					}
					want = fmt.Sprint(ns / 1000)
				}
				if v != want {
					t.Errorf("%s: session %d %s: parquet %v, report %v", capture, i, f.Name, v, want)
				}
			}
		}
	}
	// The mirror sample's bare copy has no loss record: its split is null.
	got := readParquet(t, filepath.Join(out, parquet.MirrorSessionsTable, parquet.PartitionName(bare), parquet.PartFile))
	if got.rows[0]["mirror_lost"] != nil || got.rows[0]["missing"] != int64(9) {
		t.Errorf("without a loss record: mirror_lost %v missing %v, want null and 9", got.rows[0]["mirror_lost"], got.rows[0]["missing"])
	}

	plain := filepath.Join(dir, "plain")
	if _, err := parquet.WriteDataset(plain, []string{simulated(t, dir, "zeek-dcerpc-20-fids-no-close.pcap", "list:5", 1)}, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	if es := entries(t, plain); slices.Contains(es, parquet.MirrorSessionsTable) {
		t.Errorf("a capture without mirror sessions has a %s table: %v", parquet.MirrorSessionsTable, es)
	}
	// A dataset with the fourth table is still one --force may replace.
	if _, err := parquet.WriteDataset(out, []string{mirrorSample}, parquet.Options{Force: true}); err != nil {
		t.Errorf("replacing a dataset with mirror sessions: %v", err)
	}
}
