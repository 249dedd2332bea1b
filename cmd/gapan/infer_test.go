package main

import (
	"encoding/csv"
	"errors"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestInferCommand: gapan infer writes an inferred sidecar that sidecar
// dump shows with brackets, distributes --kernel-drops, and report
// --infer reads the same gaps as source inferred and says the rest of the
// total has no position; --infer is refused with several captures.
func TestInferCommand(t *testing.T) {
	p := testCorpus + "ndpi-netflix.pcap"
	gaps := filepath.Join(t.TempDir(), "netflix.gaps")
	_, stderr, err := execGapan(t, "infer", p, "-o", gaps, "--kernel-drops", "2000")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "inferred gap events") || !strings.Contains(stderr, "of the total of 2,000") {
		t.Errorf("stderr %q", stderr)
	}
	out, _, err := execGapan(t, "sidecar", "dump", gaps, "--format", "csv")
	if err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) < 2 || strings.Join(rows[0], ",") != "frame,gap,first,last,confidence" {
		t.Fatalf("csv dump:\n%s", out)
	}
	var lost uint64
	for _, r := range rows[1:] {
		n := make([]uint64, 4)
		for i := range n {
			if n[i], err = strconv.ParseUint(r[i], 10, 64); err != nil {
				t.Fatal(r, err)
			}
		}
		if n[2] > n[0] || n[3] < n[0] {
			t.Errorf("record %v: frame outside its bracket", r)
		}
		lost += n[1]
	}
	text, _, err := execGapan(t, "report", p, "--infer", "--kernel-drops", "2000")
	if err != nil {
		t.Fatal(err)
	}
	unplaced := strconv.FormatUint(2000-lost, 10)
	unplaced = unplaced[:len(unplaced)-3] + "," + unplaced[len(unplaced)-3:] // 1,000 to 1,999
	for _, w := range []string{"gaps inferred from the capture's own evidence (TCP, ICMP echo) by gapan-infer", "frames lost       " + strconv.FormatUint(lost, 10) + " inferred, not recorded (", unplaced + " frames lost, position unknown (from --kernel-drops 2000)"} {
		if !strings.Contains(text, w) {
			t.Errorf("report --infer lacks %q:\n%s", w, text)
		}
	}
	if _, _, err := execGapan(t, "report", p, p, "--infer"); !errors.As(err, new(usageError)) {
		t.Errorf("--infer with two captures: %v", err)
	}
}
