package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
)

// TestReportFilterWords: the filter given as trailing words, after "--",
// or with --filter / -f gives the same report, unlike no filter; the
// flows hold as many packets as tcpdump selects.
func TestReportFilterWords(t *testing.T) {
	td := testenv.NeedTool(t, "tcpdump")
	p := testCorpus + "tls-subjectaltname.pcap"
	forms := [][]string{
		{"report", p, "--format", "json", "tcp", "port", "443"},
		{"report", p, "--format", "json", "--", "tcp", "port", "443"},
		{"report", p, "--format", "json", "--filter", "tcp port 443"},
		{"report", "-f", "tcp port 443", p, "--format", "json"},
	}
	var first string
	for i, argv := range forms {
		out, _, err := execGapan(t, argv...)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		if i == 0 {
			first = out
		} else if out != first {
			t.Errorf("%v gives another report than %v", argv, forms[0])
		}
	}
	all, _, err := execGapan(t, "report", p, "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if all == first {
		t.Error("the filter changed nothing")
	}
	var doc struct {
		Flows []struct {
			Packets uint64 `json:"packets"`
		} `json:"flows"`
	}
	if err := json.Unmarshal([]byte(first), &doc); err != nil {
		t.Fatal(err)
	}
	var packets uint64
	for _, f := range doc.Flows {
		packets += f.Packets
	}
	b, err := exec.Command(td, "-r", p, "-nn", "-q", "tcp", "port", "443").Output()
	if err != nil {
		t.Fatal(err)
	}
	want := uint64(strings.Count(string(b), "\n"))
	if packets != want || want == 0 {
		t.Errorf("flows hold %d packets, tcpdump selects %d", packets, want)
	}
}

// TestSelectUsage: selection flags that cannot be parsed, a filter given
// twice, and filter words with no capture before them are usage errors; a
// missing first capture is not taken for a filter word.
func TestSelectUsage(t *testing.T) {
	p := testCorpus + "zeek-get-to-ssh-server-nsec.pcap"
	for _, argv := range [][]string{
		{"report", p, "--filter", "tcp", "udp"},
		{"report", p, "--start", "yesterday"},
		{"report", p, "--end", "30s"},
		{"report", p, "--frames", "9-3"},
		{"report", "--", "tcp"},
		{"report", p, p, "--frames", "1-3"},
		{"parquet", p, "-o", t.TempDir() + "/x", "--frames", "0"},
	} {
		_, _, err := execGapan(t, argv...)
		var ue usageError
		if !errors.As(err, &ue) {
			t.Errorf("%v: err = %v, want a usage error", argv, err)
		}
	}
	_, _, err := execGapan(t, "report", "no-such.pcap", "tcp")
	if err == nil || !strings.Contains(err.Error(), "no-such.pcap") {
		t.Errorf("missing capture: err = %v, want it named", err)
	}
	testenv.NeedTool(t, "tcpdump")
	_, _, err = execGapan(t, "report", p, "tcp", "port")
	if err == nil || !strings.Contains(err.Error(), "invalid capture filter") {
		t.Errorf("bad filter: err = %v", err)
	}
	out, _, err := execGapan(t, "report", p, "--frames", "3-5", "--format", "json")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, `"frames_captured": `+strconv.Itoa(3)) {
		t.Errorf("--frames 3-5: want 3 frames captured in %.300s", out)
	}
}

// TestParquetFilter: with a filter, the frames table holds the frames
// tcpdump selects and the gaps table every gap, as without the filter.
func TestParquetFilter(t *testing.T) {
	td := testenv.NeedTool(t, "tcpdump")
	dir := t.TempDir()
	sim := simulatedCapture(t, dir)
	const expr = "tcp[tcpflags] & tcp-push != 0"
	b, err := exec.Command(td, "-r", sim, "-nn", "-q", expr).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := int64(strings.Count(string(b), "\n"))
	all, sel := filepath.Join(dir, "all"), filepath.Join(dir, "sel")
	if _, _, err := execGapan(t, "parquet", sim, "-o", all, "-q"); err != nil {
		t.Fatal(err)
	}
	if _, _, err := execGapan(t, "parquet", sim, "-o", sel, "-q", expr); err != nil {
		t.Fatal(err)
	}
	if got := parquetRows(t, filepath.Join(sel, "frames", "part-0.parquet")); got != want || want == 0 {
		t.Errorf("frames table: %d rows, tcpdump selects %d", got, want)
	}
	gAll, gSel := parquetRows(t, filepath.Join(all, "gaps", "part-0.parquet")), parquetRows(t, filepath.Join(sel, "gaps", "part-0.parquet"))
	if gAll != gSel || gAll == 0 {
		t.Errorf("gaps table: %d rows with the filter, %d without", gSel, gAll)
	}
}

