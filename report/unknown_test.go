package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"html/template"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
)

// TestUnknownIsNotZero: without any record of the loss (--no-sidecar on
// the demo, whose sidecar records 916 frames lost in 65 gaps), no output
// gives the figures only that record could give as 0: text and Markdown
// say "not recorded" or "unknown", the HTML cards the same with
// data-value null, JSON and NDJSON null. With the sidecar the same run
// gives its figures.
func TestUnknownIsNotZero(t *testing.T) {
	noSidecar := func(c *analyze.Config) { c.Join.NoSidecar = true }
	r := run(t, []string{demoCapture}, true, noSidecar)
	opt := DefaultOptions()
	opt.NoSidecar = true

	txt := textOf(t, r, opt)
	for _, line := range []string{
		"  frames lost      not recorded: no sidecar and no pcapng drop counts\n",
		"  gap events       not recorded\n",
		"  largest gap      not recorded\n",
		"  tail gap         not recorded\n",
		"    in a recorded gap        unknown: no gaps recorded\n",
		"  consistency                unknown: no gaps recorded\n",
		"  estimated loss over flows  unknown: no gaps recorded\n",
		// What the capture itself shows stays a count.
		"    unexplained              91 segments, 119.9 kB\n",
		// The flow's share of the loss is unknown too.
		"     0  tcp    10.213.209.1:41966  10.213.209.2:9       65  81.0 kB   unknown            91              0          0             0\n",
	} {
		if !strings.Contains(txt, line) {
			t.Errorf("text lacks %q:\n%s", line, txt)
		}
	}
	for _, bad := range []string{"gap events       0", "tail gap         0", "in a recorded gap        0", "consistency                0%", "0 frames lost after the last frame"} {
		if strings.Contains(txt, bad) {
			t.Errorf("text has %q", bad)
		}
	}

	var md bytes.Buffer
	if err := WriteMarkdown(&md, r, opt); err != nil {
		t.Fatal(err)
	}
	for _, line := range []string{
		"| frames lost | not recorded: no sidecar and no pcapng drop counts |\n",
		"| gap events | not recorded |\n",
		"| largest gap | not recorded |\n",
		"| tail gap | not recorded |\n",
		"| ↳ in a recorded gap | unknown: no gaps recorded |\n",
		"| consistency | unknown: no gaps recorded |\n",
		"| estimated loss over flows | unknown: no gaps recorded |\n",
	} {
		if !strings.Contains(md.String(), line) {
			t.Errorf("markdown lacks %q", line)
		}
	}

	page, js := writeHTMLAndJSON(t, r, HTMLOptions{Options: opt})
	for _, card := range []string{
		`data-field="summary.frames_lost" data-value="null">not recorded<`,
		`data-field="summary.loss_ratio" data-value="null">unknown<`,
		`data-field="summary.gap_events" data-value="null">not recorded<`,
		`data-field="summary.largest_gap" data-value="null">not recorded<`,
		`data-field="summary.tail_gap" data-value="null">not recorded<`,
		`data-field="summary.est_lost" data-value="null">unknown<`,
		`data-field="summary.capture_explained_segments" data-value="null">unknown<`,
		`data-field="summary.consistency" data-value="null">unknown<`,
		`data-field="summary.capture_unexplained_segments" data-value="91">91<`,
		`">frames lost per 1 s: not recorded (no sidecar and no pcapng drop counts)</text>`, // the per-second timeline without HTMLOptions.Timeline
		`<figcaption>Gaps not recorded (no sidecar and no pcapng drop counts).</figcaption>`,
		`<p class="note">Gaps not recorded (no sidecar and no pcapng drop counts).</p>`,
		`data-sort="null" data-field="frames_lost_during">unknown</td>`,
		`data-sort="null" data-field="est_lost">unknown</td>`,
	} {
		if !strings.Contains(page, card) {
			t.Errorf("page lacks %q", card)
		}
	}
	checkHTMLAgainstJSON(t, page, js)

	var nd bytes.Buffer
	nw := NewNDJSONWriter(&nd)
	if err := nw.Finish(r); err != nil {
		t.Fatal(err)
	}
	for name, b := range map[string][]byte{"json": js, "ndjson": nd.Bytes()} {
		var doc struct {
			Schema   string                     `json:"schema"`
			Summary  map[string]json.RawMessage `json:"summary"`
			Captures []map[string]json.RawMessage
		}
		if err := json.Unmarshal(b, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Schema != "gapan.report/2" {
			t.Errorf("%s: schema %q", name, doc.Schema)
		}
		for _, k := range append(unrecordedSummary, "largest_gap") {
			if v := string(doc.Summary[k]); v != "null" {
				t.Errorf("%s: summary.%s = %s, want null", name, k, v)
			}
		}
		for k, want := range map[string]string{"frames_captured": "2297", "capture_lost_segments": "91", "capture_unexplained_segments": "91", "position_unknown": "0"} {
			if v := string(doc.Summary[k]); v != want {
				t.Errorf("%s: summary.%s = %s, want %s", name, k, v, want)
			}
		}
		c := doc.Captures[0]
		for k, want := range map[string]string{"gap_events": "null", "lost": "null", "tail_gap": "null", "frames": "2297", "source": `"none"`} {
			if v := string(c[k]); v != want {
				t.Errorf("%s: captures[0].%s = %s, want %s", name, k, v, want)
			}
		}
	}

	// Each flow's figures that need a record: null in JSON and NDJSON,
	// an empty cell in CSV (loss.Flow.LossNotRecorded).
	var flowDoc struct {
		Flows []map[string]json.RawMessage `json:"flows"`
	}
	if err := json.Unmarshal(js, &flowDoc); err != nil {
		t.Fatal(err)
	}
	var ndf bytes.Buffer
	ndw := NewNDJSONWriter(&ndf)
	for _, f := range r.Summary.List {
		ndw.Flow(f)
	}
	if err := ndw.Finish(r); err != nil {
		t.Fatal(err)
	}
	var ndFlows []map[string]json.RawMessage
	for _, line := range strings.Split(strings.TrimSpace(ndf.String()), "\n") {
		var m map[string]json.RawMessage
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Fatal(err)
		}
		if _, ok := m["flow_id"]; ok {
			ndFlows = append(ndFlows, m)
		}
	}
	var csvOut bytes.Buffer
	if err := WriteCSV(&csvOut, r.Summary.List); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&csvOut).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(flowDoc.Flows) != 2 || len(ndFlows) != 2 || len(rows) != 3 {
		t.Fatalf("%d JSON flows, %d NDJSON flows, %d CSV rows; want 2, 2, 3", len(flowDoc.Flows), len(ndFlows), len(rows))
	}
	for _, k := range []string{"gaps_during", "frames_lost_during", "est_lost"} {
		col := slices.Index(rows[0], k)
		for i := range 2 {
			if v := string(flowDoc.Flows[i][k]); v != "null" {
				t.Errorf("json: flows[%d].%s = %s, want null", i, k, v)
			}
			if v := string(ndFlows[i][k]); v != "null" {
				t.Errorf("ndjson: flow %d %s = %s, want null", i, k, v)
			}
			if col < 0 || rows[i+1][col] != "" {
				t.Errorf("csv: row %d %s = %q, want an empty cell", i+1, k, rows[i+1][col])
			}
		}
	}

	// The whole output, pinned (go test -update rewrites the files).
	golden(t, "demo-no-sidecar.txt", []byte(txt), "\x00no temporary directory")
	golden(t, "demo-no-sidecar.md", md.Bytes(), "\x00no temporary directory")
	golden(t, "demo-no-sidecar.json", js, "\x00no temporary directory")

	// With the sidecar, the same figures are the recorded ones.
	r = run(t, []string{demoCapture}, true, nil)
	txt = textOf(t, r, DefaultOptions())
	for _, line := range []string{"  gap events       65\n", "  tail gap         1 frame lost after the last frame\n"} {
		if !strings.Contains(txt, line) {
			t.Errorf("text with the sidecar lacks %q:\n%s", line, txt)
		}
	}
	if strings.Contains(txt, "not recorded") || strings.Contains(txt, "no gaps recorded") {
		t.Errorf("text with the sidecar says not recorded:\n%s", txt)
	}
	doc := decodeJSON(t, r)
	if s := doc["summary"].(map[string]any); s["frames_lost"] != float64(916) || s["gap_events"] != float64(65) || s["tail_gap"] != float64(1) {
		t.Errorf("JSON with the sidecar: frames_lost %v, gap_events %v, tail_gap %v; want 916, 65, 1", s["frames_lost"], s["gap_events"], s["tail_gap"])
	}
}

