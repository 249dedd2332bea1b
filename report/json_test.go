package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestWriteJSONMatchesEncoder holds WriteJSON, which writes a gap and a
// flow at a time, to what encoding/json's Encoder writes for the whole
// NewDocument, byte for byte: for every corpus capture, plain and with a
// simulated sidecar (gaps), also those that stop on damage.
func TestWriteJSONMatchesEncoder(t *testing.T) {
	names, err := filepath.Glob(corpus + "*.pcap*")
	if err != nil || len(names) < 20 {
		t.Fatalf("corpus: %d captures, %v", len(names), err)
	}
	dir := t.TempDir()
	// A capture without a frame: empty arrays.
	empty := filepath.Join(dir, "empty.pcap")
	f, err := os.Create(empty)
	if err != nil {
		t.Fatal(err)
	}
	if err := pcapgo.NewWriter(f).WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	f.Close()
	names = append(names, empty)
	seen := map[string]bool{}
	for _, name := range names {
		base := filepath.Base(name)
		caps := [][]string{{name}}
		if name != empty && strings.HasSuffix(base, ".pcap") && !strings.Contains(base, "invalid") && !strings.Contains(base, "corrupt") && !strings.Contains(base, "truncated") {
			caps = append(caps, []string{simulated(t, dir, base, base, "list:3,10-12,50-90,200-203")})
		}
		for _, c := range caps {
			r, _ := Run(Config{Captures: c, Join: join.Options{KeepGoing: true}, KernelDrops: -1,
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
	}
	for _, k := range []string{"flows", "no flows", "gaps", "stopped", "warnings"} {
		if !seen[k] {
			t.Errorf("no capture had %s: the comparison does not cover that layout", k)
		}
	}
}
