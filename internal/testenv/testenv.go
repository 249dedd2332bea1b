// Package testenv holds the rule every gapan test that needs something
// from the machine follows: on a developer's machine a missing tool or
// privilege skips the test with the reason; in CI (CI=true), where
// scripts/test installs everything and runs as root, it fails instead.
package testenv

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SkipOrFail skips t with reason, or fails it when CI=true.
func SkipOrFail(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv("CI") == "true" {
		t.Fatalf("%s (required when CI=true)", reason)
	}
	t.Skip(reason)
}

// NeedTool returns the path of the program name, or skips (fails in CI).
func NeedTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		SkipOrFail(t, name+" not installed: "+err.Error())
	}
	return p
}

// NeedRoot skips (fails in CI) unless the test runs as root.
func NeedRoot(t testing.TB, why string) {
	t.Helper()
	if os.Geteuid() != 0 {
		SkipOrFail(t, "needs root: "+why)
	}
}

// Tshark runs tshark with args (which should ask for -T fields) and
// returns its output's tab-separated rows, one per non-empty line. It
// skips (fails in CI) without tshark and fails t when tshark fails.
func Tshark(t testing.TB, args ...string) [][]string {
	t.Helper()
	bin := NeedTool(t, "tshark")
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	return rows
}

// PublicTraces returns the paths of the named public test traces in the
// directory GAPAN_PUBLIC_TRACES names (testdata/README.md lists them, with
// the repositories and commits to fetch them from: they are not
// committed). Without the variable it skips t, in CI too: measurements on
// public traces are opt-in, and nothing CI requires depends on them. A
// named file missing from the directory fails t.
func PublicTraces(t testing.TB, names ...string) []string {
	t.Helper()
	dir := os.Getenv("GAPAN_PUBLIC_TRACES")
	if dir == "" {
		t.Skip("set GAPAN_PUBLIC_TRACES=DIR (the public traces testdata/README.md lists, not committed) to measure on them")
	}
	paths := make([]string, len(names))
	for i, n := range names {
		paths[i] = filepath.Join(dir, n)
		if _, err := os.Stat(paths[i]); err != nil {
			t.Fatalf("GAPAN_PUBLIC_TRACES: %v (testdata/README.md says where to fetch it)", err)
		}
	}
	return paths
}
