package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/report"
	"github.com/gapan/gapan/simulate"
)

// execGapan runs the gapan command line with argv and returns its stdout,
// stderr and error.
func execGapan(t *testing.T, argv ...string) (string, string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errb bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errb)
	root.SetArgs(argv)
	err := root.Execute()
	return out.String(), errb.String(), err
}

const testCorpus = "../../testdata/corpus/"

// simulatedCapture writes a thinned copy of zeek-dcerpc-20-fids-no-close
// (16 of its 420 frames dropped, the last one among them) with its sidecar.
func simulatedCapture(t *testing.T, dir string) string {
	t.Helper()
	m, err := simulate.ParseModel("list:5,17-19,40-49,200,420")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "sim.pcap")
	if _, err := simulate.Run(simulate.Config{Input: testCorpus + "zeek-dcerpc-20-fids-no-close.pcap", Output: out, Model: m, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestReportFormats(t *testing.T) {
	p := simulatedCapture(t, t.TempDir())
	for _, tc := range []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"text", func(t *testing.T, out string) {
			for _, w := range []string{"frames captured  404\n", "frames lost      16 (3.810%", "tail gap         1 frame lost after the last frame",
				"10 frames lost between frame 35 ("} {
				if !strings.Contains(out, w) {
					t.Errorf("lacks %q", w)
				}
			}
		}},
		{"markdown", func(t *testing.T, out string) {
			if !strings.HasPrefix(out, "# gapan report\n") || !strings.Contains(out, "| frames captured | 404 |") {
				t.Errorf("markdown:\n%s", out)
			}
		}},
		{"json", func(t *testing.T, out string) {
			var doc struct {
				Schema  string
				Summary struct {
					FramesLost uint64 `json:"frames_lost"`
					Flows      uint64 `json:"flows"`
				}
				Flows []json.RawMessage
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			if doc.Schema != "gapan.report/2" || doc.Summary.FramesLost != 16 || doc.Summary.Flows != 1 || len(doc.Flows) != 1 {
				t.Errorf("json: %+v", doc)
			}
		}},
		{"csv", func(t *testing.T, out string) {
			rows, err := csv.NewReader(strings.NewReader(out)).ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 || rows[0][0] != "flow_id" || rows[1][1] != "tcp" {
				t.Errorf("csv rows: %v", rows)
			}
		}},
		{"ndjson", func(t *testing.T, out string) {
			lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
			if len(lines) != 2 || !strings.HasPrefix(lines[0], `{"flow_id":0,`) || !strings.HasPrefix(lines[1], `{"schema":"gapan.report/2","summary":`) {
				t.Errorf("ndjson: %q", lines)
			}
			for i, l := range lines {
				if !json.Valid([]byte(l)) {
					t.Errorf("line %d is not JSON", i+1)
				}
			}
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			out, _, err := execGapan(t, "report", p, "--format", tc.format)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
}

func TestReportDamaged(t *testing.T) {
	name := testCorpus + "suricata-smtp-to-comma-corrupt.pcap"
	_, _, err := execGapan(t, "report", name)
	if err == nil {
		t.Fatal("no error on a damaged capture")
	}
	for _, w := range []string{name, "frame 19", "byte offset 3695", "--keep-going"} {
		if !strings.Contains(err.Error(), w) {
			t.Errorf("error %q lacks %q", err, w)
		}
	}
	var ue usageError
	if errors.As(err, &ue) {
		t.Error("damaged input reported as a usage error")
	}

	out, stderr, err := execGapan(t, "report", name, "--keep-going")
	if err != nil {
		t.Fatalf("--keep-going: %v", err)
	}
	for _, w := range []string{"frames captured  18\n", "stopped at       " + name + " frame 19, byte offset 3695: the figures cover the 18 frames before the damage"} {
		if !strings.Contains(out, w) {
			t.Errorf("report lacks %q:\n%s", w, out)
		}
	}
	if !strings.Contains(stderr, "warning:") || !strings.Contains(stderr, "frame 19") {
		t.Errorf("stderr = %q", stderr)
	}
}

func TestReportOutputFile(t *testing.T) {
	dir := t.TempDir()
	p := simulatedCapture(t, dir)
	dst := filepath.Join(dir, "r.json")
	stdout, _, err := execGapan(t, "report", p, "--format", "json", "-o", dst)
	if err != nil {
		t.Fatal(err)
	}
	if stdout != "" {
		t.Errorf("stdout = %q with -o", stdout)
	}
	b, err := os.ReadFile(dst)
	if err != nil || !json.Valid(b) {
		t.Fatalf("output file: %v valid=%v", err, json.Valid(b))
	}
	if _, _, err := execGapan(t, "report", p, "-o", dst); err == nil {
		t.Error("replaced an existing output without --force")
	}
	if b2, _ := os.ReadFile(dst); !bytes.Equal(b, b2) {
		t.Error("a refused run changed the existing output")
	}
	if _, _, err := execGapan(t, "report", p, "-o", dst, "--force"); err != nil {
		t.Errorf("--force: %v", err)
	}
	for _, in := range []string{p, p + ".gaps"} {
		before, _ := os.ReadFile(in)
		if _, _, err := execGapan(t, "report", p, "-o", in, "--force"); err == nil {
			t.Errorf("-o %s replaced an input", in)
		}
		if after, _ := os.ReadFile(in); !bytes.Equal(before, after) {
			t.Errorf("%s changed", in)
		}
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if n := e.Name(); n != "sim.pcap" && n != "sim.pcap.gaps" && n != "r.json" {
			t.Errorf("stray file %s left behind", n)
		}
	}
}

func TestReportUsage(t *testing.T) {
	p := testCorpus + "zeek-get-to-ssh-server-nsec.pcap"
	for _, argv := range [][]string{
		{"report"},
		{"report", p, "--format", "xml"},
		{"report", p, "--sidecar", "a", "--sidecar", "b"},
		{"report", p, "--sidecar", "a", "--no-sidecar"},
		{"report", p, "--top", "-1"},
		{"report", p, "--kernel-drops", "-5"},
	} {
		_, _, err := execGapan(t, argv...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", argv, err)
		}
	}
}

func TestReportNoSidecarAndKernelDrops(t *testing.T) {
	p := testCorpus + "zeek-http-1000-requests-one-dropped-response.pcap"
	out, _, err := execGapan(t, "report", p, "--kernel-drops", "3")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"no sidecar found (looked for " + p + ".gaps)", "3 frames lost, position unknown (from --kernel-drops 3)"} {
		if !strings.Contains(out, w) {
			t.Errorf("lacks %q:\n%s", w, out)
		}
	}
	_, stderr, err := execGapan(t, "report", p, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(stderr, "no sidecar found for "+p) {
		t.Errorf("json run: stderr %q does not say no sidecar was found", stderr)
	}
}

func TestReportRotatedSetSidecars(t *testing.T) {
	dir := t.TempDir()
	p := simulatedCapture(t, dir)
	moved := filepath.Join(dir, "elsewhere.gaps")
	if err := os.Rename(p+".gaps", moved); err != nil {
		t.Fatal(err)
	}
	second := testCorpus + "zeek-get-to-ssh-server-nsec.pcap"
	out, _, err := execGapan(t, "report", p, second, "--sidecar", moved, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Captures []struct {
			Name, Source string
			Frames       uint64
		}
		Summary struct {
			FramesCaptured uint64 `json:"frames_captured"`
			FramesLost     uint64 `json:"frames_lost"`
		}
	}
	if err := json.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Captures) != 2 || doc.Captures[0].Source != "sidecar" || doc.Captures[1].Source != "none" ||
		doc.Summary.FramesCaptured != 404+9 || doc.Summary.FramesLost != 16 {
		t.Errorf("doc = %+v", doc)
	}
}

// TestReportKeepsWhatItShows holds every format of the command, which
// keeps only the flows and gaps each output lists (or spills them), to
// the library's writers given every flow and gap of the run, byte for
// byte: on a corpus capture of 86 flows thinned by 5 % with its sidecar,
// with the default lists (10) and with 3 and 40 gaps and flows listed, so
// that the wiring of each format's keepers is checked, not only the
// keepers.
func TestReportKeepsWhatItShows(t *testing.T) {
	m, err := simulate.ParseModel("uniform:0.05")
	if err != nil {
		t.Fatal(err)
	}
	demo := filepath.Join(t.TempDir(), "thinned.pcap")
	if _, err := simulate.Run(simulate.Config{Input: testCorpus + "ndpi-teams.pcap", Output: demo, Model: m, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	tl := report.NewTimeline(0)
	r, err := analyze.Run(analyze.Config{Captures: []string{demo}, KernelDrops: -1, Frame: tl.Frame,
		Engine: loss.Config{KeepFlows: true, KeepGaps: true, IdleTimeout: loss.DefaultIdleTimeout}})
	if err != nil {
		t.Fatal(err)
	}
	if r.Summary.GapEvents < 50 || len(r.Summary.List) < 50 {
		t.Fatalf("the demo capture has %d gaps and %d flows: too few to cut the lists", r.Summary.GapEvents, len(r.Summary.List))
	}
	for _, n := range []int{0, 3, 40} {
		var lists []string
		opt := report.DefaultOptions()
		if n > 0 {
			lists = []string{"--gaps", strconv.Itoa(n), "--top", strconv.Itoa(n)}
			opt.Gaps, opt.Top = n, n
		}
		for _, format := range []string{"text", "markdown", "json", "csv", "html"} {
			var want bytes.Buffer
			switch format {
			case "text":
				err = report.WriteText(&want, r, opt)
			case "markdown":
				err = report.WriteMarkdown(&want, r, opt)
			case "json":
				err = report.WriteJSON(&want, r)
			case "csv":
				err = report.WriteCSV(&want, r.Summary.List)
			case "html":
				err = report.WriteHTML(&want, r, report.HTMLOptions{Options: opt, Timeline: tl})
			}
			if err != nil {
				t.Fatal(err)
			}
			got, _, err := execGapan(t, append([]string{"report", demo, "--format", format}, lists...)...)
			if err != nil {
				t.Fatal(err)
			}
			if got != want.String() {
				t.Errorf("%s %v: the command's output differs from the library's with every flow and gap", format, lists)
			}
		}
	}
}

// TestReportStdinLossNotRecorded: a capture read from standard input has
// no sidecar, so the report gives its loss figures as not recorded (text)
// and null (JSON), never 0.
func TestReportStdinLossNotRecorded(t *testing.T) {
	for _, tc := range []struct {
		format string
		check  func(t *testing.T, out string)
	}{
		{"text", func(t *testing.T, out string) {
			for _, w := range []string{
				"  sidecar          none for standard input (give --sidecar FILE): loss positions unknown\n",
				"  frames lost      not recorded: no sidecar and no pcapng drop counts\n",
				"  gap events       not recorded\n",
				"  tail gap         not recorded\n",
				"  consistency                unknown: no gaps recorded\n",
			} {
				if !strings.Contains(out, w) {
					t.Errorf("text lacks %q:\n%s", w, out)
				}
			}
		}},
		{"json", func(t *testing.T, out string) {
			var doc struct {
				Summary  map[string]json.RawMessage
				Captures []map[string]json.RawMessage
			}
			if err := json.Unmarshal([]byte(out), &doc); err != nil {
				t.Fatal(err)
			}
			for _, k := range []string{"frames_lost", "gap_events", "tail_gap", "loss_ratio", "consistency"} {
				if v := string(doc.Summary[k]); v != "null" {
					t.Errorf("summary.%s = %s, want null", k, v)
				}
			}
			if v := string(doc.Summary["frames_captured"]); v != "2297" {
				t.Errorf("summary.frames_captured = %s, want 2297", v)
			}
			if v := string(doc.Captures[0]["lost"]); v != "null" {
				t.Errorf("captures[0].lost = %s, want null", v)
			}
		}},
	} {
		t.Run(tc.format, func(t *testing.T) {
			in, err := os.Open(demo)
			if err != nil {
				t.Fatal(err)
			}
			defer in.Close()
			saved := os.Stdin // reader.Open("-") reads os.Stdin
			os.Stdin = in
			defer func() { os.Stdin = saved }()
			out, _, err := execGapan(t, "report", "-", "--format", tc.format)
			if err != nil {
				t.Fatal(err)
			}
			tc.check(t, out)
		})
	}
}
