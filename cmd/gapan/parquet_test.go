package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/gapan/gapan/analyze"
)

// parquetRows returns the number of rows of a Parquet file.
func parquetRows(t *testing.T, path string) int64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := file.NewParquetReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	defer r.Close()
	return r.NumRows()
}

// TestParquetCommand writes the demo capture's dataset and checks its three
// tables against the report of the same capture: one frames row per frame
// captured, one gaps row per gap event (plus a tail row per interface with
// a tail loss), one flows row per flow.
func TestParquetCommand(t *testing.T) {
	const demo = "../../testdata/demo/demo.pcap"
	r, err := analyze.Run(analyze.Config{Captures: []string{demo}, KernelDrops: -1})
	if err != nil {
		t.Fatal(err)
	}
	s := r.Summary
	wantGaps := int64(s.GapEvents)
	for _, tl := range r.Files[0].Tail {
		if tl.Lost > 0 {
			wantGaps++
		}
	}
	if s.FramesCaptured == 0 || wantGaps == 0 || s.FlowCount == 0 {
		t.Fatalf("demo capture: %d frames, %d gap rows, %d flows: want a capture with all three", s.FramesCaptured, wantGaps, s.FlowCount)
	}

	out := filepath.Join(t.TempDir(), "demo.parquet")
	_, stderr, err := execGapan(t, "parquet", demo, "-o", out, "-q")
	if err != nil {
		t.Fatalf("gapan parquet: %v\n%s", err, stderr)
	}
	for _, tc := range []struct {
		table string
		want  int64
	}{
		{"frames", int64(s.FramesCaptured)},
		{"gaps", wantGaps},
		{"flows", int64(s.FlowCount)},
	} {
		if got := parquetRows(t, filepath.Join(out, tc.table, "part-0.parquet")); got != tc.want {
			t.Errorf("%s: %d rows, want %d", tc.table, got, tc.want)
		}
	}
	if !strings.Contains(stderr, " frames, ") || strings.Contains(stderr, "\r") {
		t.Errorf("stderr = %q: want the summary line and no progress meter (not a terminal)", stderr)
	}

	// An existing dataset is kept without --force, replaced with it.
	_, _, err = execGapan(t, "parquet", demo, "-o", out, "-q")
	if err == nil || !strings.Contains(err.Error(), "exists") {
		t.Fatalf("second run without --force: err = %v, want a refusal", err)
	}
	if got := parquetRows(t, filepath.Join(out, "frames", "part-0.parquet")); got != int64(s.FramesCaptured) {
		t.Errorf("refused run changed the dataset: %d frames rows", got)
	}
	if _, stderr, err := execGapan(t, "parquet", demo, "-o", out, "--force", "-q"); err != nil {
		t.Fatalf("--force: %v\n%s", err, stderr)
	}
	ents, err := os.ReadDir(filepath.Dir(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(ents) != 1 {
		t.Errorf("after --force the directory holds %d entries, want only the dataset (no temporary or old copy)", len(ents))
	}
}

// TestParquetUsageErrors checks that wrong usage exits 2.
func TestParquetUsageErrors(t *testing.T) {
	const demo = "../../testdata/demo/demo.pcap"
	out := filepath.Join(t.TempDir(), "ds")
	for _, tc := range []struct {
		name string
		argv []string
	}{
		{"no output", []string{"parquet", demo}},
		{"stdout", []string{"parquet", demo, "-o", "-"}},
		{"no capture", []string{"parquet", "-o", out}},
		{"sidecar and no-sidecar", []string{"parquet", demo, "-o", out, "--sidecar", demo + ".gaps", "--no-sidecar"}},
		{"too many sidecars", []string{"parquet", demo, "-o", out, "--sidecar", "a.gaps", "--sidecar", "b.gaps"}},
		{"row group 0", []string{"parquet", demo, "-o", out, "--row-group-rows", "0"}},
		{"negative jobs", []string{"parquet", demo, "-o", out, "-j", "-1"}},
		{"negative idle timeout", []string{"parquet", demo, "-o", out, "--idle-timeout", "-1s"}},
		{"unknown flag", []string{"parquet", demo, "-o", out, "--no-such-flag"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if code, stderr := runCaptured(t, tc.argv...); code != exitUsage {
				t.Errorf("exit %d, want %d; stderr: %s", code, exitUsage, stderr)
			}
			if _, err := os.Stat(out); !os.IsNotExist(err) {
				t.Errorf("usage error left %s: %v", out, err)
			}
		})
	}
	// A capture that cannot be read is a failure, not a usage error.
	if code, _ := runCaptured(t, "parquet", filepath.Join(t.TempDir(), "missing.pcap"), "-o", out); code != exitFailure {
		t.Errorf("missing capture: exit %d, want %d", code, exitFailure)
	}
}
