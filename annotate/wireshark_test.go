package annotate

import (
	"bytes"
	"encoding/json"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/report"
	"github.com/gapan/gapan/simulate"
)

const plugin = "../contrib/wireshark/gapan.lua"

// tsharkLua runs tshark with the gapan plugin on file and returns its
// tab-separated field rows, failing on anything tshark writes to stderr
// (a plugin that does not load, a Lua error, an unknown field) but the
// note it prints when run as root.
func tsharkLua(t testing.TB, file, filter string, fields ...string) [][]string {
	t.Helper()
	bin := testenv.NeedTool(t, "tshark")
	args := []string{"-n", "-X", "lua_script:" + plugin, "-r", file, "-T", "fields", "-E", "occurrence=a", "-E", "aggregator=;"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	cmd := exec.Command(bin, args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark %v: %v\n%s", args, err, stderr.String())
	}
	for _, line := range strings.Split(stderr.String(), "\n") {
		if line != "" && !strings.HasPrefix(line, "Running as user \"root\"") {
			t.Errorf("tshark %v wrote to stderr: %s", args, line)
		}
	}
	var rows [][]string
	for _, line := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if line != "" {
			rows = append(rows, strings.Split(line, "\t"))
		}
	}
	if strings.Contains(string(out), "Lua Error") {
		t.Errorf("tshark %v: Lua error in the output", args)
	}
	return rows
}

// jsonReport is the part of `gapan report --format json` the test reads.
type jsonReport struct {
	Gaps []struct {
		Frame uint64 `json:"frame"`
		Lost  uint64 `json:"lost"`
	} `json:"gaps"`
	Flows []map[string]any `json:"flows"`
}

