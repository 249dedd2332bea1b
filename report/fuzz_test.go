package report_test

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/fuzzgen"
	"github.com/gapan/gapan/report"
)

// FuzzWriters renders arbitrary flows (any strings: invalid UTF-8, quotes,
// commas, newlines, markup; extreme counts) in every report format (seeds
// in testdata/fuzz/FuzzWriters). No writer may fail or panic; the JSON and
// every NDJSON line are valid JSON holding every flow once, in order; the
// CSV has one row per flow with the header's columns; and an incomplete
// sidecar is named in the text.
func FuzzWriters(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03cap\x02sc\x05\x00\x00\x00\x00\x00\x00\x00\x01\x02tcp\x04,\"\n<"))
	f.Fuzz(func(t *testing.T, data []byte) {
		flows, files := fuzzgen.Flows(data)
		r := &analyze.Result{Summary: fuzzgen.Summary(flows, files), Files: files, KernelDrops: -1}
		var text, md, html, js, cs, nd bytes.Buffer
		if err := report.WriteText(&text, r, report.Options{Top: 10, Gaps: 5, Seconds: report.DefaultSeconds}); err != nil {
			t.Fatalf("text: %v", err)
		}
		if err := report.WriteMarkdown(&md, r, report.Options{Top: 10, Gaps: report.DefaultGaps, Seconds: report.DefaultSeconds}); err != nil {
			t.Fatalf("markdown: %v", err)
		}
		if err := report.WriteHTML(&html, r, report.HTMLOptions{}); err != nil {
			t.Fatalf("html: %v", err)
		}
		if err := report.WriteJSON(&js, r); err != nil {
			t.Fatalf("json: %v", err)
		}
		if err := report.WriteCSV(&cs, flows); err != nil {
			t.Fatalf("csv: %v", err)
		}
		nw := report.NewNDJSONWriter(&nd)
		for _, fl := range flows {
			nw.Flow(fl)
		}
		if err := nw.Finish(r); err != nil {
			t.Fatalf("ndjson: %v", err)
		}

		var doc struct {
			Flows []struct {
				ID uint64 `json:"flow_id"`
			} `json:"flows"`
		}
		if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
			t.Fatalf("JSON does not parse: %v", err)
		}
		if len(doc.Flows) != len(flows) {
			t.Fatalf("JSON has %d flows, want %d", len(doc.Flows), len(flows))
		}
		for i, fl := range doc.Flows {
			if fl.ID != flows[i].FlowID {
				t.Fatalf("JSON flow %d has id %d, want %d", i, fl.ID, flows[i].FlowID)
			}
		}
		rows, err := csv.NewReader(&cs).ReadAll()
		if err != nil {
			t.Fatalf("CSV does not parse: %v", err)
		}
		if len(rows) != len(flows)+1 {
			t.Fatalf("CSV has %d rows, want %d", len(rows), len(flows)+1)
		}
		sc := bufio.NewScanner(&nd)
		sc.Buffer(nil, 1<<24)
		lines := 0
		for sc.Scan() {
			if !json.Valid(sc.Bytes()) {
				t.Fatalf("NDJSON line %d is not JSON: %q", lines+1, sc.Bytes())
			}
			lines++
		}
		if lines != len(flows)+1 {
			t.Fatalf("NDJSON has %d lines, want %d", lines, len(flows)+1)
		}
		if files[0].SidecarIncomplete && !strings.Contains(text.String(), "loss unknown after frame") {
			t.Fatalf("text does not say the loss is unknown:\n%s", text.String())
		}
	})
}
