package decode

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const corpusDir = "../testdata/corpus"

type corpusFrame struct {
	lt   layers.LinkType
	data []byte
}

// readCorpus returns the frames of a pcap or pcapng corpus file (copied).
// Files that gopacket cannot open are skipped (the corrupt ones).
func readCorpus(t testing.TB, name string) []corpusFrame {
	t.Helper()
	return readCapture(t, filepath.Join(corpusDir, name))
}

// readCapture is readCorpus for a capture anywhere.
func readCapture(t testing.TB, path string) []corpusFrame {
	t.Helper()
	raw, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var next func() ([]byte, gopacket.CaptureInfo, error)
	var lt func(ci gopacket.CaptureInfo) layers.LinkType
	if strings.HasSuffix(path, ".pcapng") {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil
		}
		next = r.ReadPacketData
		lt = func(ci gopacket.CaptureInfo) layers.LinkType {
			if ifc, err := r.Interface(ci.InterfaceIndex); err == nil {
				return ifc.LinkType
			}
			return r.LinkType()
		}
	} else {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil
		}
		next = r.ReadPacketData
		lt = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	}
	var out []corpusFrame
	for {
		data, ci, err := next()
		if errors.Is(err, io.EOF) || err != nil {
			return out
		}
		out = append(out, corpusFrame{lt(ci), data})
	}
}

func corpusFiles(t testing.TB) []string {
	ents, err := os.ReadDir(corpusDir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		if n := e.Name(); strings.HasSuffix(n, ".pcap") || strings.HasSuffix(n, ".pcapng") {
			names = append(names, n)
		}
	}
	return names
}

// TestFastPathMatchesGopacket decodes every corpus frame with and without
// the hand-written fast path and requires identical Packets, and counts
// how many frames the fast path took.
func TestFastPathMatchesGopacket(t *testing.T) {
	fast, slow := NewDecoder(), NewDecoder()
	slow.noFast = true
	var total, took int
	for _, name := range corpusFiles(t) {
		for i, f := range readCorpus(t, name) {
			var a, b Packet
			ea := fast.Decode(f.lt, f.data, &a)
			eb := slow.Decode(f.lt, f.data, &b)
			if ea != eb || !reflect.DeepEqual(a, b) {
				t.Fatalf("%s frame %d: fast path %v %+v\ngopacket path %v %+v", name, i+1, ea, a, eb, b)
			}
			total++
			var c Packet
			if f.lt == layers.LinkTypeEthernet && fast.decodeFast(f.data, &c) {
				took++
			}
		}
	}
	if total < 100000 {
		t.Fatalf("only %d corpus frames", total)
	}
	t.Logf("%d frames, %d (%.1f%%) on the fast path", total, took, 100*float64(took)/float64(total))
}

// TestDecodeCorpusZeroAlloc decodes whole corpus captures and requires zero
// allocations per frame on both paths.
func TestDecodeCorpusZeroAlloc(t *testing.T) {
	for _, name := range []string{"tls-subjectaltname.pcap", "zeek-pppoe-over-qinq.pcap", "ndpi-quickplay-sll.pcap",
		"suricata-decode-sll2-02.pcap", "ndpi-ocs-rawip.pcap", "suricata-http-range-multiflows-null.pcap", "ndpi-tumblr-ipv6.pcap", "ndpi-ultrasurf-vlan.pcap"} {
		frames := readCorpus(t, name)
		for _, noFast := range []bool{false, true} {
			d := NewDecoder()
			d.noFast = noFast
			var p Packet
			for _, f := range frames { // warm up
				_ = d.Decode(f.lt, f.data, &p)
			}
			allocs := testing.AllocsPerRun(3, func() {
				for _, f := range frames {
					_ = d.Decode(f.lt, f.data, &p)
				}
			})
			if allocs != 0 {
				t.Errorf("%s noFast=%v: %.0f allocations for %d frames", name, noFast, allocs, len(frames))
			}
		}
	}
}

// TestCorpusDecodesCleanly: every frame of the link-type corpus captures
// decodes without error, is IP, and has ports when TCP/UDP.
func TestCorpusDecodesCleanly(t *testing.T) {
	for _, name := range []string{"zeek-pppoe-over-qinq.pcap", "ndpi-quickplay-sll.pcap", "suricata-decode-sll2-02.pcap",
		"ndpi-ocs-rawip.pcap", "suricata-http-range-multiflows-null.pcap", "ndpi-tumblr-ipv6.pcap", "ndpi-ultrasurf-vlan.pcap"} {
		d := NewDecoder()
		var ip, vlan, pppoe int
		for i, f := range readCorpus(t, name) {
			var p Packet
			if err := d.Decode(f.lt, f.data, &p); err != nil {
				t.Errorf("%s frame %d: %v at %v", name, i+1, err, p.ErrLayer)
				continue
			}
			if p.Has(FlagIP) {
				ip++
			}
			if p.VLANCount > 0 {
				vlan++
			}
			if p.Encap&EncapPPPoE != 0 {
				pppoe++
			}
			if (p.Proto == layers.IPProtocolTCP || p.Proto == layers.IPProtocolUDP) && !p.Has(FlagPorts) {
				t.Errorf("%s frame %d: no ports", name, i+1)
			}
		}
		switch name {
		case "ndpi-ultrasurf-vlan.pcap":
			if vlan != 333 {
				t.Errorf("%s: %d VLAN frames, want 333", name, vlan)
			}
		case "zeek-pppoe-over-qinq.pcap":
			if pppoe == 0 || vlan != pppoe {
				t.Errorf("%s: %d PPPoE, %d VLAN frames", name, pppoe, vlan)
			}
		}
		if ip == 0 {
			t.Errorf("%s: no IP frames", name)
		}
	}
}
