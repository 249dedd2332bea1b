package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
)

const demoCapture = "../testdata/demo/demo.pcap"

// htmlField matches an element with data-field and data-value.
var htmlField = regexp.MustCompile(`data-field="([^"]+)" data-value="([^"]*)"`)

// jsonPath returns the value at a dotted path of a decoded JSON document.
func jsonPath(doc map[string]any, path string) (any, bool) {
	var v any = doc
	for _, k := range strings.Split(path, ".") {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, false
		}
		if v, ok = m[k]; !ok {
			return nil, false
		}
	}
	return v, true
}

// sameValue reports whether a data-value equals a decoded JSON value.
func sameValue(shown string, v any) bool {
	switch x := v.(type) {
	case nil:
		return shown == "null"
	case float64:
		f, err := strconv.ParseFloat(shown, 64)
		return err == nil && f == x
	case string:
		return shown == x
	}
	return false
}

// checkHTMLAgainstJSON checks every figure of page (as the browser or
// WriteHTML left it) against the JSON report: the summary cards, every row
// of the flows and gaps tables, and the totals of the charts. It returns
// how many values it compared.
func checkHTMLAgainstJSON(t *testing.T, page string, docJSON []byte) int {
	t.Helper()
	var doc map[string]any
	if err := json.Unmarshal(docJSON, &doc); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, m := range htmlField.FindAllStringSubmatch(page, -1) {
		v, ok := jsonPath(doc, m[1])
		if !ok && m[2] != "null" {
			t.Errorf("%s: not in the JSON report", m[1])
			continue
		}
		if !sameValue(m[2], v) {
			t.Errorf("%s: page %s, JSON %v", m[1], m[2], v)
		}
		n++
	}
	// Table rows: every cell with data-field against the JSON entry.
	flows := map[string]map[string]any{}
	for _, f := range doc["flows"].([]any) {
		fm := f.(map[string]any)
		flows[strconv.FormatFloat(fm["flow_id"].(float64), 'f', -1, 64)] = fm
	}
	gaps := map[string]map[string]any{}
	for _, g := range doc["gaps"].([]any) {
		gm := g.(map[string]any)
		gaps[gm["capture"].(string)+":"+strconv.FormatFloat(gm["frame"].(float64), 'f', -1, 64)] = gm
	}
	mirror := map[string]map[string]any{}
	if ms, ok := doc["mirror_sessions"].([]any); ok {
		for _, m := range ms {
			mm := m.(map[string]any)
			mirror[strconv.FormatFloat(mm["first_frame"].(float64), 'f', -1, 64)] = mm
		}
	}
	row := regexp.MustCompile(`(?s)<tr data-key="([^"]*)">(.*?)</tr>`)
	cell := regexp.MustCompile(`<td[^>]* data-sort="([^"]*)" data-field="([^"]+)"`)
	for _, table := range []struct {
		id      string
		entries map[string]map[string]any
	}{{"flows", flows}, {"gaps", gaps}, {"mirror", mirror}} {
		start := strings.Index(page, `id="`+table.id+`"`)
		if start < 0 {
			if len(table.entries) > 0 {
				t.Errorf("no %s table", table.id)
			}
			continue
		}
		end := strings.Index(page[start:], "</table>")
		rows := row.FindAllStringSubmatch(page[start:start+end], -1)
		if want := min(len(table.entries), HTMLMaxRows); len(rows) != want {
			t.Errorf("%s table has %d rows, want %d", table.id, len(rows), want)
		}
		for _, r := range rows {
			e, ok := table.entries[htmlUnescape(r[1])]
			if !ok {
				t.Errorf("%s row %q not in the JSON report", table.id, r[1])
				continue
			}
			for _, c := range cell.FindAllStringSubmatch(r[2], -1) {
				if !sameValue(htmlUnescape(c[1]), e[c[2]]) {
					t.Errorf("%s row %s %s: page %s, JSON %v", table.id, r[1], c[2], c[1], e[c[2]])
				}
				n++
			}
		}
	}
	// Chart totals.
	sum := func(key string) (s uint64) {
		for _, x := range doc["timeline"].([]any) {
			s += uint64(x.(map[string]any)[key].(float64))
		}
		return s
	}
	for attr, want := range map[string]string{
		`data-captured="`: strconv.FormatUint(sum("captured"), 10),
		`data-lost="`:     strconv.FormatUint(sum("lost"), 10),
	} {
		i := strings.Index(page, "<svg")
		re := regexp.MustCompile(regexp.QuoteMeta(attr) + `(\d+)"`)
		m := re.FindStringSubmatch(page[i:])
		if m == nil || m[1] != want {
			t.Errorf("timeline %s%v, want %s (the JSON timeline's sum)", attr, m, want)
		}
		n++
	}
	if m := regexp.MustCompile(`data-gaps="(\d+)"`).FindStringSubmatch(page); len(doc["gaps"].([]any)) > 0 && (m == nil || m[1] != strconv.Itoa(len(doc["gaps"].([]any)))) {
		t.Errorf("histogram counts %v gaps, JSON has %d", m, len(doc["gaps"].([]any)))
	}
	return n
}

