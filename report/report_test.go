package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

const corpus = "../testdata/corpus/"

// simulated thins a corpus capture by a list model into dir/name and
// returns its path; the ground-truth sidecar lies next to it.
func simulated(t testing.TB, dir, name, input, model string) string {
	t.Helper()
	m, err := simulate.ParseModel(model)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if _, err := simulate.Run(simulate.Config{Input: corpus + input, Output: out, Model: m, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	return out
}

// dcerpcModel drops 16 of the 420 frames of zeek-dcerpc-20-fids-no-close,
// the last one among them (a tail gap of 1).
const dcerpcModel = "list:5,17-19,40-49,200,420"

func run(t *testing.T, captures []string, keep bool, mod func(*analyze.Config)) *analyze.Result {
	t.Helper()
	cfg := analyze.Config{Captures: captures, KernelDrops: -1, Engine: loss.Config{KeepFlows: keep, KeepGaps: keep}}
	if mod != nil {
		mod(&cfg)
	}
	r, err := analyze.Run(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// golden compares got with testdata/name after replacing dir by "TMP".
func golden(t *testing.T, name string, got []byte, dir string) {
	t.Helper()
	got = bytes.ReplaceAll(got, []byte(dir), []byte("TMP"))
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (go test -update rewrites it):\n%s", name, firstDiff(string(want), string(got)))
	}
}

func firstDiff(want, got string) string {
	wl, gl := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(wl) || i < len(gl); i++ {
		var w, g string
		if i < len(wl) {
			w = wl[i]
		}
		if i < len(gl) {
			g = gl[i]
		}
		if w != g {
			return "line " + itoa(i+1) + ":\nwant: " + w + "\ngot:  " + g
		}
	}
	return ""
}

func itoa(i int) string { return num(uint64(i)) }

func TestGolden(t *testing.T) {
	dir := t.TempDir()
	p := simulated(t, dir, "dcerpc.pcap", "zeek-dcerpc-20-fids-no-close.pcap", dcerpcModel)
	r := run(t, []string{p}, true, nil)
	var nd bytes.Buffer
	nw := NewNDJSONWriter(&nd)
	rs := run(t, []string{p}, false, func(c *analyze.Config) { c.Engine.OnFlow = nw.Flow })
	if err := nw.Finish(rs); err != nil {
		t.Fatal(err)
	}
	golden(t, "dcerpc.ndjson", nd.Bytes(), dir)
	for _, tc := range []struct {
		name  string
		write func(*bytes.Buffer) error
	}{
		{"dcerpc.txt", func(b *bytes.Buffer) error { return WriteText(b, r, DefaultOptions()) }},
		{"dcerpc-top1-gaps3.txt", func(b *bytes.Buffer) error { return WriteText(b, r, Options{Top: 1, Gaps: 3}) }},
		{"dcerpc.md", func(b *bytes.Buffer) error { return WriteMarkdown(b, r, DefaultOptions()) }},
		{"dcerpc.json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
		{"dcerpc.csv", func(b *bytes.Buffer) error { return WriteCSV(b, r.Summary.List) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := tc.write(&b); err != nil {
				t.Fatal(err)
			}
			golden(t, tc.name, b.Bytes(), dir)
		})
	}
}

// issueFlowNames are the per-flow JSON names the issue promises scripts.
var issueFlowNames = []string{"flow_id", "packets", "bytes", "proto", "first_ts", "last_ts", "gaps_during",
	"frames_lost_during", "est_lost", "duplicates", "ambiguous_segments", "upstream_lost_segments",
	"upstream_lost_bytes", "capture_lost_segments", "capture_lost_bytes", "capture_unexplained_segments",
	"unknown_segments", "downstream_lost_segments", "spurious_retransmissions", "reordered", "retransmissions",
	"missed_bytes", "rtp_lost_upstream", "rtp_lost_capture"}

func decodeJSON(t *testing.T, r *analyze.Result) map[string]any {
	t.Helper()
	var b bytes.Buffer
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

func TestJSONSchema(t *testing.T) {
	dir := t.TempDir()
	p := simulated(t, dir, "dcerpc.pcap", "zeek-dcerpc-20-fids-no-close.pcap", dcerpcModel)
	doc := decodeJSON(t, run(t, []string{p}, true, nil))
	if doc["schema"] != Schema {
		t.Errorf("schema = %v", doc["schema"])
	}
	for _, k := range []string{"captures", "summary", "gaps", "timeline", "flows", "warnings", "stopped"} {
		if _, ok := doc[k]; !ok {
			t.Errorf("top-level key %q missing", k)
		}
	}
	sum := doc["summary"].(map[string]any)
	for _, k := range append([]string{"frames_captured", "frames_lost", "gap_events", "tail_gap", "largest_gap", "loss_ratio",
		"consistency", "flows", "evictions", "position_unknown"}, issueFlowNames[1:]...) {
		if k == "proto" || k == "first_ts" || k == "last_ts" {
			continue // per flow only
		}
		if _, ok := sum[k]; !ok {
			t.Errorf("summary.%s missing", k)
		}
	}
	// 16 frames dropped: 5 | 17-19 | 40-49 | 200 are 4 gaps of 12 frames
	// lost before a frame, 420 is the tail.
	want := map[string]float64{"frames_captured": 404, "frames_lost": 16, "gap_events": 4, "tail_gap": 1}
	for k, v := range want {
		if sum[k] != v {
			t.Errorf("summary.%s = %v, want %v", k, sum[k], v)
		}
	}
	lg := sum["largest_gap"].(map[string]any)
	// Frames 40-49 of the input are dropped; kept frame 39 is output frame
	// 35 (5, 17, 18, 19 dropped before it), so the gap of 10 sits before
	// output frame 36.
	if lg["lost"] != 10.0 || lg["frame"] != 36.0 || lg["prev_frame"] != 35.0 {
		t.Errorf("largest_gap = %v", lg)
	}
	gaps := doc["gaps"].([]any)
	wantGaps := [][2]float64{{5, 1}, {16, 3}, {36, 10}, {186, 1}}
	if len(gaps) != len(wantGaps) {
		t.Fatalf("%d gaps, want %d", len(gaps), len(wantGaps))
	}
	var gapSum float64
	for i, g := range gaps {
		g := g.(map[string]any)
		if g["frame"] != wantGaps[i][0] || g["lost"] != wantGaps[i][1] {
			t.Errorf("gaps[%d] = frame %v lost %v, want %v", i, g["frame"], g["lost"], wantGaps[i])
		}
		gapSum += g["lost"].(float64)
	}
	if gapSum+sum["tail_gap"].(float64) != sum["frames_lost"] {
		t.Errorf("gaps (%v) + tail (%v) != frames_lost (%v)", gapSum, sum["tail_gap"], sum["frames_lost"])
	}
	flows := doc["flows"].([]any)
	if float64(len(flows)) != sum["flows"] || len(flows) == 0 {
		t.Fatalf("%d flows, summary.flows = %v", len(flows), sum["flows"])
	}
	// Every counter in the summary is the sum over the flows.
	counterNames := CSVHeader()
	totals := map[string]float64{}
	prev := -1.0
	for _, f := range flows {
		f := f.(map[string]any)
		for _, k := range issueFlowNames {
			if _, ok := f[k]; !ok {
				t.Errorf("flow %v lacks %q", f["flow_id"], k)
			}
		}
		if id := f["flow_id"].(float64); id <= prev {
			t.Errorf("flows not sorted by flow_id: %v after %v", id, prev)
		} else {
			prev = id
		}
		for _, k := range counterNames {
			if v, ok := f[k].(float64); ok {
				totals[k] += v
			}
		}
	}
	var packets float64
	for _, k := range counterJSONNames() {
		got, ok := sum[k].(float64)
		if !ok {
			t.Errorf("summary.%s missing or not a number", k)
			continue
		}
		if math.Abs(got-totals[k]) > 1e-5 {
			t.Errorf("summary.%s = %v, sum over flows = %v", k, got, totals[k])
		}
		if k == "packets" {
			packets = got
		}
	}
	if packets != 404 {
		t.Errorf("summary.packets = %v, want every captured frame (404)", packets)
	}
	if est := sum["est_lost"].(float64); math.Abs(est-16) > 1e-5 {
		t.Errorf("summary.est_lost = %v, want the 16 lost frames shared out", est)
	}
}

// counterJSONNames are the JSON names of loss.Counters.
func counterJSONNames() []string {
	var out []string
	for _, sf := range reflect.VisibleFields(reflect.TypeFor[loss.Counters]()) {
		if !sf.Anonymous { // the sequence families' structs: their fields are listed
			out = append(out, strings.Split(sf.Tag.Get("json"), ",")[0])
		}
	}
	return out
}

func TestNDJSON(t *testing.T) {
	dir := t.TempDir()
	p := simulated(t, dir, "dcerpc.pcap", "zeek-dcerpc-20-fids-no-close.pcap", dcerpcModel)
	var b bytes.Buffer
	nw := NewNDJSONWriter(&b)
	r := run(t, []string{p}, false, func(c *analyze.Config) { c.Engine.OnFlow = nw.Flow })
	if err := nw.Finish(r); err != nil {
		t.Fatal(err)
	}
	if r.Summary.List != nil {
		t.Fatal("flows were kept in memory")
	}
	sc := bufio.NewScanner(&b)
	var lines []map[string]any
	for sc.Scan() {
		var m map[string]any
		if err := json.Unmarshal(sc.Bytes(), &m); err != nil {
			t.Fatalf("line %d: %v: %s", len(lines)+1, err, sc.Text())
		}
		lines = append(lines, m)
	}
	if uint64(len(lines)) != r.Summary.FlowCount+1 || nw.Flows() != r.Summary.FlowCount {
		t.Fatalf("%d lines, %d flows written, %d flows", len(lines), nw.Flows(), r.Summary.FlowCount)
	}
	var packets float64
	for i, m := range lines[:len(lines)-1] {
		if _, ok := m["flow_id"]; !ok {
			t.Errorf("line %d has no flow_id", i+1)
		}
		packets += m["packets"].(float64)
	}
	last := lines[len(lines)-1]
	if last["schema"] != Schema {
		t.Errorf("last line schema = %v", last["schema"])
	}
	sum := last["summary"].(map[string]any)
	if sum["frames_captured"] != 404.0 || sum["frames_lost"] != 16.0 || sum["packets"] != packets {
		t.Errorf("summary line: frames_captured %v frames_lost %v packets %v (flows: %v)", sum["frames_captured"], sum["frames_lost"], sum["packets"], packets)
	}
}

func TestCSV(t *testing.T) {
	dir := t.TempDir()
	p := simulated(t, dir, "dcerpc.pcap", "zeek-dcerpc-20-fids-no-close.pcap", dcerpcModel)
	r := run(t, []string{p}, true, nil)
	var b bytes.Buffer
	if err := WriteCSV(&b, r.Summary.List); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&b).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	head := rows[0]
	if strings.Join(head[:7], ",") != "flow_id,proto,ip_version,src_ip,src_port,dst_ip,dst_port" {
		t.Errorf("header starts %v", head[:7])
	}
	for _, n := range issueFlowNames {
		if !contains(head, n) {
			t.Errorf("header lacks %q", n)
		}
	}
	if len(rows)-1 != len(r.Summary.List) {
		t.Fatalf("%d rows, %d flows", len(rows)-1, len(r.Summary.List))
	}
	col := map[string]int{}
	for i, h := range head {
		col[h] = i
	}
	for i, f := range r.Summary.List {
		row := rows[i+1]
		if row[col["flow_id"]] != itoaU(f.FlowID) {
			t.Errorf("row %d flow_id %s, want %d", i+1, row[col["flow_id"]], f.FlowID)
		}
		if row[col["packets"]] != itoaU(f.Packets) || row[col["capture_lost_segments"]] != itoaU(f.CaptureLostSegments) || row[col["proto"]] != f.Proto {
			t.Errorf("row %d = %v, flow %+v", i+1, row, f)
		}
	}
}

func itoaU(n uint64) string { return strings.ReplaceAll(num(n), ",", "") }

func contains(s []string, x string) bool {
	for _, v := range s {
		if v == x {
			return true
		}
	}
	return false
}

func textOf(t *testing.T, r *analyze.Result, opt Options) string {
	t.Helper()
	var b bytes.Buffer
	if err := WriteText(&b, r, opt); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestWording(t *testing.T) {
	http := corpus + "zeek-http-1000-requests-one-dropped-response.pcap"
	tests := []struct {
		name    string
		capture string
		mod     func(*analyze.Config)
		opt     Options
		want    []string
		notWant []string
		unknown uint64
	}{
		{
			name: "no sidecar", capture: http,
			want: []string{
				"no sidecar found (looked for " + http + ".gaps): loss positions unknown",
				"frames lost      not recorded: no sidecar and no pcapng drop counts",
			},
			notWant: []string{"no loss"},
		},
		{
			name: "kernel drops", capture: http, mod: func(c *analyze.Config) { c.KernelDrops = 1 },
			want:    []string{"frames lost      1 frame lost, position unknown (from --kernel-drops 1)"},
			notWant: []string{"no loss", "frames lost      not recorded"}, unknown: 1,
		},
		{
			name: "no sidecar on purpose", capture: http, mod: func(c *analyze.Config) { c.Join.NoSidecar = true }, opt: Options{NoSidecar: true},
			want:    []string{"sidecar          ignored (--no-sidecar): loss positions unknown"},
			notWant: []string{"looked for"},
		},
		{
			name: "isb_ifdrop", capture: corpus + "zeek-quic-merlinc2-isb-ifdrop.pcapng",
			want:    []string{"frames lost      1,020 frames lost, position unknown (from pcapng isb_ifdrop)"},
			unknown: 1020,
		},
		{
			name: "epb_dropcount", capture: corpus + "gopacket-pcapng-epb-dropcount.pcapng",
			want: []string{
				"gaps from pcapng epb_dropcount",
				"frames lost      2 (66.7% of the frames that reached the capture point)",
				"2 frames lost before frame 1 (2024-12-21 04:30:50.619187329 UTC), the first frame on interface 1",
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, []string{tc.capture}, true, tc.mod)
			opt := DefaultOptions()
			opt.NoSidecar = tc.opt.NoSidecar
			txt := textOf(t, r, opt)
			for _, w := range tc.want {
				if !strings.Contains(txt, w) {
					t.Errorf("text lacks %q:\n%s", w, txt)
				}
			}
			for _, w := range tc.notWant {
				if strings.Contains(txt, w) {
					t.Errorf("text has %q", w)
				}
			}
			doc := decodeJSON(t, r)
			if pu := doc["summary"].(map[string]any)["position_unknown"]; pu != float64(tc.unknown) {
				t.Errorf("summary.position_unknown = %v, want %d", pu, tc.unknown)
			}
		})
	}
}

func TestStopped(t *testing.T) {
	name := corpus + "suricata-smtp-to-comma-corrupt.pcap"
	r := run(t, []string{name}, true, func(c *analyze.Config) { c.Join.KeepGoing = true })
	txt := textOf(t, r, DefaultOptions())
	want := "stopped at       " + name + " frame 19, byte offset 3695: the figures cover the 18 frames before the damage"
	if !strings.Contains(txt, want) {
		t.Errorf("text lacks %q:\n%s", want, txt)
	}
	if !strings.Contains(txt, "frames captured  18\n") {
		t.Errorf("text does not count 18 frames:\n%s", txt)
	}
	doc := decodeJSON(t, r)
	st := doc["stopped"].(map[string]any)
	if st["file"] != name || st["frame"] != 19.0 || st["offset"] != 3695.0 || st["frames_read"] != 18.0 {
		t.Errorf("stopped = %v", st)
	}
	if doc["summary"].(map[string]any)["complete"] != false {
		t.Error("summary.complete is not false")
	}
	if c := doc["captures"].([]any)[0].(map[string]any); c["truncated"] != true || c["frames"] != 18.0 {
		t.Errorf("captures[0] = %v", c)
	}

	if _, err := analyze.Run(analyze.Config{Captures: []string{name}, KernelDrops: -1}); err == nil ||
		!strings.Contains(err.Error(), "frame 19 at byte offset 3695") {
		t.Errorf("without KeepGoing: err = %v", err)
	}
}

func TestRotatedSet(t *testing.T) {
	dir := t.TempDir()
	a := simulated(t, dir, "cap_1.pcap", "zeek-dcerpc-20-fids-no-close.pcap", dcerpcModel)
	// The second file loses its first frame: loss at the boundary belongs
	// to the second file's first frame.
	b := simulated(t, dir, "cap_2.pcap", "zeek-get-to-ssh-server-nsec.pcap", "list:1,4-5")
	r := run(t, []string{a, b}, true, nil)
	s := r.Summary
	if s.FramesCaptured != 404+6 || s.FramesLost != 16+3 || s.GapEvents != 4+2 || s.TailGap != 1 {
		t.Errorf("totals: captured %d lost %d events %d tail %d", s.FramesCaptured, s.FramesLost, s.GapEvents, s.TailGap)
	}
	doc := decodeJSON(t, r)
	gaps := doc["gaps"].([]any)
	type g struct {
		capture     string
		frame, lost float64
	}
	want := []g{{a, 5, 1}, {a, 16, 3}, {a, 36, 10}, {a, 186, 1}, {b, 1, 1}, {b, 3, 2}}
	if len(gaps) != len(want) {
		t.Fatalf("%d gaps, want %d", len(gaps), len(want))
	}
	for i, x := range gaps {
		m := x.(map[string]any)
		if got := (g{m["capture"].(string), m["frame"].(float64), m["lost"].(float64)}); got != want[i] {
			t.Errorf("gaps[%d] = %v, want %v", i, got, want[i])
		}
	}
	caps := doc["captures"].([]any)
	if len(caps) != 2 || caps[0].(map[string]any)["frames"] != 404.0 || caps[1].(map[string]any)["frames"] != 6.0 ||
		caps[1].(map[string]any)["lost"] != 3.0 || caps[0].(map[string]any)["tail_gap"] != 1.0 {
		t.Errorf("captures = %v", caps)
	}
	txt := textOf(t, r, DefaultOptions())
	for _, w := range []string{
		"files            2, read in order as one capture; frame numbers are per file",
		"2 frames lost between frame 2 (",
		"of " + b,
	} {
		if !strings.Contains(txt, w) {
			t.Errorf("text lacks %q:\n%s", w, txt)
		}
	}
}

func TestUnits(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{num(0), "0"}, {num(999), "999"}, {num(1000), "1,000"}, {num(1234567), "1,234,567"},
		{humanBytes(999), "999 B"}, {humanBytes(1000), "1.0 kB"}, {humanBytes(15276), "15.3 kB"},
		{humanBytes(999_960), "1.0 MB"}, {humanBytes(2_500_000_000), "2.5 GB"},
		{percent(0), "0%"}, {percent(0.016252), "1.625%"}, {percent(0.285), "28.5%"}, {percent(0.0000123), "0.00123%"},
		{est(2.44999), "2.4"}, {est(16.0000001), "16.0"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestTopFlowsOrder(t *testing.T) {
	fl := []*loss.Flow{
		{FlowID: 1, LossScore: 2}, {FlowID: 2, LossScore: 0}, {FlowID: 3, LossScore: 5},
		{FlowID: 4, LossScore: 2}, {FlowID: 5, LossScore: 0.5},
	}
	top, n := topFlows(fl, 3)
	if n != 4 {
		t.Errorf("%d flows with loss, want 4", n)
	}
	var ids []uint64
	for _, f := range top {
		ids = append(ids, f.FlowID)
	}
	if !reflect.DeepEqual(ids, []uint64{3, 1, 4}) {
		t.Errorf("top = %v, want [3 1 4]", ids)
	}
}
