package analyze

import (
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/selection"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const corpusDir = "../testdata/corpus"

// tcpdumpSelect writes the frames of file that tcpdump selects with expr
// to a pcap and returns its path and how many it holds (counted by
// gopacket's reader); ok is false when tcpdump refuses the expression.
func tcpdumpSelect(t *testing.T, file, expr string) (out string, n int, ok bool) {
	t.Helper()
	td := testenv.NeedTool(t, "tcpdump")
	out = filepath.Join(t.TempDir(), "sel.pcap")
	cmd := exec.Command(td, "-r", file, "-w", out, "--", expr)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Logf("tcpdump %q: %v: %s", expr, err, b)
		return "", 0, false
	}
	return out, countFrames(t, out), true
}

// countFrames counts the records of a pcap file with gopacket.
func countFrames(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for {
		_, _, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			return n
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		n++
	}
}

var filterFiles = []string{
	"tls-subjectaltname.pcap",                  // Ethernet
	"ndpi-ultrasurf-vlan.pcap",                 // Ethernet with 802.1Q
	"ndpi-quickplay-sll.pcap",                  // Linux cooked
	"suricata-decode-sll2-02.pcap",             // Linux cooked v2
	"ndpi-ocs-rawip.pcap",                      // raw IP
	"suricata-http-range-multiflows-null.pcap", // BSD loopback
	"ndpi-tumblr-ipv6.pcap",                    // IPv6
	"ndpi-sites-22if.pcapng",                   // pcapng, 22 interfaces
	"sipp-g711a-rtp.pcap",                      // SIP and RTP over UDP
}

var filterExprs = []string{
	"tcp",
	"udp",
	"ip6",
	"tcp port 443",
	"port 53",
	"tcp[tcpflags] & tcp-syn != 0",
	"not tcp",
	"vlan",
	"icmp or arp",
	"udp and portrange 1024-65535",
	"net 10.0.0.0/8 or net 192.168.0.0/16",
	"src port 80 or src port 443",
}

// TestFilterMatchesTcpdump: for a dozen filters over corpus captures of
// every link type gapan decodes, the frames the selection gives to the
// accounting are as many as tcpdump selects, on both paths; the capture
// totals still count every frame (a filter hides no capture fact); a
// filter tcpdump refuses for the link type is refused with ErrFilter.
func TestFilterMatchesTcpdump(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	for _, file := range filterFiles {
		path := filepath.Join(corpusDir, file)
		_, all, ok := tcpdumpSelect(t, path, "")
		if !ok {
			t.Fatalf("tcpdump cannot read %s", file)
		}
		for _, expr := range filterExprs {
			t.Run(file+"/"+expr, func(t *testing.T) {
				_, want, ok := tcpdumpSelect(t, path, expr)
				for _, workers := range []int{1, 2} {
					r, err := Run(Config{Captures: []string{path}, KernelDrops: -1, Workers: workers,
						Select: selection.Select{Filter: expr}, Engine: loss.Config{KeepFlows: true}})
					if !ok {
						if !errors.Is(err, selection.ErrFilter) {
							t.Fatalf("tcpdump refuses %q, gapan: %v", expr, err)
						}
						return
					}
					if err != nil {
						t.Fatal(err)
					}
					if r.Selected != uint64(want) {
						t.Errorf("workers %d: %d frames selected, tcpdump %d", workers, r.Selected, want)
					}
					if r.Summary.FramesCaptured != uint64(all) {
						t.Errorf("workers %d: %d frames captured, want every frame: %d", workers, r.Summary.FramesCaptured, all)
					}
					var packets uint64
					for _, fl := range r.Summary.List {
						packets += fl.Packets
					}
					if packets != r.Selected {
						t.Errorf("workers %d: flows hold %d packets, %d frames selected", workers, packets, r.Selected)
					}
				}
			})
		}
	}
}

// conversation is a TCP conversation's endpoints, in a fixed order.
type conversation [2]netip.AddrPort

func convOf(a, b netip.AddrPort) conversation {
	if b.Compare(a) < 0 {
		a, b = b, a
	}
	return conversation{a, b}
}

