package report

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testfiles"
)

// TestLossUnknownEveryOutput: with a sidecar cut short, text, Markdown,
// HTML and JSON all say from which frame on the loss is unknown, and JSON
// no longer calls the run complete.
func TestLossUnknownEveryOutput(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "dcerpc.pcap", "zeek-dcerpc-20-fids-no-close.pcap", "list:5,17-19,40-49,200")
	last := testfiles.CutSidecar(t, capture)
	want := fmt.Sprintf("loss unknown after frame %d (the sidecar ends there)", last)
	r := run(t, []string{capture}, true, nil)

	if s := textOf(t, r, DefaultOptions()); !strings.Contains(s, want) || strings.Contains(s, "no loss recorded") {
		t.Errorf("text does not say %q:\n%s", want, s)
	} else if strings.Contains(s, "0 frames lost after the last frame") || !strings.Contains(s, "tail gap         unknown") {
		// Without a trailer the tail is unknown, not 0.
		t.Errorf("text gives the tail gap of an incomplete sidecar as known:\n%s", s)
	}
	var md, html, js bytes.Buffer
	if err := WriteMarkdown(&md, r, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if err := WriteHTML(&html, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	if h := html.String(); strings.Contains(h, "lost after the last frame") {
		t.Error("html gives the tail gap of an incomplete sidecar as known")
	}
	for name, b := range map[string]*bytes.Buffer{"markdown": &md, "html": &html} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("%s does not say %q", name, want)
		}
	}
	var doc struct {
		Summary struct {
			Complete    bool     `json:"complete"`
			LossUnknown []string `json:"loss_unknown"`
		} `json:"summary"`
		Captures []struct {
			Incomplete bool    `json:"sidecar_incomplete"`
			After      *uint64 `json:"loss_unknown_after"`
		} `json:"captures"`
	}
	if err := json.Unmarshal(js.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	// Per flow, in CSV (which has no summary) as in JSON: a flow with a
	// frame after the sidecar's end has its loss unknown.
	var cs bytes.Buffer
	if err := WriteCSV(&cs, r.Summary.List); err != nil {
		t.Fatal(err)
	}
	rows, err := csv.NewReader(&cs).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := slices.Index(rows[0], "loss_unknown")
	lastCol := slices.Index(rows[0], "last_frame")
	if col < 0 || lastCol < 0 {
		t.Fatalf("CSV header %v", rows[0])
	}
	unknown := 0
	for _, row := range rows[1:] {
		lastFrame, _ := strconv.ParseUint(row[lastCol], 10, 64)
		if want := strconv.FormatBool(lastFrame > last); row[col] != want {
			t.Errorf("flow ending at frame %d: loss_unknown %s, want %s", lastFrame, row[col], want)
		}
		if row[col] == "true" {
			unknown++
		}
	}
	if unknown == 0 {
		t.Error("no flow has its loss unknown")
	}
	c := doc.Captures[0]
	if doc.Summary.Complete || len(doc.Summary.LossUnknown) != 1 || doc.Summary.LossUnknown[0] != want ||
		!c.Incomplete || c.After == nil || *c.After != last {
		t.Errorf("JSON: %+v, capture %+v; want complete false, %q, loss_unknown_after %d", doc.Summary, c, want, last)
	}
}
