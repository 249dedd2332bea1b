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

// TestFlowsAndBrackets checks the flow identity (a SYN with a new ISN
// starts a flow, a resent one does not) and the brackets of the original's
// own holes.
func TestFlowsAndBrackets(t *testing.T) {
	path := writeConv(t, []seg{
		{client: true, syn: true, noACK: true},              // 1
		{client: true, syn: true, noACK: true},              // 2 resent SYN: same flow
		{syn: true, ack: 1},                                 // 3
		{client: true, seq: 1, ack: 1, n: 100},              // 4 [1,101)
		{seq: 1, ack: 101},                                  // 5
		{client: true, seq: 201, ack: 1, n: 100},            // 6 hole [101,201) revealed: bracket 5..6 (after 4)
		{seq: 1, ack: 101},                                  // 7
		{client: true, seq: 101, ack: 1, n: 50},             // 8 fills part: widens the bracket to 8
		{client: true, seq: 151, ack: 1, n: 50},             // 9 fills the rest
		{seq: 1, ack: 301},                                  // 10
		{client: true, seq: 100000, syn: true, noACK: true}, // 11 a new ISN: a new flow
		{seq: 7000, ack: 100001, syn: true},                 // 12
	})
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	tr := c.Compute(nil)
	if len(tr.Flows) != 2 || tr.Flows[0].FirstFrame != 1 || tr.Flows[1].FirstFrame != 11 || tr.Flows[0].Frames != 10 || tr.Flows[1].Frames != 2 {
		t.Fatalf("flows %+v, want frames 1-10 and 11-", tr.Flows)
	}
	tt := tr.Flows[0].TCP
	if len(tt.Holes) != 1 || tt.Holes[0] != (Bracket{First: 5, Last: 8}) {
		t.Errorf("holes %v, want one with bracket 5..8", tt.Holes)
	}
	for _, tc := range []struct {
		deleted uint64
		hit     bool
	}{{3, false}, {5, true}, {7, true}, {8, true}, {10, false}} {
		tr := c.Compute(map[uint64]bool{tc.deleted: true})
		if got := tr.Flows[0].TCP.BracketHit; got != tc.hit {
			t.Errorf("frame %d deleted: bracket hit %v, want %v", tc.deleted, got, tc.hit)
		}
	}
	// Deleting the SYN that starts the second flow leaves its SYN/ACK in
	// the first: that flow is not exact (the deletions merged two flows).
	tr = c.Compute(map[uint64]bool{11: true})
	if len(tr.Flows) != 1 || tr.Flows[0].Exact || tr.Flows[0].TCP != nil || tr.Flows[0].Deleted != 1 {
		t.Errorf("without frame 11: %+v; want one flow, not exact, with the deleted frame", tr.Flows)
	}
	// Deleting the whole second flow: it vanishes, the first stays exact.
	tr = c.Compute(map[uint64]bool{11: true, 12: true})
	if len(tr.Flows) != 1 || !tr.Flows[0].Exact || len(tr.Vanished) != 1 || tr.Vanished[0].Deleted != 2 {
		t.Errorf("without frames 11-12: flows %+v, vanished %+v; want one exact flow and one vanished with 2 frames", tr.Flows, tr.Vanished)
	}
}

// TestRTPTruth checks which deleted RTP packets gapan can see missing: only
// those after the stream is confirmed (its 4th consecutive packet) and
// before its last surviving packet.
func TestRTPTruth(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rtp.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	for i := range 12 {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		udp := &layers.UDP{SrcPort: 5004, DstPort: 5006}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		rtp := make([]byte, 172)
		rtp[0], rtp[1] = 0x80, 8 // version 2, PCMA
		seq := uint16(65530 + i) // wraps
		rtp[2], rtp[3] = byte(seq>>8), byte(seq)
		copy(rtp[8:], []byte{0xde, 0xad, 0xbe, 0xef})
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, udp, gopacket.Payload(rtp)); err != nil {
			t.Fatal(err)
		}
		ci := gopacket.CaptureInfo{Timestamp: time.Unix(1_700_000_000, int64(i)*20e6), CaptureLength: len(buf.Bytes()), Length: len(buf.Bytes())}
		if err := w.WritePacket(ci, buf.Bytes()); err != nil {
			t.Fatal(err)
		}
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		deleted         []uint64
		streams         int
		del, detectable uint64
	}{
		{nil, 1, 0, 0},
		{[]uint64{6, 8, 9}, 1, 3, 3},        // across the sequence number wrap
		{[]uint64{2}, 1, 1, 0},              // before the confirming packet (now frame 5)
		{[]uint64{12}, 1, 1, 0},             // after the last surviving packet
		{[]uint64{2, 4, 6, 8, 10}, 1, 5, 2}, // steps of 2 still confirm, at frame 7
	} {
		del := map[uint64]bool{}
		for _, n := range tc.deleted {
			del[n] = true
		}
		fl := c.Compute(del).Flows[0]
		if fl.RTP == nil || fl.RTP.Streams != tc.streams || fl.RTP.Deleted != tc.del || fl.RTP.Detectable != tc.detectable {
			t.Errorf("deleted %v: %+v, want %d stream, %d deleted, %d detectable", tc.deleted, fl.RTP, tc.streams, tc.del, tc.detectable)
		}
	}
}

// TestKeepAliveBytes: a capture that starts mid-connection with the
// client's keep-alive (sequence number 100, one below the next byte, no
// payload), then data from 101. Deleting the data leaves the keep-alive
// as the client's first surviving segment and the server's ACK beyond
// it: the damaged capture cannot tell whether byte 100 was sent before
// the capture (as here) or lost in it, and the oracle says so with one
// KeepAliveBytes. Deleting nothing, or keeping the data, leaves no doubt.
func TestKeepAliveBytes(t *testing.T) {
	path := writeConv(t, []seg{
		{client: true, seq: 100, ack: 1},         // 1 keep-alive
		{client: true, seq: 101, ack: 1, n: 100}, // 2 [101,201)
		{seq: 1, ack: 201},                       // 3 acks it
		{client: true, seq: 201, ack: 1},         // 4 pure ACK
	})
	c, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name            string
		deleted         []uint64
		lost, keepAlive uint64
	}{
		{name: "nothing"},
		{name: "data", deleted: []uint64{2}, lost: 100, keepAlive: 1},
		{name: "keep-alive", deleted: []uint64{1}},
	} {
		del := map[uint64]bool{}
		for _, n := range tc.deleted {
			del[n] = true
		}
		tr := c.Compute(del)
		if len(tr.Flows) != 1 || tr.Flows[0].TCP == nil {
			t.Fatalf("%s: want one TCP flow, got %+v", tc.name, tr.Flows)
		}
		got := tr.Flows[0].TCP
		if got.CaptureLostBytes != tc.lost || got.KeepAliveBytes != tc.keepAlive {
			t.Errorf("%s: lost %d, keep-alive %d; want %d, %d", tc.name, got.CaptureLostBytes, got.KeepAliveBytes, tc.lost, tc.keepAlive)
		}
	}
}