// tsharkConvPackets returns, per pair of endpoints, the frames of tshark's
// -z conv,tcp (conversations with the same endpoints summed).
func tsharkConvPackets(t *testing.T, path string) map[conversation]uint64 {
	t.Helper()
	ts := testenv.NeedTool(t, "tshark")
	out, err := exec.Command(ts, "-n", "-q", "-r", path, "-z", "conv,tcp").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	m := map[conversation]uint64{}
	for _, line := range strings.Split(string(out), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 12 || fs[1] != "<->" {
			continue
		}
		a, err1 := netip.ParseAddrPort(bracket(fs[0]))
		b, err2 := netip.ParseAddrPort(bracket(fs[2]))
		n, err3 := strconv.ParseUint(fs[9], 10, 64) // A <-> B, frames and bytes B→A, A→B, then total frames
		if err := errors.Join(err1, err2, err3); err != nil {
			t.Fatalf("conv line %q: %v", line, err)
		}
		m[convOf(a, b)] += n
	}
	return m
}

// bracket writes an IPv6 "addr:port" as "[addr]:port".
func bracket(s string) string {
	i := strings.LastIndexByte(s, ':')
	if strings.Count(s, ":") > 1 && !strings.HasPrefix(s, "[") {
		return "[" + s[:i] + "]" + s[i:]
	}
	return s
}

// TestFilterFlowsMatchTshark: under a filter, each TCP conversation's
// packets in gapan's flows equal tshark's -z conv,tcp over the frames
// tcpdump selects with the same filter.
func TestFilterFlowsMatchTshark(t *testing.T) {
	testenv.NeedTool(t, "tshark")
	cases := []struct{ file, expr string }{
		{"tls-subjectaltname.pcap", "tcp port 443"},
		{"tls-subjectaltname.pcap", "tcp and not port 443"},
		{"ndpi-tumblr-ipv6.pcap", "ip6 and tcp"},
		{"ndpi-quickplay-sll.pcap", "tcp and (tcp[tcpflags] & tcp-push != 0)"},
		{"suricata-http-range-multiflows-null.pcap", "tcp dst port 8000"},
	}
	for _, tc := range cases {
		t.Run(tc.file+"/"+tc.expr, func(t *testing.T) {
			path := filepath.Join(corpusDir, tc.file)
			sel, n, ok := tcpdumpSelect(t, path, tc.expr)
			if !ok || n == 0 {
				t.Fatalf("tcpdump selects nothing with %q", tc.expr)
			}
			want := tsharkConvPackets(t, sel)
			r, err := Run(Config{Captures: []string{path}, KernelDrops: -1,
				Select: selection.Select{Filter: tc.expr}, Engine: loss.Config{KeepFlows: true}})
			if err != nil {
				t.Fatal(err)
			}
			got := map[conversation]uint64{}
			for _, fl := range r.Summary.List {
				if fl.Proto != "tcp" {
					continue
				}
				a := netip.AddrPortFrom(netip.MustParseAddr(fl.SrcIP), fl.SrcPort)
				b := netip.AddrPortFrom(netip.MustParseAddr(fl.DstIP), fl.DstPort)
				got[convOf(a, b)] += fl.PacketsFwd + fl.PacketsRev
			}
			if len(want) == 0 || fmt.Sprint(sorted(got)) != fmt.Sprint(sorted(want)) {
				t.Errorf("per-conversation packets differ:\ngapan  %v\ntshark %v", sorted(got), sorted(want))
			}
		})
	}
}

func sorted(m map[conversation]uint64) []string {
	var out []string
	for k, v := range m {
		out = append(out, fmt.Sprintf("%v-%v:%d", k[0], k[1], v))
	}
	slices.Sort(out)
	return out
}

