package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestRecordRefusesOutputs: record never truncates an existing capture or
// sidecar without --force (checked before the socket is opened, so no
// privilege is needed), and a -w name that is a sidecar is a usage error.
func TestRecordRefusesOutputs(t *testing.T) {
	dir := t.TempDir()
	pcap := filepath.Join(dir, "r.pcap")
	ring1 := filepath.Join(dir, "r2.pcap1.gaps")
	for _, f := range []string{pcap + ".gaps", ring1} {
		if err := os.WriteFile(f, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, tc := range []struct {
		argv []string
		code int
		err  string
	}{
		{[]string{"record", "-i", "lo", "-w", pcap}, 1, "gapan: recorder: output exists: " + pcap + ".gaps exists (use --force to replace it)"},
		{[]string{"record", "-i", "lo", "-w", filepath.Join(dir, "r2.pcap"), "-C", "1", "-W", "3"}, 1, "gapan: recorder: output exists: " + ring1 + " exists"},
		{[]string{"record", "-i", "lo", "-w", pcap + ".gaps", "--force"}, 2, "gapan: recorder: invalid configuration: " + pcap + ".gaps is a sidecar name"},
	} {
		code, stderr := runCaptured(t, tc.argv...)
		if code != tc.code || !strings.HasPrefix(stderr, tc.err) {
			t.Errorf("%v: exit %d, stderr %q; want exit %d and %q", tc.argv, code, stderr, tc.code, tc.err)
		}
	}
	for _, f := range []string{pcap + ".gaps", ring1} {
		if b, err := os.ReadFile(f); err != nil || string(b) != "keep" {
			t.Errorf("%s changed: %q, %v", f, b, err)
		}
	}
	if _, err := os.Stat(pcap); !os.IsNotExist(err) {
		t.Errorf("%s was created by a refused capture: %v", pcap, err)
	}
}
