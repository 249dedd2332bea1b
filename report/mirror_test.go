package report

import (
	"bytes"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/testfiles"
)

// mirrorSample is the synthetic ERSPAN capture with known mirror and
// capture loss (loss.TestMirrorSample, testdata/README.md).
const mirrorSample = "../testdata/mirror/synth/mirror-loss.pcap"

// TestMirrorGolden writes the reports of the mirror sample in every
// format with mirror sessions: the text and Markdown sections, the JSON
// document and the NDJSON summary line (golden files), and the HTML page,
// whose every mirror figure must equal the JSON report's.
func TestMirrorGolden(t *testing.T) {
	// A copy of the capture alone: without a sidecar the split of the
	// missing numbers is unknown. Its directory reads TMP in the goldens.
	bare := testfiles.Bare(t, mirrorSample)
	dir := filepath.Dir(bare)
	for _, tc := range []struct{ name, capture string }{{"mirror", mirrorSample}, {"mirror-no-sidecar", bare}} {
		t.Run(tc.name, func(t *testing.T) {
			r := run(t, []string{tc.capture}, true, nil)
			var nd bytes.Buffer
			nw := NewNDJSONWriter(&nd)
			rs := run(t, []string{tc.capture}, false, func(c *analyze.Config) { c.Engine.OnFlow = nw.Flow })
			if err := nw.Finish(rs); err != nil {
				t.Fatal(err)
			}
			lines := strings.Split(strings.TrimSpace(nd.String()), "\n")
			golden(t, tc.name+".ndjson-summary", []byte(lines[len(lines)-1]+"\n"), dir)
			for _, f := range []struct {
				ext   string
				write func(*bytes.Buffer) error
			}{
				{".txt", func(b *bytes.Buffer) error { return WriteText(b, r, DefaultOptions()) }},
				{".md", func(b *bytes.Buffer) error { return WriteMarkdown(b, r, DefaultOptions()) }},
				{".json", func(b *bytes.Buffer) error { return WriteJSON(b, r) }},
			} {
				var b bytes.Buffer
				if err := f.write(&b); err != nil {
					t.Fatal(err)
				}
				golden(t, tc.name+f.ext, b.Bytes(), dir)
			}
			page, j := writeHTMLAndJSON(t, r, HTMLOptions{})
			if !strings.Contains(page, `id="mirror"`) {
				t.Fatal("no mirror sessions table in the HTML page")
			}
			if n := checkHTMLAgainstJSON(t, page, j); n < 5*11+8 {
				t.Errorf("compared only %d values, want the 5 sessions' 11 cells and the 8 cards at least", n)
			}
			var doc Document
			if err := json.Unmarshal(j, &doc); err != nil {
				t.Fatal(err)
			}
			if len(doc.MirrorSessions) != 5 || doc.Summary.Mirror.Frames != 888 {
				t.Errorf("JSON: %d sessions, %d frames; want 5, 888", len(doc.MirrorSessions), doc.Summary.Mirror.Frames)
			}
		})
	}
}

// TestNoMirrorSection: a capture without mirror sessions has no mirror
// section, no mirror_sessions and no summary.mirror.
func TestNoMirrorSection(t *testing.T) {
	r := run(t, []string{demoCapture}, true, nil)
	var txt, js bytes.Buffer
	if err := WriteText(&txt, r, DefaultOptions()); err != nil {
		t.Fatal(err)
	}
	if err := WriteJSON(&js, r); err != nil {
		t.Fatal(err)
	}
	page, _ := writeHTMLAndJSON(t, r, HTMLOptions{})
	if strings.Contains(txt.String(), "Mirror sessions") || strings.Contains(js.String(), "mirror") || strings.Contains(page, `id="mirror"`) {
		t.Error("mirror sessions shown for a capture without any")
	}
}