// TestFilterPerLinkType: a pcapng with an Ethernet and a raw-IP interface
// is filtered with the program compiled for each frame's link type: the
// frames selected are as many as tcpdump selects in each part alone.
func TestFilterPerLinkType(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	dir := t.TempDir()
	parts := []struct {
		file string
		link layers.LinkType
	}{{"tls-subjectaltname.pcap", layers.LinkTypeEthernet}, {"ndpi-ocs-rawip.pcap", layers.LinkTypeRaw}}
	type rec struct {
		data []byte
		ci   gopacket.CaptureInfo
	}
	var recs [2][]rec
	var heads [2]string
	for i, p := range parts {
		f, err := os.Open(filepath.Join(corpusDir, p.file))
		if err != nil {
			t.Fatal(err)
		}
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		heads[i] = filepath.Join(dir, fmt.Sprintf("part%d.pcap", i))
		hf, err := os.Create(heads[i])
		if err != nil {
			t.Fatal(err)
		}
		w := pcapgo.NewWriter(hf)
		if err := w.WriteFileHeader(262144, p.link); err != nil {
			t.Fatal(err)
		}
		for len(recs[i]) < 400 {
			data, ci, err := r.ReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			if err := w.WritePacket(ci, data); err != nil {
				t.Fatal(err)
			}
			recs[i] = append(recs[i], rec{data, ci})
		}
		f.Close()
		if err := hf.Close(); err != nil {
			t.Fatal(err)
		}
	}
	mixed := filepath.Join(dir, "mixed.pcapng")
	mf, err := os.Create(mixed)
	if err != nil {
		t.Fatal(err)
	}
	w, err := pcapgo.NewNgWriterInterface(mf, pcapgo.NgInterface{Name: "eth0", LinkType: parts[0].link, SnapLength: 262144, TimestampResolution: 9}, pcapgo.DefaultNgWriterOptions)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.AddInterface(pcapgo.NgInterface{Name: "tun0", LinkType: parts[1].link, SnapLength: 262144, TimestampResolution: 9}); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < max(len(recs[0]), len(recs[1])); i++ {
		for k := range recs {
			if i < len(recs[k]) {
				ci := recs[k][i].ci
				ci.InterfaceIndex = k
				if err := w.WritePacket(ci, recs[k][i].data); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := mf.Close(); err != nil {
		t.Fatal(err)
	}
	for _, expr := range []string{"tcp", "udp port 53", "tcp[tcpflags] & tcp-syn != 0", "ip"} {
		want := 0
		for _, h := range heads {
			_, n, ok := tcpdumpSelect(t, h, expr)
			if !ok {
				t.Fatalf("tcpdump refuses %q", expr)
			}
			want += n
		}
		for _, workers := range []int{1, 2} {
			r, err := Run(Config{Captures: []string{mixed}, KernelDrops: -1, Workers: workers, Select: selection.Select{Filter: expr}, Join: join.Options{NoSidecar: true}})
			if err != nil {
				t.Fatal(err)
			}
			if r.Selected != uint64(want) {
				t.Errorf("%q workers %d: %d frames selected, tcpdump %d over the two parts", expr, workers, r.Selected, want)
			}
		}
	}
}

// TestFilterWholeFlowSameFigures: a filter that selects whole TCP
// connections leaves each one's figures (packets, bytes, the TCP
// evidence) as the unfiltered run has them: a flow's figures come from
// its own frames only. The flows' frame numbers stay those of the file.
func TestFilterWholeFlowSameFigures(t *testing.T) {
	testenv.NeedTool(t, "tcpdump")
	path := filepath.Join(corpusDir, "tls-subjectaltname.pcap")
	run := func(sel selection.Select) map[string]*loss.Flow {
		r, err := Run(Config{Captures: []string{path}, KernelDrops: -1, Select: sel, Engine: loss.Config{KeepFlows: true}})
		if err != nil {
			t.Fatal(err)
		}
		m := map[string]*loss.Flow{}
		for _, fl := range r.Summary.List {
			m[fmt.Sprintf("%s %s:%d %s:%d", fl.Proto, fl.SrcIP, fl.SrcPort, fl.DstIP, fl.DstPort)] = fl
		}
		return m
	}
	all := run(selection.Select{})
	sel := run(selection.Select{Filter: "tcp and host 138.201.208.22"})
	if len(sel) < 5 {
		t.Fatalf("%d flows selected, want the dozen connections to 138.201.208.22", len(sel))
	}
	for k, got := range sel {
		want, ok := all[k]
		switch {
		case !ok:
			t.Errorf("%s: not in the unfiltered run", k)
		case got.Counters != want.Counters || got.FirstFrame != want.FirstFrame || got.LastFrame != want.LastFrame:
			t.Errorf("%s:\n filtered   %+v frames %d..%d\n unfiltered %+v frames %d..%d", k, got.Counters, got.FirstFrame, got.LastFrame, want.Counters, want.FirstFrame, want.LastFrame)
		}
	}
}
