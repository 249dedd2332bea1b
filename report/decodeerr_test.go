package report

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// TestDecodeErrorsEveryOutput: frames cut or damaged with gopacket
// (synth.DecodeFailures) are counted, by reason, in the text, Markdown,
// HTML, JSON and NDJSON reports, and for CSV (one row per flow, no
// capture-wide figure) in its Output's notes, which gapan prints on
// standard error.
func TestDecodeErrorsEveryOutput(t *testing.T) {
	p := filepath.Join(t.TempDir(), "bad.pcap")
	f, err := os.Create(p)
	if err != nil {
		t.Fatal(err)
	}
	_, want, err := synth.DecodeFailures(f)
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	var total uint64
	for _, n := range want {
		total += n
	}
	r, err := analyze.Run(analyze.Config{Captures: []string{p}, Join: join.Options{NoSidecar: true}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
	if err != nil {
		t.Fatal(err)
	}
	// The words: "N frames (reason n, ...)" in text, Markdown and HTML.
	words := func(name, out string) {
		t.Helper()
		if !strings.Contains(out, "decode errors") || !strings.Contains(out, strconv.FormatUint(total, 10)+" frames (") {
			t.Errorf("%s: no decode errors line with %d frames:\n%s", name, total, out)
		}
		for reason, n := range want {
			if !strings.Contains(out, reason+" "+strconv.FormatUint(n, 10)) {
				t.Errorf("%s: no %q with %d frames", name, reason, n)
			}
		}
	}
	var b bytes.Buffer
	if err := WriteText(&b, r, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	words("text", b.String())
	b.Reset()
	if err := WriteMarkdown(&b, r, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	words("markdown", b.String())
	b.Reset()
	if err := WriteHTML(&b, r, HTMLOptions{}); err != nil {
		t.Fatal(err)
	}
	words("html", b.String())
	csv, _ := NewOutput("csv", io.Discard, DefaultOptions())
	words("csv notes", strings.Join(csv.Notes(r), "\n"))

	// The JSON summary, and the NDJSON summary line.
	check := func(name string, line []byte) {
		t.Helper()
		var doc struct {
			Summary struct {
				DecodeErrors *uint64 `json:"decode_errors"`
				ByReason     []struct {
					Reason string `json:"reason"`
					Frames uint64 `json:"frames"`
				} `json:"decode_errors_by_reason"`
			} `json:"summary"`
		}
		if err := json.Unmarshal(line, &doc); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if doc.Summary.DecodeErrors == nil || *doc.Summary.DecodeErrors != total {
			t.Errorf("%s: decode_errors %v, want %d", name, doc.Summary.DecodeErrors, total)
		}
		got := map[string]uint64{}
		for _, d := range doc.Summary.ByReason {
			got[d.Reason] = d.Frames
		}
		if len(got) != len(want) {
			t.Errorf("%s: decode_errors_by_reason %v, want %v", name, got, want)
		}
		for reason, n := range want {
			if got[reason] != n {
				t.Errorf("%s: %q %d, want %d", name, reason, got[reason], n)
			}
		}
	}
	b.Reset()
	if err := WriteJSON(&b, r); err != nil {
		t.Fatal(err)
	}
	check("json", b.Bytes())
	b.Reset()
	nw := NewNDJSONWriter(&b)
	if err := nw.Finish(r); err != nil {
		t.Fatal(err)
	}
	lines := bytes.Split(bytes.TrimSpace(b.Bytes()), []byte("\n"))
	check("ndjson", lines[len(lines)-1])
}
