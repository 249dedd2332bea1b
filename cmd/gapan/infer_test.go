package main

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
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
	// The inferred sidecar is no file: the report names none, in text
	// and JSON, and says where the gaps came from.
	if !regexp.MustCompile(`\n  sidecar +gaps inferred from the capture's own evidence \(TCP, ICMP echo\) by gapan-infer `).MatchString(text) || strings.Contains(text, ".gaps") || strings.Contains(text, os.TempDir()) {
		t.Errorf("report --infer names a sidecar file:\n%s", text)
	}
	js, _, err := execGapan(t, "report", p, "--infer", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var rep struct {
		Captures []struct {
			Source        string  `json:"source"`
			Sidecar       *string `json:"sidecar"`
			SidecarSource string  `json:"sidecar_source"`
		} `json:"captures"`
	}
	if err := json.Unmarshal([]byte(js), &rep); err != nil {
		t.Fatal(err)
	}
	if c := rep.Captures; len(c) != 1 || c[0].Sidecar != nil || c[0].Source != "sidecar" || c[0].SidecarSource != "inferred" {
		t.Errorf("report --infer --format json: captures %+v", c)
	}
	if _, _, err := execGapan(t, "report", p, p, "--infer"); !errors.As(err, new(usageError)) {
		t.Errorf("--infer with two captures: %v", err)
	}
}

// TestInferSequenceCommand: a GTP-U tunnel thinned by simulate (frames
// 12-13 and 22 of internal/synth's SampleGTPU: two gap events, 3 frames)
// has no TCP evidence: gapan infer finds nothing, with --sequence both
// gaps; report --infer --infer-sequence says so, and --infer-sequence
// alone is refused.
func TestInferSequenceCommand(t *testing.T) {
	dir := t.TempDir()
	in, err := synth.SeqSample(dir, synth.SampleGTPU)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "gtp6.pcap")
	if _, _, err := execGapan(t, "simulate", in, "-o", p, "--loss-model", "list:12-13,22"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "0 inferred gap events"},
		{[]string{"--sequence"}, "2 inferred gap events"},
	} {
		_, stderr, err := execGapan(t, append([]string{"infer", p, "-o", filepath.Join(dir, "x.gaps"), "--force"}, tc.args...)...)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(stderr, tc.want) {
			t.Errorf("infer %v: stderr %q, want %q", tc.args, stderr, tc.want)
		}
	}
	text, _, err := execGapan(t, "report", p, "--infer", "--infer-sequence")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(text, " 3 inferred, not recorded (") || !strings.Contains(text, "GTP-U lost in capture      3") {
		t.Errorf("report --infer --infer-sequence:\n%s", text)
	}
	if _, _, err := execGapan(t, "report", p, "--infer-sequence"); !errors.As(err, new(usageError)) {
		t.Errorf("--infer-sequence without --infer: %v", err)
	}
}
