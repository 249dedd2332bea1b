package loss_test

import (
	"encoding/binary"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// hostA and hostB are the two ends of the crafted sequence-family captures.
var hostA, hostB = net.IP{10, 7, 0, 1}, net.IP{10, 7, 0, 2}

// writeIPv4 writes a pcap of Ethernet/IPv4 frames, each from src to dst
// with protocol proto and the layers ls above IP (gopacket serializes
// them), one millisecond apart, and returns its path.
func writeIPv4(t *testing.T, name string, frames []ipFrame) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 0)
	for _, fr := range frames {
		ts = ts.Add(time.Millisecond)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: fr.proto, SrcIP: fr.src, DstIP: fr.dst}
		buf := gopacket.NewSerializeBuffer()
		ls := append([]gopacket.SerializableLayer{eth, ip}, fr.layers...)
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		if err := w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// ipFrame is one crafted IPv4 packet.
type ipFrame struct {
	src, dst net.IP
	proto    layers.IPProtocol
	layers   []gopacket.SerializableLayer
}

// espFrame is an ESP packet of SA spi with sequence number seq from src
// to dst (the payload is filler: only the header is read).
func espFrame(src, dst net.IP, spi, seq uint32) ipFrame {
	b := make([]byte, 8+48)
	binary.BigEndian.PutUint32(b[0:4], spi)
	binary.BigEndian.PutUint32(b[4:8], seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return ipFrame{src: src, dst: dst, proto: layers.IPProtocolESP, layers: []gopacket.SerializableLayer{gopacket.Payload(b)}}
}

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

// seqTestdata returns the path of a capture of testdata/seq.
func seqTestdata(name string) string { return filepath.Join("..", "testdata", "seq", name) }

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
