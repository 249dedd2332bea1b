package oracle

import (
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func TestSet(t *testing.T) {
	var s set
	s.add(10, 20)
	s.add(30, 40)
	s.add(20, 25) // touches: merges
	s.add(5, 6)
	if want := (set{{5, 6}, {10, 25}, {30, 40}}); !equal(s, want) {
		t.Fatalf("add: %v, want %v", s, want)
	}
	if got, want := s.minus(set{{0, 5}, {12, 13}, {24, 35}}), (set{{5, 6}, {10, 12}, {13, 24}, {35, 40}}); !equal(got, want) {
		t.Errorf("minus: %v, want %v", got, want)
	}
	if got, want := s.intersect(set{{0, 11}, {24, 31}}), (set{{5, 6}, {10, 11}, {24, 25}, {30, 31}}); !equal(got, want) {
		t.Errorf("intersect: %v, want %v", got, want)
	}
	if got := s.size(); got != 1+15+10 {
		t.Errorf("size %d, want 26", got)
	}
	if !s.overlaps(39, 50) || s.overlaps(25, 30) {
		t.Error("overlaps is wrong at the edges")
	}
}

// seg is one frame of a crafted conversation: from the client (c) or the
// server, with seq, ack (relative to each side's ISN) and payload length.
type seg struct {
	client   bool
	seq, ack uint32
	n        int
	syn, fin bool
	noACK    bool
}

// writeConv writes a TCP conversation as an Ethernet pcap.
func writeConv(t *testing.T, segs []seg) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "conv.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	const cISN, sISN = 1000, 5000
	ts := time.Unix(1_700_000_000, 0)
	for i, s := range segs {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}, Id: uint16(i)}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, SYN: s.syn, FIN: s.fin, ACK: !s.noACK, Window: 65535}
		tcp.Seq, tcp.Ack = cISN+s.seq, sISN+s.ack
		if !s.client {
			ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
			tcp.Seq, tcp.Ack = sISN+s.seq, cISN+s.ack
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(make([]byte, s.n))); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// TestTCPTruth checks the byte-level definitions on a conversation built
// segment by segment (frame numbers in the comments).
func TestTCPTruth(t *testing.T) {
	path := writeConv(t, []seg{
		{client: true, syn: true, noACK: true},             // 1
		{syn: true, ack: 1},                                // 2 SYN/ACK
		{client: true, seq: 1, ack: 1},                     // 3
		{client: true, seq: 1, ack: 1, n: 100},             // 4 [1,101)
		{client: true, seq: 101, ack: 1, n: 100},           // 5 [101,201)
		{seq: 1, ack: 201},                                 // 6 acks both
		{client: true, seq: 201, ack: 1, n: 100},           // 7 [201,301)
		{client: true, seq: 301, ack: 1, n: 100},           // 8 [301,401)
		{client: true, seq: 201, ack: 1, n: 100},           // 9 resend of 7
		{seq: 1, ack: 401},                                 // 10
		{client: true, seq: 401, ack: 1, n: 50, fin: true}, // 11 [401,451) + FIN
		{seq: 1, ack: 452},                                 // 12
	})
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name                         string
		deleted                      []uint64
		lost, segs, recarried, undet uint64
		unknown                      uint64
		deletedData                  bool
	}{
		{name: "nothing"},
		// 5 is acknowledged by 6 and never seen again: 100 bytes.
		{name: "acked", deleted: []uint64{5}, lost: 100, segs: 1, deletedData: true},
		// 7 is resent by 9 before 10 acknowledges it.
		{name: "resent", deleted: []uint64{7}, recarried: 100, deletedData: true},
		// The FIN's sequence number counts; 12 acknowledges it.
		{name: "fin", deleted: []uint64{11}, lost: 51, segs: 1, deletedData: true},
		// Without the SYN the client's first sequence number is 1: the
		// SYN's own is undetectable.
		{name: "syn", deleted: []uint64{1}, undet: 1},
		// Without 3, 4 and 5 the first surviving client frame is 7: the
		// bytes below it are undetectable, not capture loss.
		{name: "head", deleted: []uint64{1, 3, 4, 5}, undet: 201, deletedData: true},
		// Without the acknowledgement, the deleted bytes are unknown.
		{name: "unacked", deleted: []uint64{11, 12}, unknown: 51, deletedData: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			del := map[uint64]bool{}
			for _, n := range tc.deleted {
				del[n] = true
			}
			tr := c.Compute(del)
			if len(tr.Flows) != 1 || !tr.Flows[0].Exact || tr.Flows[0].TCP == nil {
				t.Fatalf("want one exact TCP flow, got %+v", tr.Flows)
			}
			fl := tr.Flows[0]
			if fl.Deleted != uint64(len(tc.deleted)) {
				t.Errorf("deleted frames %d, want %d", fl.Deleted, len(tc.deleted))
			}
			got := fl.TCP
			if got.CaptureLostBytes != tc.lost || got.CaptureLostSegments != tc.segs || got.ReCarriedBytes != tc.recarried ||
				got.UndetectableBytes != tc.undet || got.UnknownBytes != tc.unknown || got.DeletedData != tc.deletedData {
				t.Errorf("got lost %d in %d segments, re-carried %d, undetectable %d, unknown %d, deleted data %v; want %d, %d, %d, %d, %d, %v",
					got.CaptureLostBytes, got.CaptureLostSegments, got.ReCarriedBytes, got.UndetectableBytes, got.UnknownBytes, got.DeletedData,
					tc.lost, tc.segs, tc.recarried, tc.undet, tc.unknown, tc.deletedData)
			}
			if len(got.Holes) != 0 {
				t.Errorf("the original has no hole, the oracle found %v", got.Holes)
			}
		})
	}
}