// reportJSON returns the JSON report of path, as gapan report writes it.
func reportJSON(t *testing.T, path string) jsonReport {
	t.Helper()
	r, err := analyze.Run(analyze.Config{Captures: []string{path}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc jsonReport
	if err := json.Unmarshal(buf.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	return doc
}

// simulatedCopy thins a corpus capture with simulate and returns it (its
// ground-truth sidecar beside it).
func simulatedCopy(t *testing.T, name, model string, seed uint64) string {
	t.Helper()
	return simulatedPath(t, corpus+name, model, seed)
}

// simulatedPath thins the capture at path by model.
func simulatedPath(t *testing.T, path, model string, seed uint64) string {
	t.Helper()
	m, err := simulate.ParseModel(model)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "sim.pcap")
	if _, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: m, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestPluginFatesMatchReport annotates captures with capture loss (the
// demo's real kernel drops, simulate's deletions) and with loss of their
// own before the capture point, and requires the Wireshark plugin, run by
// tshark, to show for every fate exactly the bytes and segments the JSON
// report lists, flow by flow (the plugin's gapan.flow_id is the JSON's
// flow_id), each flow's fates on frames tshark puts in one TCP stream,
// and each capture fate's gap among the JSON report's gaps. On the demo
// capture tshark's own TCP analysis, independent of gapan, flags every
// frame the plugin tells capture loss on: "previous segment not captured"
// before a frame that reveals a hole, "ACKed segment that wasn't
// captured" on an acknowledgement.
func TestPluginFatesMatchReport(t *testing.T) {
	cases := []struct {
		name, path string
		want       []string // fates the capture must show
	}{
		{"demo", "../testdata/demo/demo.pcap", []string{"capture"}},
		{"netflix-simulated", simulatedCopy(t, "ndpi-netflix.pcap", "uniform:0.03", 1), []string{"capture", "unknown"}},
		{"tls-upstream", corpus + "tls-subjectaltname.pcap", []string{"upstream", "downstream"}},
		{"tls-simulated", simulatedCopy(t, "tls-subjectaltname.pcap", "burst:p=0.02,r=0.3", 5), []string{"capture", "upstream"}},
		{"rtp-simulated", simulatedCopy(t, "sipp-g711a-rtp.pcap", "uniform:0.1", 7), []string{"capture"}},
		{"seq-simulated", simulatedPath(t, seqFamiliesCapture(t), "uniform:0.05", 2), []string{"capture", "upstream", "capture_unexplained"}},
	}
	kinds := []string{"capture", "capture_unexplained", "upstream", "downstream", "ambiguous", "unknown"}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "annotated.pcapng")
			if _, err := Run(Config{Inputs: []string{c.path}, Output: out}); err != nil {
				t.Fatal(err)
			}
			doc := reportJSON(t, c.path)
			gaps := map[string]uint64{}
			for _, g := range doc.Gaps {
				gaps[strconv.FormatUint(g.Frame, 10)] = g.Lost
			}
			all := tsharkLua(t, out, "gapan.fate", "frame.number", "gapan.flow_id", "gapan.fate", "gapan.fate_bytes",
				"gapan.fate_segments", "gapan.fate_gap", "gapan.fate_gap_lost", "tcp.stream", "gapan.fate_acked",
				"tcp.analysis.lost_segment", "tcp.analysis.ack_lost_segment", "gapan.fate_packets", "gapan.fate_evidence")
			// The command of docs/wireshark.md gives the frames of the
			// capture fates and their bytes.
			rows := tsharkLua(t, out, `gapan.fate == "capture"`, "frame.number", "gapan.fate_bytes")
			var want [][]string
			for _, r := range all {
				if contains(strings.Split(r[2], ";"), "capture") {
					want = append(want, []string{r[0], r[3]})
				}
			}
			if !reflect.DeepEqual(rows, want) && len(rows)+len(want) > 0 {
				t.Errorf("gapan.fate == \"capture\": %v, want %v", rows, want)
			}
			for _, kind := range kinds {
				var full [][]string
				for _, r := range all {
					if contains(strings.Split(r[2], ";"), kind) {
						full = append(full, r)
					}
				}
				bytesOf := map[string]uint64{}
				segsOf := map[string]uint64{}
				packetsOf := map[string]uint64{}
				streamOf := map[string]string{}
				for _, r := range full {
					flow := r[1]
					if s, ok := streamOf[flow]; ok && s != r[7] {
						t.Errorf("%s: flow %s on TCP streams %s and %s (frame %s)", kind, flow, s, r[7], r[0])
					}
					streamOf[flow] = r[7]
					fs, bs, ss := strings.Split(r[2], ";"), strings.Split(r[3], ";"), strings.Split(r[4], ";")
					if r[11] != "" {
						// RTP and the sequence families: packets, no
						// bytes or segments.
						ev := "rtp"
						if r[12] != "" {
							ev = strings.Split(r[12], ";")[0]
						}
						for j, p := range strings.Split(r[11], ";") {
							if fs[j] == kind {
								n, _ := strconv.ParseUint(p, 10, 64)
								packetsOf[flow+"/"+ev] += n
							}
						}
						continue
					}
					if len(fs) != len(bs) || len(fs) != len(ss) {
						t.Fatalf("%s: frame %s: fates %q, bytes %q, segments %q", kind, r[0], r[2], r[3], r[4])
					}
					for j := range fs {
						if fs[j] != kind {
							continue
						}
						b, _ := strconv.ParseUint(bs[j], 10, 64)
						s, _ := strconv.ParseUint(ss[j], 10, 64)
						bytesOf[flow] += b
						segsOf[flow] += s
					}
					if kind == "capture" {
						for j, g := range strings.Split(r[5], ";") {
							lost := strings.Split(r[6], ";")[j]
							if l, ok := gaps[g]; !ok || strconv.FormatUint(l, 10) != lost {
								t.Errorf("frame %s: gap of %s frames before frame %s, the JSON report has %d there", r[0], lost, g, l)
							}
						}
						if c.name == "demo" && (r[8] == "" && r[9] == "" || r[8] != "" && r[10] == "") {
							t.Errorf("frame %s: capture loss (acknowledgement %q) that tshark's TCP analysis does not flag", r[0], r[8])
						}
					}
				}
				for _, fl := range doc.Flows {
					id := strconv.FormatFloat(fl["flow_id"].(float64), 'f', -1, 64)
					key := kind
					if kind == "capture" {
						key = "capture_explained"
					}
					if kind == "upstream" || kind == "downstream" {
						key += "_lost"
					}
					wb, ws := uint64(fl[key+"_bytes"].(float64)), uint64(fl[key+"_segments"].(float64))
					if bytesOf[id] != wb || segsOf[id] != ws {
						t.Errorf("%s: flow %s: the plugin shows %d bytes in %d segments, the JSON report %d in %d", kind, id, bytesOf[id], segsOf[id], wb, ws)
					}
					delete(bytesOf, id)
					for _, ev := range []string{"rtp", "esp", "gtpu", "icmp"} {
						var wp uint64
						switch kind {
						case "capture":
							wp = uint64(fl[ev+"_lost_capture"].(float64))
						case "upstream":
							wp = uint64(fl[ev+"_lost_upstream"].(float64))
						case "capture_unexplained":
							if ev == "icmp" {
								wp = uint64(fl["icmp_capture_unexplained"].(float64))
							}
						}
						if packetsOf[id+"/"+ev] != wp {
							t.Errorf("%s: flow %s: the plugin shows %d %s packets, the JSON report %d", kind, id, packetsOf[id+"/"+ev], ev, wp)
						}
						delete(packetsOf, id+"/"+ev)
					}
				}
				for id, n := range packetsOf {
					t.Errorf("%s: %d packets of flow/evidence %s, which the JSON report does not list", kind, n, id)
				}
				for id, b := range bytesOf {
					t.Errorf("%s: %d bytes of flow %s, which the JSON report does not list", kind, b, id)
				}
				if len(full) == 0 && contains(c.want, kind) {
					t.Errorf("no %s fate: the case tests nothing", kind)
				}
				t.Logf("%s: %d frames", kind, len(full))
			}
		})
	}
}