// TestUnknownInSet: in a set where one capture has a sidecar and the other
// none, the summary keeps the recorded figures, and the capture without a
// record shows its own as unknown (text, HTML) and null (JSON).
func TestUnknownInSet(t *testing.T) {
	dir := t.TempDir()
	withSidecar := simulated(t, dir, "a.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "list:3-4") // 2 of its 420 frames deleted
	without := corpus + "tls-subjectaltname.pcap"
	r := run(t, []string{withSidecar, without}, true, nil)
	txt := textOf(t, r, DefaultOptions())
	var rows []string
	for _, l := range strings.Split(txt, "\n") {
		if strings.HasPrefix(l, "  1  ") || strings.HasPrefix(l, "  2  ") {
			rows = append(rows, strings.Join(strings.Fields(l), " "))
		}
	}
	if len(rows) != 2 || !strings.HasPrefix(rows[0], "1 "+withSidecar+" 418 1 2 0 ") ||
		!strings.HasPrefix(rows[1], "2 "+without+" ") || !strings.Contains(rows[1], " unknown unknown unknown no sidecar found") {
		t.Errorf("captures table rows %q:\n%s", rows, txt)
	}
	if !strings.Contains(txt, "  frames lost      2 (") {
		t.Errorf("summary does not keep the recorded 2 frames lost:\n%s", txt)
	}
	page, js := writeHTMLAndJSON(t, r, HTMLOptions{})
	if !strings.Contains(page, template.HTMLEscapeString(without)+": ") || !strings.Contains(page, " frames, loss not recorded; gaps: no sidecar found") {
		t.Error("page does not say the second capture's loss is not recorded")
	}
	var doc struct {
		Captures []map[string]json.RawMessage `json:"captures"`
		Flows    []map[string]json.RawMessage `json:"flows"`
	}
	if err := json.Unmarshal(js, &doc); err != nil {
		t.Fatal(err)
	}
	// A flow's figures are null when its latest frame came from the
	// capture without a record: the dcerpc flow (frames 1-418 of the set)
	// keeps its numbers, the flows of the second capture do not.
	var recorded, unrecorded int
	for _, f := range doc.Flows {
		var first uint64
		if err := json.Unmarshal(f["first_frame"], &first); err != nil {
			t.Fatal(err)
		}
		v := string(f["est_lost"])
		switch {
		case first <= 418 && v != "null":
			recorded++
		case first > 418 && v == "null":
			unrecorded++
		default:
			t.Errorf("flow from frame %d: est_lost %s", first, v)
		}
	}
	if recorded != 1 || unrecorded == 0 {
		t.Errorf("%d flows with their figures, %d with null; want 1 and the second capture's", recorded, unrecorded)
	}
	for i, want := range []string{"2", "null"} {
		if v := string(doc.Captures[i]["lost"]); v != want {
			t.Errorf("captures[%d].lost = %s, want %s", i, v, want)
		}
	}
}
