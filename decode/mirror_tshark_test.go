package decode

import (
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
)

const mirrorDir = "../testdata/mirror"

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

// TestMirrorMatchesTshark decodes the public ERSPAN captures of
// testdata/mirror (Zeek's and tcpdump's test traces, ERSPAN types I, II
// and III) and the synthetic one of testdata/mirror/synth, and requires, frame by frame, the GRE sequence number, the
// ERSPAN type and session id, and the inner frame's addresses and ports
// that tshark decodes. Where tshark shows no inner IP header (a type III
// frame type other than Ethernet, a frame cut inside a header) the
// decoder's addresses are the outer ones tshark shows.
func TestMirrorMatchesTshark(t *testing.T) {
	files, err := filepath.Glob(filepath.Join(mirrorDir, "*.pcap"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no captures in %s: %v", mirrorDir, err)
	}
	// The synthetic sample (internal/synth.MirrorCapture: ERSPAN II and
	// III and keyed GRE with sequence numbers, thinned by simulate).
	files = append(files, filepath.Join(mirrorDir, "synth", "mirror-loss.pcap"))
	var frames, sequenced, inner int
	for _, file := range files {
		name := filepath.Base(file)
		t.Run(name, func(t *testing.T) {
			first := tsharkMirror(t, file, "f")
			last := tsharkMirror(t, file, "l")
			ours := readMirrorCapture(t, file)
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

// readMirrorCapture reads a capture of testdata/mirror (readCorpus reads
// testdata/corpus by name).
func readMirrorCapture(t testing.TB, file string) []corpusFrame {
	t.Helper()
	if _, err := os.Stat(file); err != nil {
		t.Fatal(err)
	}
	rel, err := filepath.Rel(corpusDir, file)
	if err != nil {
		t.Fatal(err)
	}
	return readCorpus(t, rel)
}
