package decode

import (
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"
)

// mirrorSynth is the committed synthetic mirror sample (ERSPAN II and
// III and keyed GRE with sequence numbers, thinned by simulate).
const mirrorSynth = "../testdata/mirror/synth/mirror-loss.pcap"

// mirrorSamples writes the synthetic ERSPAN captures
// (internal/synth.WriteMirrorSamples) into a temporary directory and
// returns their paths.
func mirrorSamples(t testing.TB) []string {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteMirrorSamples(dir); err != nil {
		t.Fatal(err)
	}
	var paths []string
	for _, name := range synth.MirrorSamples {
		paths = append(paths, filepath.Join(dir, name))
	}
	return paths
}

// publicMirror are the public ERSPAN traces of tcpdump's and Zeek's
// test suites (testdata/README.md: not committed).
var publicMirror = []string{"zeek-erspanI.pcap", "zeek-erspanII.pcap", "zeek-erspanIII.pcap", "zeek-gre-erspan3-dot1q.pcap",
	"tcpdump-erspan-type-i-1.pcap", "tcpdump-erspan-type-ii-2.pcap", "tcpdump-erspan-type-ii-3.pcap",
	"tcpdump-erspan-type-iii-ft-0.pcap", "tcpdump-erspan-type-iii-ft-7.pcap", "tcpdump-erspan-type-iii-pb-1.pcap"}

// tsharkMirrorFields are the fields compared with the decoder's, each
// from its first occurrence in a frame (the outermost GRE and ERSPAN
// headers) or its last (the innermost IP and transport headers).
var tsharkMirrorFields = []string{"gre.sequence_number", "erspan.version", "erspan.spanid",
	"ip.src", "ip.dst", "ipv6.src", "ipv6.dst", "tcp.srcport", "tcp.dstport", "udp.srcport", "udp.dstport", "gre.key"}

// tsharkMirror runs tshark on file once with occurrence=occ and returns
// one row of tsharkMirrorFields per frame.
func tsharkMirror(t *testing.T, file, occ string) [][]string {
	t.Helper()
	args := []string{"-n", "-r", file, "-T", "fields", "-E", "occurrence=" + occ}
	for _, f := range tsharkMirrorFields {
		args = append(args, "-e", f)
	}
	return testenv.Tshark(t, args...)
}

// TestMirrorMatchesTshark decodes the synthetic ERSPAN captures
// (internal/synth.WriteMirrorSamples: type I; type II, one session and
// two switches sharing a session id; type III with the platform
// subheader and an 802.1Q-tagged mirrored frame, with frame type 7 (not
// Ethernet), and cut inside the platform subheader) and the committed
// sample of testdata/mirror/synth, and requires, frame by frame, the GRE
// sequence number, the ERSPAN type and session id, and the inner frame's
// addresses and ports that tshark decodes. Where tshark shows no inner IP
// header (a type III frame type other than Ethernet, a frame cut inside a
// header) the decoder's addresses are the outer ones tshark shows.
func TestMirrorMatchesTshark(t *testing.T) {
	matchMirrorTshark(t, append(mirrorSamples(t), mirrorSynth))
}

// TestMirrorMatchesTsharkPublic (opt-in: GAPAN_PUBLIC_TRACES) measures
// the same on tcpdump's and Zeek's public ERSPAN traces.
func TestMirrorMatchesTsharkPublic(t *testing.T) {
	matchMirrorTshark(t, testenv.PublicTraces(t, publicMirror...))
}

func matchMirrorTshark(t *testing.T, files []string) {
	var frames, sequenced, inner int
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			first := tsharkMirror(t, file, "f")
			last := tsharkMirror(t, file, "l")
			ours := readCapture(t, file)
			if len(ours) != len(first) {
				t.Fatalf("%d frames, tshark %d", len(ours), len(first))
			}
			d := NewDecoder()
			for i, fr := range ours {
				var p Packet
				_ = d.Decode(fr.lt, fr.data, &p)
				f, l := first[i], last[i]
				frames++
				var want Mirror
				if f[0] != "" {
					want.Seq = uint32(atoi(t, f[0]))
					want.Kind = MirrorGRE
					sequenced++
					if f[11] != "" {
						key, err := strconv.ParseUint(strings.TrimPrefix(f[11], "0x"), 16, 32)
						if err != nil {
							t.Fatalf("gre.key %q: %v", f[11], err)
						}
						want.ID = uint32(key)
					}
				}
				switch f[1] {
				case "1", "2":
					if want.Kind != MirrorNone {
						want.Kind = MirrorERSPAN2 + MirrorKind(atoi(t, f[1])-1)
						want.ID = uint32(atoi(t, f[2]))
					}
				}
				if p.Mirror != want {
					t.Errorf("frame %d: mirror %+v, tshark %+v", i+1, p.Mirror, want)
				}
				src, dst := l[3], l[4]
				if l[5] != "" {
					src, dst = l[5], l[6]
				}
				if src != "" && (p.Src != netip.MustParseAddr(src) || p.Dst != netip.MustParseAddr(dst)) {
					t.Errorf("frame %d: %v -> %v, tshark %s -> %s", i+1, p.Src, p.Dst, src, dst)
				}
				if p.Encap&EncapERSPAN != 0 {
					inner++
				}
				sport, dport := l[7], l[8]
				if sport == "" {
					sport, dport = l[9], l[10]
				}
				if sport != "" && (!p.Has(FlagPorts) || strconv.Itoa(int(p.SrcPort)) != sport || strconv.Itoa(int(p.DstPort)) != dport) {
					t.Errorf("frame %d: ports %d -> %d, tshark %s -> %s", i+1, p.SrcPort, p.DstPort, sport, dport)
				}
			}
		})
	}
	t.Logf("%d frames, %d with a GRE sequence number, %d inner frames decoded, all as tshark", frames, sequenced, inner)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatalf("tshark field %q: %v", s, err)
	}
	return n
}