// TestAnnotateWindow: annotate --frames writes the window's frames only,
// the gap of its first frame whole and no tail (the window ends before
// the last frame); a filter leaves every frame written. Counted by tshark
// from simulate's deletions (list:5,17-19,40-49,200,420 of 420 frames:
// gaps of 3, 10 and 1 frames on output frames 16, 36 and 186).
func TestAnnotateWindow(t *testing.T) {
	ts := testenv.NeedTool(t, "tshark")
	dir := t.TempDir()
	sim := simulatedCapture(t, dir)
	count := func(path string) (frames, lost int) {
		b, err := exec.Command(ts, "-r", path, "-T", "fields", "-e", "frame.drop_count").Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, line := range strings.Split(strings.TrimSuffix(string(b), "\n"), "\n") {
			line = strings.TrimSpace(line)
			frames++
			if line != "" {
				n, err := strconv.Atoi(line)
				if err != nil {
					t.Fatalf("drop count %q", line)
				}
				lost += n
			}
		}
		return frames, lost
	}
	win := filepath.Join(dir, "win.pcapng")
	if _, _, err := execGapan(t, "annotate", sim, "-o", win, "-q", "--frames", "16-186"); err != nil {
		t.Fatal(err)
	}
	if f, l := count(win); f != 186-16+1 || l != 3+10+1 {
		t.Errorf("--frames 16-186: %d frames, %d lost; want 171, 14", f, l)
	}
	testenv.NeedTool(t, "tcpdump")
	filt := filepath.Join(dir, "filt.pcapng")
	if _, _, err := execGapan(t, "annotate", sim, "-o", filt, "-q", "tcp[tcpflags] & tcp-push != 0"); err != nil {
		t.Fatal(err)
	}
	if f, l := count(filt); f != 404 || l != 1+3+10+1 {
		t.Errorf("filter: %d frames, %d lost; want every frame (404) and every gap (15)", f, l)
	}
}

// TestSimulateSelect: with a selection the model drops among the selected
// frames only: uniform:1 drops exactly the frames tcpdump selects, or
// exactly the frames of the window.
func TestSimulateSelect(t *testing.T) {
	td := testenv.NeedTool(t, "tcpdump")
	in := testCorpus + "tls-subjectaltname.pcap"
	const expr = "tcp port 443 and tcp[tcpflags] & tcp-push != 0"
	b, err := exec.Command(td, "-r", in, "-nn", "-q", expr).Output()
	if err != nil {
		t.Fatal(err)
	}
	want := strings.Count(string(b), "\n")
	dir := t.TempDir()
	for _, tc := range []struct {
		args    []string
		dropped int
	}{
		{[]string{expr}, want},
		{[]string{"--filter", expr}, want},
		{[]string{"--frames", "10-19"}, 10},
		{[]string{"--frames", "100-", "--end", "+0s"}, 0},
	} {
		out := filepath.Join(dir, "out.pcap")
		argv := append([]string{"simulate", in, "-o", out, "--force", "--loss-model", "uniform:1"}, tc.args...)
		_, stderr, err := execGapan(t, argv...)
		if err != nil {
			t.Fatalf("%v: %v", argv, err)
		}
		if !strings.Contains(stderr, fmt.Sprintf(" %d dropped by the model", tc.dropped)) {
			t.Errorf("%v: %s; want %d dropped", tc.args, stderr, tc.dropped)
		}
	}
}