// htmlUnescape undoes the escaping html/template and browsers apply to
// attribute values.
func htmlUnescape(s string) string {
	return strings.NewReplacer("&amp;", "&", "&lt;", "<", "&gt;", ">", "&#34;", `"`, "&quot;", `"`, "&#39;", "'").Replace(s)
}

func writeHTMLAndJSON(t *testing.T, r *analyze.Result, opt HTMLOptions) (string, []byte) {
	t.Helper()
	var h, j bytes.Buffer
	if err := WriteHTML(&h, r, opt); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&j, r); err != nil {
		t.Fatal(err)
	}
	return h.String(), j.Bytes()
}

func runWithTimeline(t *testing.T, captures []string) (*analyze.Result, *Timeline) {
	tl := NewTimeline(0)
	r := run(t, captures, true, func(c *analyze.Config) { c.Frame = tl.Frame })
	return r, tl
}

func TestHTMLMatchesJSON(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		captures []string
		minVals  int
	}{
		{"demo", []string{demoCapture}, 65*5 + 2*10}, // five compared gap columns: a one-file report names no capture per gap
		{"dcerpc", []string{simulated(t, dir, "dcerpc.pcap", "zeek-dcerpc-20-fids-no-close.pcap", dcerpcModel)}, 40},
		{"no sidecar", []string{corpus + "tls-subjectaltname.pcap"}, 15},
		{"rotated set", []string{
			simulated(t, dir, "a.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "list:3-4"),
			simulated(t, dir, "b.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "list:9,100-120"),
		}, 20},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, tl := runWithTimeline(t, tc.captures)
			for _, opt := range []HTMLOptions{{}, {Timeline: tl}} {
				page, j := writeHTMLAndJSON(t, r, opt)
				if n := checkHTMLAgainstJSON(t, page, j); n < tc.minVals {
					t.Errorf("compared only %d values, want at least %d", n, tc.minVals)
				}
			}
		})
	}
}

