package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// corpusCaptureSets returns the capture sets the output tests go through:
// every corpus capture alone, each undamaged .pcap also thinned by a
// simulated loss with its sidecar, a set of two thinned captures and a
// capture without a frame (written in dir).
func corpusCaptureSets(t *testing.T, dir string) [][]string {
	t.Helper()
	names, err := filepath.Glob(corpus + "*.pcap*")
	if err != nil || len(names) < 20 {
		t.Fatalf("corpus: %d captures, %v", len(names), err)
	}
	var sets [][]string
	for _, name := range names {
		base := filepath.Base(name)
		sets = append(sets, []string{name})
		if strings.HasSuffix(base, ".pcap") && !strings.Contains(base, "invalid") && !strings.Contains(base, "corrupt") && !strings.Contains(base, "truncated") {
			sets = append(sets, []string{simulated(t, dir, base, base, "list:3,10-12,50-90,200-203")})
		}
	}
	empty := filepath.Join(dir, "empty.pcap")
	f, err := os.Create(empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgo.NewWriter(f).WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A set of two captures: gaps are labelled with their capture.
	sets = append(sets, []string{
		simulated(t, dir, "set-a.pcap", "ndpi-teams.pcap", "list:1-4,700-720,1540"),
		simulated(t, dir, "set-b.pcap", "ndpi-netflix.pcap", "list:1,2,900-950"),
	})
	return append(sets, []string{empty})
}

// eachCorpusRun runs every corpus capture set (corpusCaptureSets) with
// every flow and gap kept, going on after damage, and calls fn with the
// set, the configuration and the report; sets that are no capture at all
// are skipped.
func eachCorpusRun(t *testing.T, fn func(c []string, cfg analyze.Config, ref *analyze.Result)) {
	t.Helper()
	for _, c := range corpusCaptureSets(t, t.TempDir()) {
		cfg := analyze.Config{Captures: c, Join: join.Options{KeepGoing: true}, KernelDrops: -1,
			Engine: loss.Config{KeepFlows: true, KeepGaps: true}}
		if ref, _ := analyze.Run(cfg); ref != nil {
			fn(c, cfg, ref)
		}
	}
}

// TestWriteJSONMatchesEncoder holds WriteJSON, which writes a gap and a
// flow at a time, to what encoding/json's Encoder writes for the whole
// NewDocument, byte for byte: for every corpus capture, plain and with a
// simulated sidecar (gaps), also those that stop on damage.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range corpusCaptureSets(t, t.TempDir()) {
		r, _ := analyze.Run(analyze.Config{Captures: c, Join: join.Options{KeepGoing: true}, KernelDrops: -1,
			Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
		if r == nil {
			continue // not a capture at all: no report to write
		}
		var got, want bytes.Buffer
		if err := WriteJSON(&got, r); err != nil {
			t.Fatal(err)
		}
		enc := json.NewEncoder(&want)
		enc.SetIndent("", "  ")
		if err := enc.Encode(NewDocument(r)); err != nil {
			t.Fatal(err)
		}
		if got.String() != want.String() {
			t.Fatalf("%s: WriteJSON differs from the Encoder at %s", c[0], firstDiff(got.String(), want.String()))
		}
		doc := NewDocument(r)
		seen["flows"] = seen["flows"] || len(doc.Flows) > 1
		seen["no flows"] = seen["no flows"] || len(doc.Flows) == 0
		seen["gaps"] = seen["gaps"] || len(doc.Gaps) > 1
		seen["stopped"] = seen["stopped"] || doc.Stopped != nil
		seen["warnings"] = seen["warnings"] || len(doc.Warnings) > 0
	}
	for _, k := range []string{"flows", "no flows", "gaps", "stopped", "warnings"} {
		if !seen[k] {
			t.Errorf("no capture had %s: the comparison does not cover that layout", k)
		}
	}
}

// TestNullFields: only the named members at the top level become null,
// whatever their values hold; a name that is not a member is an error.
func TestNullFields(t *testing.T) {
	in := `{"a":1.5e-7,"b":{"a":2,"c":[1,{"a":3}]},"c":"x,\"a\":1","d":[1,2],"e":null}`
	got, err := nullFields([]byte(in), []string{"c", "a", "d"})
	want := `{"a":null,"b":{"a":2,"c":[1,{"a":3}]},"c":null,"d":null,"e":null}`
	if err != nil || string(got) != want {
		t.Errorf("got %s, %v\nwant %s", got, err, want)
	}
	if _, err := nullFields([]byte(in), []string{"a", "missing"}); err == nil {
		t.Error("a name that is no member: no error")
	}
	if _, err := nullFields([]byte(`[1]`), []string{"a"}); err == nil {
		t.Error("not an object: no error")
	}
}
