package main

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestSidecarImportHostile: import --capture refuses a gap of 2^64-1 (it
// would wrap every sum), and a text sidecar without trailer is imported
// as far as it goes, with the warning, into a binary sidecar that has no
// trailer either (so every reader still says the loss after it is
// unknown).
func TestSidecarImportHostile(t *testing.T) {
	dir := t.TempDir()
	capture := simulatedCapture(t, dir)
	huge := filepath.Join(dir, "huge.txt")
	os.WriteFile(huge, []byte("# gapan-sidecar-text 1\n# frame gap\n3 18446744073709551615\n# frames 404\n"), 0o644)
	_, _, err := execGapan(t, "sidecar", "import", huge, "--capture", capture, "-o", filepath.Join(dir, "huge.gaps"))
	if !errors.Is(err, sidecar.ErrImplausible) {
		t.Fatalf("gap 2^64-1: err = %v, want ErrImplausible", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "huge.gaps")); err == nil {
		t.Error("an output was written")
	}

	cut := filepath.Join(dir, "cut.txt")
	os.WriteFile(cut, []byte("# gapan-sidecar-text 1\n# frame gap\n3 2\n17 1\n"), 0o644)
	out := filepath.Join(dir, "cut.gaps")
	_, stderr, err := execGapan(t, "sidecar", "import", cut, "--capture", capture, "-o", out)
	if err != nil {
		t.Fatalf("import without trailer: %v", err)
	}
	if !strings.Contains(stderr, "loss unknown after frame 17 (the sidecar ends there)") {
		t.Errorf("stderr %q", stderr)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	rd, err := sidecar.NewAutoReader(f, out)
	if err != nil {
		t.Fatal(err)
	}
	file, err := sidecar.ReadAll(rd)
	if !errors.Is(err, sidecar.ErrNoTrailer) || len(file.Records) != 2 || file.Records[1] != (sidecar.Record{Frame: 17, Gap: 1}) {
		t.Fatalf("imported: %v, records %v; want both records and no trailer", err, file.Records)
	}
}
