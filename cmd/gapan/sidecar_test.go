package main

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const demo = "../../testdata/demo/demo.pcap"

// golden compares got with testdata/name, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		os.MkdirAll("testdata", 0o755)
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n--- got\n%s\n--- want\n%s", name, got, want)
	}
}

func TestSidecarGolden(t *testing.T) {
	for _, tc := range []struct {
		golden string
		argv   []string
	}{
		{"dump-demo.txt", []string{"sidecar", "dump", demo + ".gaps"}},
		{"dump-demo.csv", []string{"sidecar", "dump", demo + ".gaps", "--format", "csv"}},
		{"dump-demo.json", []string{"sidecar", "dump", demo + ".gaps", "--format", "json"}},
		{"check-demo.txt", []string{"sidecar", "check", demo}},
		{"check-demo.json", []string{"sidecar", "check", demo, "--format", "json"}},
	} {
		t.Run(tc.golden, func(t *testing.T) {
			out, errOut, err := execGapan(t, tc.argv...)
			if err != nil {
				t.Fatalf("%v: %v\n%s", tc.argv, err, errOut)
			}
			golden(t, tc.golden, out)
		})
	}
}

func TestSidecarCSVShape(t *testing.T) {
	out, _, err := execGapan(t, "sidecar", "dump", demo+".gaps", "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	if lines[0] != "frame,gap" {
		t.Fatalf("header %q, want frame,gap", lines[0])
	}
	// 65 gap events in the demo sidecar: one row each, nothing else.
	if len(lines) != 1+65 {
		t.Fatalf("%d rows, want 65", len(lines)-1)
	}
}

// TestSidecarImportExport: binary -> text -> binary (with --capture)
// gives the same records, trailer and identity, and check passes on it.
func TestSidecarImportExport(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "demo.txt")
	if _, _, err := execGapan(t, "sidecar", "export", demo+".gaps", "-o", txt); err != nil {
		t.Fatal(err)
	}
	capCopy := filepath.Join(dir, "demo.pcap")
	b, _ := os.ReadFile(demo)
	os.WriteFile(capCopy, b, 0o644)
	if _, _, err := execGapan(t, "sidecar", "import", txt, "--capture", capCopy, "-o", capCopy+".gaps"); err != nil {
		t.Fatal(err)
	}
	orig, _, _ := execGapan(t, "sidecar", "check", demo, "--format", "json")
	again, errOut, err := execGapan(t, "sidecar", "check", capCopy, "--format", "json")
	if err != nil {
		t.Fatalf("check of the re-imported sidecar: %v\n%s", err, errOut)
	}
	norm := func(s string) string { // the paths differ
		var keep []string
		for _, l := range strings.Split(s, "\n") {
			if !strings.Contains(l, `"capture"`) && !strings.Contains(l, `"sidecar"`) {
				keep = append(keep, l)
			}
		}
		return strings.Join(keep, "\n")
	}
	if norm(orig) != norm(again) {
		t.Errorf("check differs after export/import:\n%s\n---\n%s", orig, again)
	}
	// Importing against another capture is refused: the text carries the
	// demo's identity.
	other := filepath.Join(dir, "other.pcap")
	b, _ = os.ReadFile(testCorpus + "zeek-dcerpc-20-fids-no-close.pcap")
	os.WriteFile(other, b, 0o644)
	if _, _, err := execGapan(t, "sidecar", "import", txt, "--capture", other, "-o", other+".gaps"); err == nil || !strings.Contains(err.Error(), "different capture") {
		t.Errorf("import against another capture: err = %v, want an identity error", err)
	}
}

// TestSidecarCheckProblems: check exits non-zero on any problem and names it.
func TestSidecarCheckProblems(t *testing.T) {
	dir := t.TempDir()
	capCopy := filepath.Join(dir, "demo.pcap")
	b, _ := os.ReadFile(demo)
	os.WriteFile(capCopy, b, 0o644)
	sc, _ := os.ReadFile(demo + ".gaps")

	// A sidecar cut short (a killed recorder): totals printed, warning, exit 1.
	os.WriteFile(capCopy+".gaps", sc[:len(sc)-20], 0o644)
	out, errOut, err := execGapan(t, "sidecar", "check", capCopy)
	if err == nil || !strings.Contains(errOut, "missing trailer") || !strings.Contains(out, "frames captured: 2,297") {
		t.Errorf("cut sidecar: err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	// A flipped byte: an error naming the offset.
	bad := append([]byte(nil), sc...)
	bad[len(bad)/2] ^= 1
	os.WriteFile(capCopy+".gaps", bad, 0o644)
	if _, errOut, err := execGapan(t, "sidecar", "check", capCopy); err == nil || !strings.Contains(errOut, "checksum mismatch") || !strings.Contains(errOut, "at byte") {
		t.Errorf("flipped byte: err = %v, stderr %q; want a checksum error with its offset", err, errOut)
	}
	// A capture cut mid-record (a killed recorder): read up to the cut,
	// totals printed, the truncation reported, exit non-zero.
	os.WriteFile(capCopy+".gaps", sc, 0o644)
	capBytes, _ := os.ReadFile(demo)
	os.WriteFile(capCopy, capBytes[:len(capBytes)-100], 0o644)
	out, errOut, err = execGapan(t, "sidecar", "check", capCopy)
	if err == nil || !strings.Contains(errOut, "stopped reading at the damage") || !strings.Contains(out, "frames captured: 2,296") {
		t.Errorf("cut capture: err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	os.WriteFile(capCopy, capBytes, 0o644)
	// The sidecar of another capture.
	os.WriteFile(capCopy+".gaps", sc, 0o644)
	other := filepath.Join(dir, "other.pcap")
	b, _ = os.ReadFile(testCorpus + "zeek-dcerpc-20-fids-no-close.pcap")
	os.WriteFile(other, b, 0o644)
	if _, _, err := execGapan(t, "sidecar", "check", other, "--sidecar", capCopy+".gaps"); err == nil || !strings.Contains(err.Error(), "does not belong") {
		t.Errorf("wrong capture: err = %v", err)
	}
	// --allow-mismatch reads it all the same, says so, and still exits
	// non-zero; --force (its old spelling) is refused, naming the new one.
	out, errOut, err = execGapan(t, "sidecar", "check", other, "--sidecar", capCopy+".gaps", "--allow-mismatch")
	if err != errProblems || !strings.Contains(errOut, "does not belong") || !strings.Contains(errOut, "continuing: --allow-mismatch") || !strings.Contains(out, "frames captured: 420") {
		t.Errorf("wrong capture, --allow-mismatch: err %v\nstdout %s\nstderr %s", err, out, errOut)
	}
	if _, _, err := execGapan(t, "sidecar", "check", other, "--sidecar", capCopy+".gaps", "--force"); err == nil || !strings.Contains(err.Error(), "use --allow-mismatch") {
		t.Errorf("wrong capture, --force: err = %v, want the pointer to --allow-mismatch", err)
	}
	// No sidecar at all.
	if _, _, err := execGapan(t, "sidecar", "check", other); err == nil || !strings.Contains(err.Error(), "no sidecar found") {
		t.Errorf("no sidecar: err = %v", err)
	}
}
