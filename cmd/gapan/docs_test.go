package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"
)

// docsDate is the date printed in the man pages: fixed, so that the pages
// change only when the commands do.
var docsDate = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// genDocs writes the Markdown pages into dir/cli and the man pages into
// dir/man.
func genDocs(t *testing.T, dir string) {
	t.Helper()
	root := newRootCmd()
	walk(root, func(c *cobra.Command) { c.DisableAutoGenTag = true })
	for _, d := range []string{"cli", "man"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := doc.GenMarkdownTree(root, filepath.Join(dir, "cli")); err != nil {
		t.Fatal(err)
	}
	hdr := &doc.GenManHeader{Title: "GAPAN", Section: "1", Source: "gapan", Manual: "gapan manual", Date: &docsDate}
	if err := doc.GenManTree(root, hdr, filepath.Join(dir, "man")); err != nil {
		t.Fatal(err)
	}
}

// walk calls f on c and every command below it.
func walk(c *cobra.Command, f func(*cobra.Command)) {
	f(c)
	for _, s := range c.Commands() {
		walk(s, f)
	}
}

// readTree returns the files of dir by name.
func readTree(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	ents, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range ents {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[e.Name()] = b
	}
	return out
}

// TestCLIDocs checks that docs/cli and docs/man are what the commands
// generate now; with -update it writes them.
func TestCLIDocs(t *testing.T) {
	tmp := t.TempDir()
	genDocs(t, tmp)
	for _, d := range []string{"cli", "man"} {
		committed := filepath.Join("..", "..", "docs", d)
		want := readTree(t, filepath.Join(tmp, d))
		if len(want) < 10 {
			t.Fatalf("generated only %d %s pages", len(want), d)
		}
		if *update {
			if err := os.RemoveAll(committed); err != nil {
				t.Fatal(err)
			}
			if err := os.MkdirAll(committed, 0o755); err != nil {
				t.Fatal(err)
			}
			for name, b := range want {
				if err := os.WriteFile(filepath.Join(committed, name), b, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			continue
		}
		got := readTree(t, committed)
		for name, b := range want {
			if !bytes.Equal(got[name], b) {
				t.Errorf("docs/%s/%s is out of date: run go generate ./cmd/gapan", d, name)
			}
		}
		for name := range got {
			if _, ok := want[name]; !ok {
				t.Errorf("docs/%s/%s belongs to no command: run go generate ./cmd/gapan", d, name)
			}
		}
	}
}

// TestHelpFiles: every help/*.txt is the help of a command (named by its
// path after "gapan", words joined by "-"), and every command but cobra's
// own (help, completion) has its long help or examples from one.
func TestHelpFiles(t *testing.T) {
	files, err := helpFiles.ReadDir("help")
	if err != nil {
		t.Fatal(err)
	}
	unused := map[string]bool{}
	for _, f := range files {
		unused[strings.TrimSuffix(f.Name(), ".txt")] = true
	}
	walk(newRootCmd(), func(c *cobra.Command) {
		name := strings.Join(append([]string{"gapan"}, strings.Fields(c.CommandPath())[1:]...), "-")
		if name != "gapan" {
			name = strings.TrimPrefix(name, "gapan-")
		}
		switch {
		case unused[name]:
			delete(unused, name)
			if c.Long == "" && c.Example == "" {
				t.Errorf("%s: help/%s.txt gave no help", c.CommandPath(), name)
			}
		case c.Name() != "help" && c.Name() != "completion":
			t.Errorf("%s has no help/%s.txt", c.CommandPath(), name)
		}
	})
	for name := range unused {
		t.Errorf("help/%s.txt belongs to no command", name)
	}
}

// splitArgs splits a command line as a POSIX shell would for the simple
// quoting that the examples use ('...' and "...").
func splitArgs(line string) []string {
	var out []string
	var cur strings.Builder
	in, quote := false, rune(0)
	for _, r := range line {
		switch {
		case quote != 0 && r == quote:
			quote = 0
		case quote != 0:
			cur.WriteRune(r)
		case r == '\'' || r == '"':
			quote, in = r, true
		case r == ' ' || r == '\t':
			if in {
				out = append(out, cur.String())
				cur.Reset()
				in = false
			}
		default:
			cur.WriteRune(r)
			in = true
		}
	}
	if in {
		out = append(out, cur.String())
	}
	return out
}

func TestSplitArgs(t *testing.T) {
	got := splitArgs(`tshark -r /tmp/x -Y "frame.drop_count > 0" -e 'a b'`)
	want := []string{"tshark", "-r", "/tmp/x", "-Y", "frame.drop_count > 0", "-e", "a b"}
	if !slices.Equal(got, want) {
		t.Errorf("splitArgs = %q", got)
	}
}

// TestExamplesRun runs every "gapan ..." line of every command's Example,
// in order, from the repository root, with /tmp/ paths moved into a
// temporary directory. Commands whose examples need root (sudo) run in a
// network namespace (runRootExamples); other tools' lines (tshark, duckdb)
// are not run.
func TestExamplesRun(t *testing.T) {
	root := newRootCmd()
	var cmds []*cobra.Command
	walk(root, func(c *cobra.Command) { cmds = append(cmds, c) })
	t.Chdir(filepath.Join("..", ".."))
	ran := 0
	for _, c := range cmds {
		if c.Hidden || c.Name() == "help" || c.Name() == "completion" || (c.Parent() != nil && c.Parent().Name() == "completion") {
			continue
		}
		t.Run(strings.ReplaceAll(c.CommandPath(), " ", "_"), func(t *testing.T) {
			if strings.TrimSpace(c.Example) == "" {
				if c.Runnable() {
					t.Fatalf("%s has no Example", c.CommandPath())
				}
				return
			}
			if strings.Contains(c.Example, "sudo ") {
				ran += runRootExamples(t, c)
				return
			}
			tmp := t.TempDir() + "/"
			for _, line := range strings.Split(c.Example, "\n") {
				line = strings.TrimSpace(line)
				if !strings.HasPrefix(line, "gapan ") {
					continue
				}
				argv := splitArgs(strings.ReplaceAll(line, "/tmp/", tmp))[1:]
				stdout, stderr, err := execGapan(t, argv...)
				if err != nil {
					t.Fatalf("%s: %v\nstderr: %s", line, err, stderr)
				}
				if stdout == "" && !strings.Contains(line, " -o ") && !strings.Contains(line, "--output") {
					t.Errorf("%s: printed nothing on stdout", line)
				}
				ran++
			}
		})
	}
	if ran < 15 {
		t.Errorf("ran %d example lines, want at least 15", ran)
	}
}

// runCaptured calls run with argv and returns its exit code and what it
// wrote to standard error.
func runCaptured(t *testing.T, argv ...string) (int, string) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old, oldOut := os.Stderr, os.Stdout
	os.Stderr = w
	devnull, _ := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	os.Stdout = devnull
	code := run(argv)
	os.Stderr, os.Stdout = old, oldOut
	devnull.Close()
	w.Close()
	b, _ := io.ReadAll(r)
	return code, string(b)
}

// TestUsageErrors checks that wrong usage exits 2 with a one-line error
// and the hint, and that a failure on good usage exits 1.
func TestUsageErrors(t *testing.T) {
	const demo = "../../testdata/demo/demo.pcap"
	for _, tc := range []struct {
		argv []string
		code int
		err  string // the start of the first line
		hint string
	}{
		{[]string{"nosuch"}, 2, `gapan: unknown command "nosuch" for "gapan"`, "Run 'gapan --help' for usage."},
		{[]string{"report"}, 2, "gapan: usage: gapan report CAPTURE... [flags] (no argument given)", "Run 'gapan report --help' for usage."},
		{[]string{"sidecar", "check", "a.pcap", "b.pcap"}, 2, "gapan: usage: gapan sidecar check CAPTURE [flags] (2 arguments given: a.pcap b.pcap)", "Run 'gapan sidecar check --help' for usage."},
		{[]string{"version", "x"}, 2, "gapan: usage: gapan version [flags] (1 argument given: x)", "Run 'gapan version --help' for usage."},
		{[]string{"report", demo, "--format", "xml"}, 2, `gapan: unknown --format "xml": want text, json, csv, ndjson, markdown or html`, "Run 'gapan report --help' for usage."},
		{[]string{"report", demo, "--no-such-flag"}, 2, "gapan: unknown flag: --no-such-flag", "Run 'gapan report --help' for usage."},
		{[]string{"report", demo, "--top", "x"}, 2, `gapan: invalid argument "x" for "--top" flag`, "Run 'gapan report --help' for usage."},
		{[]string{"annotate", demo}, 2, "gapan: annotate needs -o OUT.pcapng", "Run 'gapan annotate --help' for usage."},
		{[]string{"parquet", demo}, 2, "gapan: parquet needs -o DIR", "Run 'gapan parquet --help' for usage."},
		{[]string{"sidecar", "dump", "--format", "xml", demo + ".gaps"}, 2, "gapan: ", "Run 'gapan sidecar dump --help' for usage."},
		{[]string{"annotate", demo, "-o", "x.pcapng", "--sidecar", "a", "--sidecar", "b"}, 2, "gapan: 2 --sidecar files given for 1 capture", "Run 'gapan annotate --help' for usage."},
		{[]string{"annotate", demo, "-o", "x.pcapng", "--sidecar", "a", "--no-sidecar"}, 2, "gapan: --sidecar and --no-sidecar exclude each other", "Run 'gapan annotate --help' for usage."},
		{[]string{"report", demo, "--sidecar", "a", "--sidecar", "b"}, 2, "gapan: 2 --sidecar files given for 1 capture", "Run 'gapan report --help' for usage."},
		{[]string{"report", demo, "--sidecar", "a", "--no-sidecar"}, 2, "gapan: --sidecar and --no-sidecar exclude each other", "Run 'gapan report --help' for usage."},
		{[]string{"sidecar", "check", demo, "--force"}, 2, "gapan: --force no longer accepts a mismatched sidecar; use --allow-mismatch", "Run 'gapan sidecar check --help' for usage."},
		{[]string{"record", "-i", "lo", "-w", "x.pcap", "-W", "2"}, 2, "gapan: recorder: invalid configuration: a file count (-W) needs", "Run 'gapan record --help' for usage."},
		{[]string{"record", "-i", "lo", "-w", "-"}, 2, "gapan: recorder: invalid configuration: ", "Run 'gapan record --help' for usage."},
		{[]string{"report", "no-such-capture.pcap"}, 1, "gapan: ", ""},
	} {
		t.Run(strings.Join(tc.argv, "_"), func(t *testing.T) {
			code, stderr := runCaptured(t, tc.argv...)
			if code != tc.code {
				t.Errorf("exit code %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if !strings.HasPrefix(lines[0], tc.err) {
				t.Errorf("first line %q, want it to start with %q", lines[0], tc.err)
			}
			want := 1
			if tc.hint != "" {
				want = 2
				if len(lines) < 2 || lines[1] != tc.hint {
					t.Errorf("stderr %q lacks the hint %q on its second line", stderr, tc.hint)
				}
			}
			if len(lines) != want {
				t.Errorf("stderr has %d lines, want %d:\n%s", len(lines), want, stderr)
			}
		})
	}
}
