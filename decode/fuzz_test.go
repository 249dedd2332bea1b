package decode

import (
	"path/filepath"
	"reflect"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gopacket/gopacket/layers"
)

// fuzzLinkTypes are the link types FuzzDecode tries every input with.
var fuzzLinkTypes = []layers.LinkType{
	layers.LinkTypeEthernet, layers.LinkTypeNull, layers.LinkTypeLoop, layers.LinkTypeRaw,
	layers.LinkTypeIPv4, layers.LinkTypeIPv6, layers.LinkTypeLinuxSLL, layers.LinkTypeLinuxSLL2,
}

// FuzzDecode decodes arbitrary bytes as every supported link type. It must
// never panic, the fast path must agree with the gopacket path, and the
// payload must lie within the frame. The seed corpus under
// testdata/fuzz/FuzzDecode holds corpus frames of every link type; the
// first frames of the synthetic ERSPAN captures (types I, II, III, with
// and without the platform subheader, cut by a snap length) seed the GRE
// and ERSPAN decoding.
func FuzzDecode(f *testing.F) {
	for _, name := range []string{"ndpi-ultrasurf-vlan.pcap", "zeek-pppoe-over-qinq.pcap", "tls-subjectaltname.pcap"} {
		for i, fr := range readCorpus(f, name) {
			if i%200 == 0 {
				f.Add(fr.data)
			}
		}
	}
	mirror := mirrorSamples(f)
	for _, file := range append(mirror, mirrorSynth) {
		for i, fr := range readCapture(f, file) {
			if i < 2 {
				f.Add(fr.data)
			}
		}
	}
	// The sequence families' headers: ESP, ESP in UDP, GTP-U with the S
	// flag (and an extension header), ICMP and ICMPv6 echo.
	seq := seqSamples(f)
	for _, name := range synth.SeqSamples {
		for i, fr := range readCapture(f, filepath.Join(seq, name)) {
			if i < 4 {
				f.Add(fr.data)
			}
		}
	}
	for _, fr := range echoFrames(f) {
		f.Add(fr)
	}
	fast, slow := NewDecoder(), NewDecoder()
	slow.noFast = true
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, lt := range fuzzLinkTypes {
			var a, b Packet
			ea := fast.Decode(lt, data, &a)
			eb := slow.Decode(lt, data, &b)
			if ea != eb || !reflect.DeepEqual(a, b) {
				t.Fatalf("link %v: fast %v %+v\ngopacket %v %+v", lt, ea, a, eb, b)
			}
			if len(a.Payload) > len(data) {
				t.Fatalf("payload %d bytes from a %d-byte frame", len(a.Payload), len(data))
			}
			if a.VLANCount < 2 && a.VLAN[1] != 0 {
				t.Fatalf("VLAN %v with count %d", a.VLAN, a.VLANCount)
			}
		}
	})
}
