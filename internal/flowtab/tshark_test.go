package flowtab_test

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

const corpusDir = "../../testdata/corpus"

// frameResult is what the decoder and flow table said about one frame.
type frameResult struct {
	flowID uint64
	dir    flow.Direction
	tcp    bool // the frame's flow is a TCP flow
	wire   int
}

// ended is a flow as reported by OnEnd.
type ended struct {
	id      uint64
	key     flow.Key
	init    netip.AddrPort
	packets [2]uint64
	bytes   [2]uint64
	reason  flow.Reason
}

// runCapture decodes every frame of a pcap file and runs it through a
// flow table; it returns per-frame results (index 0 = frame 1) and the
// flows in the order they ended.
func runCapture(t testing.TB, path string, opt flowtab.Options[struct{}]) ([]frameResult, []ended, *flowtab.Table[struct{}]) {
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
	var flows []ended
	opt.OnEnd = func(fl *flowtab.Flow[struct{}]) {
		flows = append(flows, ended{fl.ID, fl.Key, fl.Initiator(), fl.Packets, fl.Bytes, fl.Reason})
	}
	tab := flowtab.NewTable(opt)
	dec := decode.NewDecoder()
	var p decode.Packet
	var res []frameResult
	for {
		data, ci, err := r.ZeroCopyReadPacketData()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s frame %d: %v", path, len(res)+1, err)
		}
		_ = dec.Decode(r.LinkType(), data, &p)
		p.OrigLen = ci.Length
		fl, dir := tab.Lookup(&p, ci.Timestamp.UnixNano())
		res = append(res, frameResult{fl.ID, dir, fl.Key.Proto == uint8(layers.IPProtocolTCP) && fl.Key.IPVersion != 0, p.WireLen()})
	}
	tab.Flush()
	return res, flows, tab
}

// tsharkStreams returns, per frame number, Wireshark's tcp.stream (-1 for
// frames that are not TCP) and frame.len.
func tsharkStreams(t testing.TB, path string) (stream map[int]int, length map[int]int) {
	t.Helper()
	ts := testenv.NeedTool(t, "tshark")
	out, err := exec.Command(ts, "-n", "-r", path, "-Y", "tcp && !icmp && !icmpv6",
		"-T", "fields", "-e", "frame.number", "-e", "tcp.stream", "-e", "frame.len").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	stream, length = map[int]int{}, map[int]int{}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		fs := strings.Split(sc.Text(), "\t")
		if len(fs) != 3 {
			t.Fatalf("tshark line %q", sc.Text())
		}
		n, _ := strconv.Atoi(fs[0])
		s, _ := strconv.Atoi(fs[1])
		l, _ := strconv.Atoi(fs[2])
		stream[n], length[n] = s, l
	}
	return stream, length
}

// convRow is one row of tshark -z conv,tcp.
type convRow struct {
	a, b         netip.AddrPort
	fromB, fromA int
	total        int
}

func parseAddrPort(t testing.TB, s string) netip.AddrPort {
	i := strings.LastIndexByte(s, ':')
	a, err := netip.ParseAddr(strings.Trim(s[:i], "[]"))
	if err != nil {
		t.Fatalf("conv address %q: %v", s, err)
	}
	port, err := strconv.Atoi(s[i+1:])
	if err != nil {
		t.Fatalf("conv port %q: %v", s, err)
	}
	return netip.AddrPortFrom(a, uint16(port))
}

func tsharkConv(t testing.TB, path string) []convRow {
	t.Helper()
	ts := testenv.NeedTool(t, "tshark")
	out, err := exec.Command(ts, "-n", "-q", "-r", path, "-z", "conv,tcp").Output()
	if err != nil {
		t.Fatalf("tshark conv: %v", err)
	}
	var rows []convRow
	for _, line := range strings.Split(string(out), "\n") {
		fs := strings.Fields(line)
		if len(fs) < 12 || fs[1] != "<->" {
			continue
		}
		// A <-> B  framesB→A bytes unit  framesA→B bytes unit  total bytes unit ...
		num := func(i int) int {
			n, err := strconv.Atoi(fs[i])
			if err != nil {
				t.Fatalf("conv line %q field %d: %v", line, i, err)
			}
			return n
		}
		rows = append(rows, convRow{parseAddrPort(t, fs[0]), parseAddrPort(t, fs[2]), num(3), num(6), num(9)})
	}
	return rows
}

var tsharkCorpus = []struct {
	file     string
	linkType layers.LinkType
	minFlows int // TCP conversations expected (sanity check of the corpus)
}{
	{"tls-subjectaltname.pcap", layers.LinkTypeEthernet, 68},
	{"ndpi-ultrasurf-vlan.pcap", layers.LinkTypeEthernet, 3},
	{"zeek-pppoe-over-qinq.pcap", layers.LinkTypeEthernet, 1},
	{"ndpi-quickplay-sll.pcap", layers.LinkTypeLinuxSLL, 21},
	{"suricata-decode-sll2-02.pcap", layers.LinkTypeLinuxSLL2, 1},
	{"ndpi-ocs-rawip.pcap", layers.LinkTypeRaw, 12},
	{"suricata-http-range-multiflows-null.pcap", layers.LinkTypeNull, 41},
	{"ndpi-tumblr-ipv6.pcap", layers.LinkTypeEthernet, 47},
	{"zeek-echo-connections.pcap", layers.LinkTypeEthernet, 500},
}