func TestHTMLDemoGolden(t *testing.T) {
	r, tl := runWithTimeline(t, []string{demoCapture})
	page, _ := writeHTMLAndJSON(t, r, HTMLOptions{Timeline: tl})
	golden(t, "html-demo.html", []byte(page), "\x00no temporary directory")
	for _, want := range []string{
		`data-field="summary.frames_captured" data-value="2297">2,297<`,
		`data-field="summary.frames_lost" data-value="916">916<`,
		`data-field="summary.largest_gap.lost" data-value="167">167<`,
		"All 65 gaps, largest first.",
		"frames lost per 1 ms",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

func TestHTMLSelfContainedAndEscaped(t *testing.T) {
	dir := t.TempDir()
	name := filepath.Join(dir, `a<script>alert(1)<\script>&"b'.pcap`)
	for _, suffix := range []string{"", ".gaps"} {
		b, err := os.ReadFile(demoCapture + suffix)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(name+suffix, b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	r := run(t, []string{name}, true, nil)
	page, _ := writeHTMLAndJSON(t, r, HTMLOptions{})
	if strings.Contains(page, "<script>alert") {
		t.Error("capture name not escaped")
	}
	if !strings.Contains(page, `a&lt;script&gt;alert(1)&lt;\script&gt;&amp;&#34;b&#39;.pcap`) {
		t.Error("escaped capture name missing")
	}
	for _, bad := range []string{"http://", "https://", "src=", "<link", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("page contains %q: it must load nothing", bad)
		}
	}
	if !strings.Contains(page, `content="default-src 'none';`) {
		t.Error("no Content-Security-Policy forbidding fetches")
	}
	if strings.Count(page, "<script>") != 1 {
		t.Errorf("%d scripts, want the one table sorter", strings.Count(page, "<script>"))
	}
}

func TestHTMLCapsRows(t *testing.T) {
	r := run(t, []string{demoCapture}, true, nil)
	page, _ := writeHTMLAndJSON(t, r, HTMLOptions{MaxRows: 3})
	gapsTable := page[strings.Index(page, `id="gaps"`):]
	gapsTable = gapsTable[:strings.Index(gapsTable, "</table>")]
	if n := strings.Count(gapsTable, "<tr data-key="); n != 3 {
		t.Errorf("%d gap rows, want 3", n)
	}
	if !strings.Contains(page, "The 3 largest of 65 gaps (the page lists at most 3; the JSON report has them all).") {
		t.Error("page does not say the gap list is cut")
	}
	// Largest first: 167 before 158 before 125 (the demo's three largest).
	lost := regexp.MustCompile(`data-sort="(\d+)" data-field="lost"`).FindAllStringSubmatch(gapsTable, -1)
	if len(lost) != 3 || lost[0][1] != "167" || lost[1][1] != "158" || lost[2][1] != "125" {
		t.Errorf("gap sizes %v, want 167, 158, 125", lost)
	}
}

func TestTimeline(t *testing.T) {
	ms := int64(time.Millisecond)
	sec := int64(time.Second)
	for _, tc := range []struct {
		name      string
		max       int
		add       [][3]int64 // ns, captured, lost
		width     time.Duration
		buckets   int
		firstNs   int64
		wantFirst TimelineBucket
	}{
		{"one frame", 10, [][3]int64{{5*sec + 3*ms, 1, 2}}, time.Millisecond, 1, 5*sec + 3*ms, TimelineBucket{5*sec + 3*ms, 1, 2}},
		{"fits in ms", 10, [][3]int64{{0, 1, 0}, {9 * ms, 1, 4}}, time.Millisecond, 10, 0, TimelineBucket{0, 1, 0}},
		{"coarsens to 10ms", 10, [][3]int64{{0, 1, 0}, {10 * ms, 1, 4}}, 10 * time.Millisecond, 2, 0, TimelineBucket{0, 1, 0}},
		{"out of order earlier", 10, [][3]int64{{5 * ms, 1, 0}, {2 * ms, 1, 3}}, time.Millisecond, 4, 2 * ms, TimelineBucket{2 * ms, 1, 3}},
		{"to minutes", 100, [][3]int64{{0, 1, 1}, {59 * sec, 1, 1}, {3599 * sec, 1, 1}}, time.Minute, 60, 0, TimelineBucket{0, 2, 2}},
		{"wild timestamp stays bounded", 10, [][3]int64{{1_795_901_422 * sec, 1, 0}, {0, 1, 7}}, 10_000 * 24 * time.Hour, 3, 0, TimelineBucket{0, 1, 7}},
		{"before 1970", 10, [][3]int64{{-1 * ms, 1, 1}, {0, 1, 0}}, time.Millisecond, 2, -ms, TimelineBucket{-ms, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tl := NewTimeline(tc.max)
			var capSum, lostSum uint64
			for _, a := range tc.add {
				tl.Add(a[0], uint64(a[1]), uint64(a[2]))
				capSum += uint64(a[1])
				lostSum += uint64(a[2])
			}
			bs := tl.Buckets()
			if tl.Width() != tc.width || len(bs) != tc.buckets {
				t.Fatalf("width %v, %d buckets; want %v, %d", tl.Width(), len(bs), tc.width, tc.buckets)
			}
			if bs[0] != tc.wantFirst {
				t.Errorf("first bucket %+v, want %+v", bs[0], tc.wantFirst)
			}
			var c, l uint64
			for _, b := range bs {
				c += b.Captured
				l += b.Lost
			}
			if c != capSum || l != lostSum {
				t.Errorf("buckets sum to %d captured, %d lost; want %d, %d", c, l, capSum, lostSum)
			}
		})
	}
}

// TestTimelineMatchesSeconds checks that a Timeline of whole seconds adds
// up to the engine's per-second timeline, second by second.
func TestTimelineMatchesSeconds(t *testing.T) {
	tl := NewTimeline(0)
	var secs []loss.Second
	for i := int64(0); i < 5000; i++ {
		ns := 1_700_000_000*int64(time.Second) + i*int64(time.Second)/3
		tl.Add(ns, 1, uint64(i%7))
		s := ns / int64(time.Second)
		if len(secs) == 0 || secs[len(secs)-1].UnixSec != s {
			secs = append(secs, loss.Second{UnixSec: s})
		}
		secs[len(secs)-1].Captured++
		secs[len(secs)-1].Lost += uint64(i % 7)
	}
	if tl.Width() != 10*time.Second {
		t.Fatalf("width %v, want 10s for 1667 seconds", tl.Width())
	}
	want := summaryTimeline(secs)
	if fmt.Sprint(want.Buckets()) != fmt.Sprint(tl.Buckets()) || want.Width() != tl.Width() {
		t.Error("frame timeline and per-second timeline differ")
	}
}

func BenchmarkWriteHTML(b *testing.B) {
	cfg := analyze.Config{Captures: []string{demoCapture}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}}
	r, err := analyze.Run(cfg)
	if err != nil {
		b.Fatal(err)
	}
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := WriteHTML(&buf, r, HTMLOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
	b.ReportMetric(float64(r.Summary.FramesCaptured)*float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// TestHTMLFlowsMatches holds the HTML page written with only the flows
// its table lists (HTMLFlows, the CLI's way) to the page written from
// every flow (Summary.List), byte for byte, over the corpus: with the
// default number of rows and with 3, so that the table leaves flows out.
func TestHTMLFlowsMatches(t *testing.T) {
	cut := false
	eachCorpusRun(t, func(c []string, cfg analyze.Config, ref *analyze.Result) {
		for _, rows := range []int{0, 3} {
			var want, got bytes.Buffer
			if err := WriteHTML(&want, ref, HTMLOptions{MaxRows: rows}); err != nil {
				t.Fatal(err)
			}
			hf := NewHTMLFlows(rows)
			cfg.Engine = loss.Config{KeepGaps: true, OnFlow: hf.Flow}
			r, _ := analyze.Run(cfg)
			if err := WriteHTML(&got, r, HTMLOptions{MaxRows: rows, Flows: hf}); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("%s, %d rows: the page differs at %s", c[0], rows, firstDiff(got.String(), want.String()))
			}
			cut = cut || rows > 0 && len(ref.Summary.List) > rows
		}
	})
	if !cut {
		t.Error("no capture had more flows than rows: the bounded table is not covered")
	}
}

// TestHTMLGapTable: the gap table gives every interval in one unit, the
// one of its longest (named in the heading, not in the cells), and names
// the capture of each gap only in a report of several captures.
func TestHTMLGapTable(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		name     string
		captures []string
		unit     string
		perNs    float64
		several  bool
	}{
		{"one capture", []string{demoCapture}, "ms", 1e6, false},
		{"rotated set", []string{
			simulated(t, dir, "a.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "list:3-4"),
			simulated(t, dir, "b.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "list:9,100-120"),
		}, "ms", 1e6, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, tc.captures, true, nil)
			page, js := writeHTMLAndJSON(t, r, HTMLOptions{})
			table := page[strings.Index(page, `id="gaps"`):]
			table = table[:strings.Index(table, "</table>")]
			if want := `data-field="interval_ns" title="time between the frames around the gap">interval (` + tc.unit + `)</th>`; !strings.Contains(table, want) {
				t.Errorf("gap table heading lacks %q", want)
			}
			if got := strings.Contains(table, `data-field="gaps.capture"`); got != tc.several {
				t.Errorf("capture column shown %v, want %v", got, tc.several)
			}
			var doc struct {
				Gaps []GapJSON `json:"gaps"`
			}
			if err := json.Unmarshal(js, &doc); err != nil {
				t.Fatal(err)
			}
			byKey := map[string]GapJSON{}
			for _, g := range doc.Gaps {
				byKey[g.Capture+":"+strconv.FormatUint(g.Frame, 10)] = g
			}
			row := regexp.MustCompile(`<tr data-key="([^"]*)">(.*)</tr>`)
			cell := regexp.MustCompile(`<td[^>]*>([^<]*)</td>`)
			var below, above int
			for _, m := range row.FindAllStringSubmatch(table, -1) {
				g, ok := byKey[htmlUnescape(m[1])]
				if !ok {
					t.Fatalf("row %s not in the JSON", m[1])
				}
				cells := cell.FindAllStringSubmatch(m[2], -1)
				if got := strings.Contains(m[2], template.HTMLEscapeString(g.Capture)); got != tc.several {
					t.Errorf("row %s names its capture: %v, want %v", m[1], got, tc.several)
				}
				shown := cells[len(cells)-1][1]
				if g.PrevFrame == 0 {
					if shown != "" {
						t.Errorf("row %s: interval %q for a gap with no previous frame", m[1], shown)
					}
					continue
				}
				iv := float64(g.Ns - g.PrevNs)
				if want := strconv.FormatFloat(iv/tc.perNs, 'f', 3, 64); shown != want {
					t.Errorf("row %s: interval %q, want %q (%v ns in %s)", m[1], shown, want, iv, tc.unit)
				}
				if iv < tc.perNs {
					below++
				} else {
					above++
				}
			}
			// The demo's intervals span both sides of 1 ms: the old
			// column said "219.2µs" next to "4.05ms".
			if tc.name == "one capture" && (below == 0 || above == 0) {
				t.Errorf("%d intervals below 1 %s, %d above: the test shows no mix", below, tc.unit, above)
			}
		})
	}
}

func TestDurationUnit(t *testing.T) {
	for _, tc := range []struct {
		longest, ns int64
		unit, shown string
	}{
		{0, 0, "ns", "0"},
		{999, 999, "ns", "999"},
		{1000, 999, "µs", "0.999"},
		{1_500_000, 219_200, "ms", "0.219"},
		{4_052_267, 4_052_267, "ms", "4.052"},
		{2_000_000_000, 1_000_000, "s", "0.001"},
	} {
		u := durationUnitFor(tc.longest)
		if u.name != tc.unit || u.format(tc.ns) != tc.shown {
			t.Errorf("longest %d ns: %d ns shown %q %s, want %q %s", tc.longest, tc.ns, u.format(tc.ns), u.name, tc.shown, tc.unit)
		}
	}
}

// TestHTMLTablesScroll: a table wider than the window scrolls sideways in
// its own box, and the headings wrap so that the flows table fits a
// 1,400 px window (TestHTMLInBrowser measures it).
func TestHTMLTablesScroll(t *testing.T) {
	r := run(t, []string{demoCapture}, true, nil)
	page, _ := writeHTMLAndJSON(t, r, HTMLOptions{})
	for _, want := range []string{
		".tablewrap { overflow-x: auto;",
		"th { position: sticky; top: 0; background: #eef0f4; cursor: pointer; user-select: none; white-space: normal; vertical-align: bottom; }",
		`<div class="tablewrap"><table class="sortable" id="flows">`,
		`<div class="tablewrap"><table class="sortable" id="gaps">`,
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
}
