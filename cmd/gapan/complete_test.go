package main

import (
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/version"
)

// complete returns the values cobra's __complete (what the shell
// completion scripts call) offers for argv, and its directive line.
func complete(t *testing.T, argv ...string) ([]string, string) {
	t.Helper()
	out, _, err := execGapan(t, append([]string{"__complete"}, argv...)...)
	if err != nil {
		t.Fatalf("__complete %q: %v", argv, err)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	return lines[:len(lines)-1], lines[len(lines)-1]
}

// TestFormatCompletion: each command completes --format with its own
// formats, the same list its usage rule accepts and its help names.
func TestFormatCompletion(t *testing.T) {
	for _, tc := range []struct {
		argv []string
		want []string
	}{
		{[]string{"report", "x.pcap", "--format", ""}, []string{"text", "json", "csv", "ndjson", "markdown", "html"}},
		{[]string{"sidecar", "dump", "x.gaps", "--format", ""}, []string{"text", "csv", "json"}},
		{[]string{"sidecar", "check", "x.pcap", "--format", ""}, []string{"text", "json"}},
	} {
		got, dir := complete(t, tc.argv...)
		if !slices.Equal(got, tc.want) || dir != ":4" { // 4: ShellCompDirectiveNoFileComp
			t.Errorf("%q: %q %s, want %q :4", tc.argv, got, dir, tc.want)
		}
		// Each value completed runs; one not completed is refused.
		for _, f := range append(slices.Clone(tc.want), "xml") {
			argv := slices.Clone(tc.argv)
			argv[len(argv)-1] = f
			argv[len(argv)-3] = strings.NewReplacer("x.pcap", demo, "x.gaps", demo+".gaps").Replace(argv[len(argv)-3])
			code, stderr := runCaptured(t, argv...)
			if want := map[bool]int{true: exitUsage, false: exitOK}[f == "xml"]; code != want {
				t.Errorf("%q: exit %d, want %d\n%s", argv, code, want, stderr)
			}
		}
	}
}

// TestInterfaceCompletion: record -i completes with "any" and the
// interfaces the kernel lists in /sys/class/net.
func TestInterfaceCompletion(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("/sys/class/net is Linux's")
	}
	ents, err := os.ReadDir("/sys/class/net")
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"any"}
	for _, e := range ents {
		want = append(want, e.Name())
	}
	got, dir := complete(t, "record", "-i", "")
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) || dir != ":4" {
		t.Errorf("record -i completes %q %s, want %q :4", got, dir, want)
	}
}

// TestVersionFlag: gapan --version prints what gapan version prints.
func TestVersionFlag(t *testing.T) {
	flag, _, err := execGapan(t, "--version")
	if err != nil {
		t.Fatal(err)
	}
	cmd, _, err := execGapan(t, "version")
	if err != nil {
		t.Fatal(err)
	}
	if flag != cmd || !strings.HasPrefix(flag, "gapan "+version.Release) {
		t.Errorf("--version printed %q, version %q", flag, cmd)
	}
}