// TestTCPStreamsMatchTshark checks, frame by frame, that the TCP flows are
// exactly Wireshark's tcp.stream conversations (same frames, numbered in
// the same order), that each flow's frame and byte counters equal the
// frames and summed frame.len of its tcp.stream, and that per-direction
// frame counts equal tshark -z conv,tcp.
func TestTCPStreamsMatchTshark(t *testing.T) {
	for _, tc := range tsharkCorpus {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join(corpusDir, tc.file)
			stream, length := tsharkStreams(t, path)
			res, flows, _ := runCapture(t, path, flowtab.Options[struct{}]{})

			// Frame by frame: the same frames are TCP, and the k-th TCP flow
			// (in flow-id order) is tcp.stream k.
			var tcpIDs []uint64
			seen := map[uint64]bool{}
			for _, r := range res {
				if r.tcp && !seen[r.flowID] {
					seen[r.flowID] = true
					tcpIDs = append(tcpIDs, r.flowID)
				}
			}
			rank := map[uint64]int{}
			for k, id := range tcpIDs {
				rank[id] = k
			}
			for i, r := range res {
				n := i + 1
				s, isTCP := stream[n]
				if isTCP != r.tcp {
					t.Fatalf("frame %d: tshark TCP=%v, ours TCP=%v", n, isTCP, r.tcp)
				}
				if !isTCP {
					continue
				}
				if rank[r.flowID] != s {
					t.Fatalf("frame %d: tcp.stream %d, our flow %d is TCP flow #%d", n, s, r.flowID, rank[r.flowID])
				}
				if length[n] != r.wire {
					t.Fatalf("frame %d: frame.len %d, ours %d", n, length[n], r.wire)
				}
			}
			if len(tcpIDs) < tc.minFlows {
				t.Fatalf("%d TCP flows, want at least %d", len(tcpIDs), tc.minFlows)
			}

			// Flow counters against tshark's per-stream sums.
			wantFrames := map[int]uint64{}
			wantBytes := map[int]uint64{}
			for n, s := range stream {
				wantFrames[s]++
				wantBytes[s] += uint64(length[n])
			}
			byID := map[uint64]ended{}
			for _, f := range flows {
				byID[f.id] = f
				if f.reason != flow.ReasonEndOfCapture {
					t.Errorf("flow %d ended %v without timeouts", f.id, f.reason)
				}
			}
			for k, id := range tcpIDs {
				f := byID[id]
				if got := f.packets[0] + f.packets[1]; got != wantFrames[k] {
					t.Errorf("stream %d (%v): %d frames, tshark %d", k, f.key, got, wantFrames[k])
				}
				if got := f.bytes[0] + f.bytes[1]; got != wantBytes[k] {
					t.Errorf("stream %d (%v): %d bytes, tshark %d", k, f.key, got, wantBytes[k])
				}
			}

			// tshark -z conv,tcp rows, matched by 5-tuple (rows with the
			// same tuple, from port reuse, are matched in order).
			rows := tsharkConv(t, path)
			if len(rows) != len(tcpIDs) {
				t.Fatalf("conv,tcp has %d rows, we have %d TCP flows", len(rows), len(tcpIDs))
			}
			type tuple struct{ a, b netip.AddrPort }
			ours := map[tuple][]ended{}
			for _, id := range tcpIDs {
				f := byID[id]
				a := netip.AddrPortFrom(f.key.AddrA(), f.key.PortA)
				b := netip.AddrPortFrom(f.key.AddrB(), f.key.PortB)
				ours[tuple{a, b}] = append(ours[tuple{a, b}], f)
			}
			got := map[tuple][][3]int{}
			want := map[tuple][][3]int{}
			for tu, fs := range ours {
				for _, f := range fs {
					fwd, rev := int(f.packets[flow.Forward]), int(f.packets[flow.Reverse])
					got[tu] = append(got[tu], [3]int{fwd, rev, fwd + rev})
				}
			}
			for _, r := range rows {
				// conv,tcp's A is the sender of the conversation's first
				// frame, like our Forward direction.
				a, b := r.a, r.b
				ca, cb := a, b
				if cb.Addr().Less(ca.Addr()) || (ca.Addr() == cb.Addr() && cb.Port() < ca.Port()) {
					ca, cb = cb, ca
				}
				want[tuple{ca, cb}] = append(want[tuple{ca, cb}], [3]int{r.fromA, r.fromB, r.total})
			}
			for tu, w := range want {
				g := got[tu]
				sortTriples(w)
				sortTriples(g)
				if len(g) != len(w) {
					t.Errorf("%v: tshark %v, ours %v", tu, w, g)
					continue
				}
				for i := range w {
					if w[i] != g[i] {
						t.Errorf("%v: tshark (fwd, rev, total) %v, ours %v", tu, w, g)
						break
					}
				}
			}
		})
	}
}

func sortTriples(s [][3]int) {
	sort.Slice(s, func(i, j int) bool {
		for k := 0; k < 3; k++ {
			if s[i][k] != s[j][k] {
				return s[i][k] < s[j][k]
			}
		}
		return false
	})
}