func contains(xs []string, x string) bool {
	for _, y := range xs {
		if x == y {
			return true
		}
	}
	return false
}

// profileFilters reads the display filters of the Wireshark profile in
// contrib/wireshark/profile: its colouring rules (@name@filter@colours)
// and its filter buttons ("TRUE","label","filter","comment", with \x22
// for a quote).
func profileFilters(t *testing.T) map[string]string {
	t.Helper()
	out := map[string]string{}
	b, err := os.ReadFile("../contrib/wireshark/profile/colorfilters")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "@") {
			p := strings.Split(line, "@")
			if len(p) != 4 || !strings.HasPrefix(p[3], "[") {
				t.Fatalf("colorfilters line %q", line)
			}
			out["colour "+p[1]] = p[2]
		}
	}
	b, err = os.ReadFile("../contrib/wireshark/profile/dfilter_buttons")
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, `"`) {
			p := strings.Split(strings.Trim(line, `"`), `","`)
			if len(p) != 4 || p[0] != "TRUE" {
				t.Fatalf("dfilter_buttons line %q", line)
			}
			out["button "+p[1]] = strings.ReplaceAll(p[2], `\x22`, `"`)
		}
	}
	return out
}

// TestProfileFilters requires every colouring rule and filter button of
// the shipped profile to be a display filter tshark accepts with the
// plugin, and each to pick frames of a capture with capture and network
// loss.
func TestProfileFilters(t *testing.T) {
	sim := simulatedCopy(t, "tls-subjectaltname.pcap", "burst:p=0.02,r=0.3", 5)
	out := filepath.Join(t.TempDir(), "annotated.pcapng")
	if _, err := Run(Config{Inputs: []string{sim}, Output: out}); err != nil {
		t.Fatal(err)
	}
	fs := profileFilters(t)
	if len(fs) < 6 {
		t.Fatalf("%d filters in the profile", len(fs))
	}
	for name, filter := range fs {
		if rows := tsharkLua(t, out, filter, "frame.number"); len(rows) == 0 {
			t.Errorf("%s (%s) picks no frame", name, filter)
		}
	}
}

// seqFamiliesCapture writes a capture of the sequence families with loss
// of its own before the capture point: two ESP SAs (one never sends
// every 37th number), a GTP-U tunnel, and a ping whose every 23rd
// request the capture misses (its reply shows it passed).
func seqFamiliesCapture(t *testing.T) string {
	a, b := net.IP{10, 6, 0, 1}, net.IP{10, 6, 0, 2}
	var pkts []synth.Packet
	for i := range uint32(400) {
		if i%37 != 36 {
			pkts = append(pkts, synth.ESP(a, b, 0x61, i+1))
		}
		pkts = append(pkts, synth.ESP(b, a, 0x62, i+1), synth.GTPU(a, b, 0x99, uint16(i)))
		if i%23 != 22 {
			pkts = append(pkts, synth.Echo(a, b, false, 3, uint16(i)))
		}
		pkts = append(pkts, synth.Echo(b, a, true, 3, uint16(i)))
	}
	path := filepath.Join(t.TempDir(), "seq.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := synth.WritePackets(f, pkts); err != nil {
		t.Fatal(err)
	}
	return path
}
