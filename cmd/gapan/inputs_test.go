package main

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// copyTo copies src into dir under name.
func copyTo(t *testing.T, src, dir, name string) string {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestWrongKindOfFile: a sidecar where a capture is expected and a capture
// where a sidecar is expected are usage errors that name the command with
// the right file, in every command that takes one.
func TestWrongKindOfFile(t *testing.T) {
	dir := t.TempDir()
	orphan := copyTo(t, demo+".gaps", dir, "gone.pcap.gaps")
	for _, tc := range []struct {
		argv []string
		line string
	}{
		{[]string{"sidecar", "check", demo + ".gaps"}, `gapan: ` + demo + `.gaps is a gap sidecar, not a capture; did you mean "gapan sidecar check ` + demo + `"?`},
		{[]string{"report", demo + ".gaps"}, `gapan: ` + demo + `.gaps is a gap sidecar, not a capture; did you mean "gapan report ` + demo + `"?`},
		{[]string{"annotate", demo + ".gaps", "-o", filepath.Join(dir, "x.pcapng")}, `gapan: ` + demo + `.gaps is a gap sidecar, not a capture; did you mean "gapan annotate ` + demo + `"?`},
		{[]string{"parquet", demo + ".gaps", "-o", filepath.Join(dir, "pq")}, `gapan: ` + demo + `.gaps is a gap sidecar, not a capture; did you mean "gapan parquet ` + demo + `"?`},
		{[]string{"simulate", demo + ".gaps", "-o", filepath.Join(dir, "s.pcap")}, `gapan: ` + demo + `.gaps is a gap sidecar, not a capture; did you mean "gapan simulate ` + demo + `"?`},
		{[]string{"report", orphan}, `gapan: ` + orphan + ` is a gap sidecar, not a capture`},
		{[]string{"sidecar", "dump", demo}, `gapan: ` + demo + ` is a pcap capture, not a gap sidecar; did you mean "gapan sidecar dump ` + demo + `.gaps"?`},
		{[]string{"sidecar", "export", demo}, `gapan: ` + demo + ` is a pcap capture, not a gap sidecar; did you mean "gapan sidecar export ` + demo + `.gaps"?`},
		{[]string{"sidecar", "import", demo, "-o", filepath.Join(dir, "i.gaps")}, `gapan: ` + demo + ` is a pcap capture, not a gap sidecar; its sidecar is ` + demo + `.gaps`},
		{[]string{"sidecar", "check", dir}, `gapan: ` + dir + ` is a directory, not a capture`},
		{[]string{"sidecar", "check", demo, "--sidecar", demo}, `gapan: ` + demo + ` is a pcap capture, not a gap sidecar; did you mean "--sidecar ` + demo + `.gaps"?`},
		{[]string{"report", demo, "--sidecar", demo}, `gapan: ` + demo + ` is a pcap capture, not a gap sidecar; did you mean "--sidecar ` + demo + `.gaps"?`},
		{[]string{"report", filepath.Join(dir, "empty")}, `gapan: no capture in directory ` + filepath.Join(dir, "empty") + ` (0 files, none a pcap or pcapng capture)`},
	} {
		os.MkdirAll(filepath.Join(dir, "empty"), 0o755)
		code, stderr := runCaptured(t, tc.argv...)
		lines := strings.Split(stderr, "\n")
		if code != exitUsage || lines[0] != tc.line || len(lines) != 3 || !strings.HasPrefix(lines[1], "Run 'gapan ") {
			t.Errorf("%q: exit %d, stderr\n%s\nwant exit 2 and\n%s", tc.argv, code, stderr, tc.line)
		}
	}
}

// TestCaptureArguments: a directory means its captures in name order, and
// a glob that takes the sidecars (capture.pcap*) reads the captures alone:
// the report is that of the captures named one by one, and the skipped
// files are noted on stderr.
func TestCaptureArguments(t *testing.T) {
	dir := t.TempDir()
	a := copyTo(t, demo, dir, "a.pcap")
	copyTo(t, demo+".gaps", dir, "a.pcap.gaps")
	b := copyTo(t, testCorpus+"zeek-echo-connections.pcap", dir, "b.pcap")
	os.WriteFile(filepath.Join(dir, "MANIFEST.tsv"), []byte("name\n"), 0o644)
	want, _, err := execGapan(t, "report", a, b, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		argv  []string
		notes string
	}{
		{[]string{dir}, "gapan: note: skipped " + filepath.Join(dir, "MANIFEST.tsv") + ": not a capture\ngapan: note: skipped " + a + ".gaps: a gap sidecar (its capture reads it)\n"},
		{[]string{a, a + ".gaps", b}, "gapan: note: skipped " + a + ".gaps: a gap sidecar (its capture reads it)\n"},
	} {
		got, stderr, err := execGapan(t, append([]string{"report", "--format", "json"}, tc.argv...)...)
		if err != nil {
			t.Fatalf("%q: %v", tc.argv, err)
		}
		if got != want {
			t.Errorf("%q: the report differs from that of %s %s", tc.argv, a, b)
		}
		if !strings.HasPrefix(stderr, tc.notes) { // then the report's own warnings and notes
			t.Errorf("%q: stderr\n%s\nwant it to start with\n%s", tc.argv, stderr, tc.notes)
		}
	}
	// annotate and parquet take a directory the same way.
	_, stderr, err := execGapan(t, "annotate", dir, "-o", filepath.Join(t.TempDir(), "a.pcapng"))
	if err != nil || !strings.Contains(stderr, "skipped "+filepath.Join(dir, "MANIFEST.tsv")) || !strings.Contains(stderr, "interfaces;") {
		t.Errorf("annotate DIR: %v\n%s", err, stderr)
	}
	pq := filepath.Join(t.TempDir(), "pq")
	_, stderr, err = execGapan(t, "parquet", dir, "-o", pq, "-q")
	if err != nil || !strings.Contains(stderr, "2 captures,") {
		t.Errorf("parquet DIR: %v\n%s", err, stderr)
	}
	for _, c := range []string{"a.pcap", "b.pcap"} {
		if _, err := os.Stat(filepath.Join(pq, "frames", "capture="+c)); err != nil {
			t.Errorf("parquet DIR: %v", err)
		}
	}
}

// TestCompressedCaptureFindsSidecar: report d.pcap.gz reads d.pcap.gaps,
// and without any sidecar says where it looked.
func TestCompressedCaptureFindsSidecar(t *testing.T) {
	dir := t.TempDir()
	raw, _ := os.ReadFile(demo)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	gz := filepath.Join(dir, "d.pcap.gz")
	os.WriteFile(gz, buf.Bytes(), 0o644)
	_, stderr, err := execGapan(t, "report", gz, "--format", "json", "-q")
	if want := "gapan: note: no sidecar found for " + gz + " (looked for " + gz + ".gaps and " + filepath.Join(dir, "d.pcap.gaps") + "): loss positions unknown\n"; err != nil || stderr != want {
		t.Errorf("no sidecar: %v, stderr %q, want %q", err, stderr, want)
	}
	copyTo(t, demo+".gaps", dir, "d.pcap.gaps")
	got, _, err := execGapan(t, "report", gz)
	if err != nil {
		t.Fatal(err)
	}
	want, _, _ := execGapan(t, "report", demo)
	got = strings.NewReplacer(gz, demo, filepath.Join(dir, "d.pcap.gaps"), demo+".gaps").Replace(got)
	if got != want {
		t.Errorf("report %s differs from report %s:\n%s", gz, demo, got)
	}
	// annotate reads the same sidecar and names it in the section header.
	out := filepath.Join(dir, "a.pcapng")
	_, gotSum, err := execGapan(t, "annotate", gz, "-o", out)
	if err != nil {
		t.Fatal(err)
	}
	_, wantSum, _ := execGapan(t, "annotate", demo, "-o", filepath.Join(dir, "b.pcapng"))
	if b, _ := os.ReadFile(out); gotSum != wantSum || !bytes.Contains(b, []byte("sidecar "+filepath.Join(dir, "d.pcap.gaps")+"; source kernel")) {
		t.Errorf("annotate %s: %q, want %q and the sidecar named in the header", gz, gotSum, wantSum)
	}
}

// TestMismatchNamesAllowMismatch: a sidecar that does not belong to its
// capture is an error that names --allow-mismatch in the commands that
// have it.
func TestMismatchNamesAllowMismatch(t *testing.T) {
	other := testCorpus + "zeek-echo-connections.pcap"
	for _, argv := range [][]string{
		{"report", other, "--sidecar", demo + ".gaps"},
		{"sidecar", "check", other, "--sidecar", demo + ".gaps"},
		{"annotate", other, "--sidecar", demo + ".gaps", "-o", filepath.Join(t.TempDir(), "x.pcapng")},
	} {
		code, stderr := runCaptured(t, argv...)
		want := "gapan: " + demo + ".gaps does not belong to " + other + ": snaplen 262144, capture has 65535"
		if code != exitFailure || !strings.HasPrefix(stderr, want) || !strings.HasSuffix(stderr, " (--allow-mismatch uses it anyway, with a warning)\n") {
			t.Errorf("%q: exit %d, stderr %q", argv, code, stderr)
		}
	}
}

// TestCountsInWords: the summaries say "1 frame", "1 capture", "1
// interface", never "1 frames" (one frame deleted by simulate's list model,
// so one gap of one frame).
func TestCountsInWords(t *testing.T) {
	dir := t.TempDir()
	sim := filepath.Join(dir, "s.pcap")
	steps := []struct {
		argv []string
		want *regexp.Regexp
	}{
		{[]string{"simulate", testCorpus + "zeek-echo-connections.pcap", "-o", sim, "--loss-model", "list:2"},
			regexp.MustCompile(`^[\d,]+ frames in, [\d,]+ written, 1 dropped by the model; sidecar: 1 gap event, 1 frame lost \(tail 0\)\n$`)},
		{[]string{"annotate", sim, "-o", filepath.Join(dir, "a.pcapng")},
			regexp.MustCompile(`^[\d,]+ frames, 1 interface; 1 frame with a gap before it, 1 frame lost \(tail 0\)\n$`)},
		{[]string{"parquet", sim, "-o", filepath.Join(dir, "pq"), "-q"},
			regexp.MustCompile(`^\S+: 1 capture, [\d,]+ frames, 1 gap row \(1 frame lost\), [\d,]+ flows in `)},
		{[]string{"annotate", sim, "-o", filepath.Join(dir, "b.pcapng"), "--sidecar", "x.gaps", "--sidecar", "y.gaps"}, nil},
	}
	for _, st := range steps {
		_, stderr, err := execGapan(t, st.argv...)
		if st.want == nil {
			if err == nil || err.Error() != "2 --sidecar files given for 1 capture" {
				t.Errorf("%q: %v", st.argv, err)
			}
			continue
		}
		if err != nil || !st.want.MatchString(stderr) {
			t.Errorf("%q: %v, stderr %q, want %v", st.argv, err, stderr, st.want)
		}
	}
}

// TestCheckNumbersAsReport: sidecar check and report print the same figures
// of the demo in the same form (thousands separators, the percentage).
func TestCheckNumbersAsReport(t *testing.T) {
	check, _, err := execGapan(t, "sidecar", "check", demo)
	if err != nil {
		t.Fatal(err)
	}
	rep, _, err := execGapan(t, "report", demo, "-q")
	if err != nil {
		t.Fatal(err)
	}
	value := func(text, label string) string {
		for _, l := range strings.Split(text, "\n") {
			if v, ok := strings.CutPrefix(strings.TrimSpace(l), label); ok {
				return strings.TrimSpace(strings.TrimPrefix(v, ":"))
			}
		}
		return ""
	}
	for label, want := range map[string]string{
		"frames captured": "2,297",
		"frames lost":     "916 (28.5% of the frames that reached the capture point)",
		"gap events":      "65",
		"tail gap":        "1 frame lost after the last frame",
		"largest gap":     "167 frames lost between frame 326 (2026-11-28 21:30:22.458518126 UTC) and frame 327 (2026-11-28 21:30:22.462570393 UTC)",
	} {
		if c, r := value(check, label), value(rep, label); c != want || r != want {
			t.Errorf("%s: check %q, report %q, want %q", label, c, r, want)
		}
	}
	if c, r := value(check, "kernel counters"), value(rep, "kernel counters"); c != r || c == "" {
		t.Errorf("kernel counters: check %q, report %q", c, r)
	}
}
