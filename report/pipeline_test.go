package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// runBoth runs the report twice over the same input, on the sequential
// reference path (Workers 1) and on the pipelined fast path (Workers 2),
// and returns the JSON of each (summary, gaps, timeline and every flow),
// the NDJSON flow stream (flows in the order they became final), the
// per-frame flow ids, and the errors.
func runBoth(t *testing.T, captures []string, jo join.Options) (out [2]string, frames [2][]uint64, errs [2]error) {
	t.Helper()
	return runPaths(t, captures, jo, [2]path{{workers: 1}, {workers: 2}})
}

// path is how runPaths runs a report: its Config.Workers and its
// loss.Config.Unpacked.
type path struct{ workers, unpacked int }

// runPaths is runBoth over two given paths.
func runPaths(t *testing.T, captures []string, jo join.Options, paths [2]path) (out [2]string, frames [2][]uint64, errs [2]error) {
	t.Helper()
	for i, pa := range paths {
		var nd bytes.Buffer
		nw := NewNDJSONWriter(&nd)
		var ids []uint64
		r, err := analyze.Run(analyze.Config{Captures: captures, Join: jo, KernelDrops: -1, Workers: pa.workers,
			Engine: loss.Config{KeepFlows: true, KeepGaps: true, OnFlow: nw.Flow, Unpacked: pa.unpacked},
			Frame: func(f *join.Frame, info *loss.FrameInfo) {
				ids = append(ids, info.FlowID, info.Global, uint64(info.Dir), f.Number, f.GapBefore, uint64(info.Packet.PayloadLen))
			}})
		errs[i] = err
		frames[i] = ids
		if err != nil {
			continue
		}
		var js bytes.Buffer
		if err := WriteJSON(&js, r); err != nil {
			t.Fatal(err)
		}
		if err := nw.Finish(r); err != nil {
			t.Fatal(err)
		}
		out[i] = js.String() + "\n" + nd.String()
	}
	return out, frames, errs
}

// TestPipelineMatchesSequential holds the fast path to the reference
// path: for every corpus capture, with and without a simulated sidecar,
// the pipelined run must produce byte-identical JSON and NDJSON (every
// figure, every flow, in the same order) and the same per-frame results,
// or fail the same way.
func TestPipelineMatchesSequential(t *testing.T) {
	matchPaths(t, [2]path{{workers: 1}, {workers: 2}})
}

// TestPackedMatchesUnpacked holds the packing of idle TCP states
// (loss.Config.Unpacked) to the plain path: the reference path with every
// state unpacked, against the fast path with all states but one packed
// after each segment, must give the same figures for every corpus
// capture.
func TestPackedMatchesUnpacked(t *testing.T) {
	matchPaths(t, [2]path{{workers: 1, unpacked: -1}, {workers: 2, unpacked: 1}})
}

// matchPaths runs every corpus capture, with and without a simulated
// sidecar, on both paths and requires the same output.
func matchPaths(t *testing.T, paths [2]path) {
	names, err := filepath.Glob(corpus + "*.pcap*")
	if err != nil || len(names) < 20 {
		t.Fatalf("corpus: %d captures, %v", len(names), err)
	}
	dir := t.TempDir()
	for _, name := range names {
		base := filepath.Base(name)
		cases := map[string][]string{"plain": {name}}
		if strings.HasSuffix(base, ".pcap") && !strings.Contains(base, "invalid") && !strings.Contains(base, "corrupt") && !strings.Contains(base, "truncated") {
			// Every 7th frame and a run of 40 lost: gaps for the
			// explanation and est_lost to work on.
			cases["sidecar"] = []string{simulated(t, dir, base, base, "list:3,10-12,50-90,200-203,1000,1001,5000-5100")}
		}
		for kind, caps := range cases {
			t.Run(base+"/"+kind, func(t *testing.T) {
				for _, keepGoing := range []bool{false, true} {
					out, frames, errs := runPaths(t, caps, join.Options{KeepGoing: keepGoing}, paths)
					if (errs[0] == nil) != (errs[1] == nil) || errs[0] != nil && errs[0].Error() != errs[1].Error() {
						t.Fatalf("keep-going %v: errors differ: %+v: %v, %+v: %v", keepGoing, paths[0], errs[0], paths[1], errs[1])
					}
					if errs[0] != nil {
						if len(frames[0]) != len(frames[1]) {
							t.Fatalf("frames before the error differ: %d vs %d", len(frames[0])/6, len(frames[1])/6)
						}
						continue
					}
					if out[0] != out[1] {
						t.Fatalf("keep-going %v: outputs differ at %s", keepGoing, firstDiff(out[0], out[1]))
					}
					if len(frames[0]) == 0 && !strings.Contains(base, "too-long") && !strings.Contains(base, "invalid") {
						t.Fatal("no frame seen")
					}
					for i := range frames[0] {
						if frames[0][i] != frames[1][i] {
							t.Fatalf("frame record %d (frame %d) differs: %d vs %d", i%6, i/6+1, frames[0][i], frames[1][i])
						}
					}
					var doc map[string]any
					if err := json.Unmarshal([]byte(out[0][:strings.Index(out[0], "\n}\n")+2]), &doc); err != nil {
						t.Fatalf("JSON: %v", err)
					}
				}
			})
		}
	}
}

// TestPipelineRotatedSet checks the fast path over a set of captures read
// as one, where loss at a file boundary belongs to the next file.
func TestPipelineRotatedSet(t *testing.T) {
	dir := t.TempDir()
	a := simulated(t, dir, "a.pcap", "ndpi-teams.pcap", "list:1-4,700-720,1540")
	b := simulated(t, dir, "b.pcap", "ndpi-netflix.pcap", "list:1,2,900-950")
	out, _, errs := runBoth(t, []string{a, b}, join.Options{})
	if errs[0] != nil || errs[1] != nil {
		t.Fatal(errs)
	}
	if out[0] != out[1] {
		t.Fatalf("outputs differ at %s", firstDiff(out[0], out[1]))
	}
	if _, err := os.Stat(a + ".gaps"); errors.Is(err, os.ErrNotExist) {
		t.Fatal("no sidecar simulated")
	}
}
