package loss_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
)

// hostA and hostB are the two ends of the crafted sequence-family captures.
var hostA, hostB = net.IP{10, 7, 0, 1}, net.IP{10, 7, 0, 2}

// writeIPv4 writes frames to a pcap (synth.WritePackets) and returns
// its path.
func writeIPv4(t *testing.T, name string, frames []ipFrame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := synth.WritePackets(f, frames); err != nil {
		t.Fatal(err)
	}
	return path
}

// ipFrame is one crafted IPv4 packet.
type ipFrame = synth.Packet

// The crafted packets of the sequence families.
var (
	espFrame  = synth.ESP
	gtpuFrame = synth.GTPU
	echoFrame = synth.Echo
)

// thin deletes the given 1-based frames of path with simulate's list
// model, which writes the sidecar that records where they were lost.
func thin(t *testing.T, path string, del []uint64) string {
	t.Helper()
	var l simulate.List
	for _, d := range del {
		l.Ranges = append(l.Ranges, [2]uint64{d, d})
	}
	out := filepath.Join(t.TempDir(), "thinned.pcap")
	if _, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: l}); err != nil {
		t.Fatal(err)
	}
	return out
}

// tsharkESPMissing returns, per SPI, the sequence numbers tshark's ESP
// sequence analysis (esp.do_esp_sequence_analysis) finds missing: at
// each frame it flags with a wrong sequence number, the jump beyond the
// expected number.
func tsharkESPMissing(t *testing.T, path string) (map[uint32]uint64, int) {
	t.Helper()
	out, err := exec.Command("tshark", "-n", "-r", path, "-o", "esp.do_esp_sequence_analysis:TRUE",
		"-T", "fields", "-e", "esp.spi", "-e", "esp.sequence", "-e", "esp.sequence-analysis.expected-sn").Output()
	if err != nil {
		t.Fatal(err)
	}
	missing := map[uint32]uint64{}
	flagged := 0
	for _, l := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Split(l, "\t")
		if len(f) < 3 || f[2] == "" {
			continue
		}
		spi, _ := strconv.ParseUint(strings.TrimPrefix(f[0], "0x"), 16, 32)
		seq, _ := strconv.ParseUint(f[1], 10, 32)
		exp, _ := strconv.ParseUint(f[2], 10, 32)
		if seq != exp {
			flagged++
			if seq > exp {
				missing[uint32(spi)] += seq - exp
			}
		}
	}
	return missing, flagged
}

// seqSample writes the synthetic captures of the sequence families
// (internal/synth.WriteSeqSamples) into a temporary directory and returns
// the path of the one named.
func seqSample(t testing.TB, name string) string {
	t.Helper()
	p, err := synth.SeqSample(t.TempDir(), name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// simulatedFile thins path with simulate's model and seed.
func simulatedFile(t *testing.T, path, model string, seed uint64) string {
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

// familyFlow returns the summary's only flow in which packets (a
// family's packet counter) counted some.
func familyFlow(t *testing.T, sum *loss.Summary, family string, packets func(*loss.Flow) uint64) *loss.Flow {
	t.Helper()
	var got *loss.Flow
	for _, fl := range sum.List {
		if packets(fl) > 0 {
			if got != nil {
				t.Fatalf("two %s flows: %d and %d", family, got.FlowID, fl.FlowID)
			}
			got = fl
		}
	}
	if got == nil {
		t.Fatalf("no %s flow", family)
	}
	return got
}

func espFlow(t *testing.T, sum *loss.Summary) *loss.Flow {
	return familyFlow(t, sum, "ESP", func(f *loss.Flow) uint64 { return f.ESPPackets })
}

func gtpuFlow(t *testing.T, sum *loss.Summary) *loss.Flow {
	return familyFlow(t, sum, "GTP-U", func(f *loss.Flow) uint64 { return f.GTPUPackets })
}

func icmpFlow(t *testing.T, sum *loss.Summary) *loss.Flow {
	return familyFlow(t, sum, "ICMP echo", func(f *loss.Flow) uint64 { return f.ICMPPackets })
}
