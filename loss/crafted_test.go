package loss_test

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

// seg is one crafted TCP segment of a conversation between A
// (10.9.0.1:40000) and B (10.9.0.2:80); sequence numbers are relative to
// the ISNs below.
type seg struct {
	fromB      bool
	syn, fin   bool
	rst        bool
	seq, ack   uint32
	len        int
	win        uint16
	ipid       uint16
	sack       [][2]uint32 // relative SACK blocks
	notCapture bool        // sent but not in the capture
}

const isnA, isnB = 1_000_000, 7_000_000

// craft writes the captured segments of conv to a pcap and returns its path.
func craft(t *testing.T, conv []seg) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "crafted.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	w.WriteFileHeader(65535, layers.LinkTypeEthernet)
	ts := time.Unix(1_700_000_000, 0)
	for _, s := range conv {
		ts = ts.Add(time.Millisecond)
		if s.notCapture {
			continue
		}
		src, dst := net.IP{10, 9, 0, 1}, net.IP{10, 9, 0, 2}
		sp, dp := layers.TCPPort(40000), layers.TCPPort(80)
		seqBase, ackBase := uint32(isnA), uint32(isnB)
		if s.fromB {
			src, dst, sp, dp = dst, src, dp, sp
			seqBase, ackBase = isnB, isnA
		}
		win := s.win
		if win == 0 && !s.rst {
			win = 65535
		}
		if s.win == 1 { // a window of 1 stands for "zero window"
			win = 0
		}
		tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: seqBase + s.seq, Ack: ackBase + s.ack, SYN: s.syn, FIN: s.fin, RST: s.rst,
			ACK: !(s.syn && !s.fromB), Window: win}
		if tcp.SYN {
			tcp.Seq = seqBase
		}
		for _, b := range s.sack {
			var o [8]byte
			l, r := ackBase+b[0], ackBase+b[1]
			o[0], o[1], o[2], o[3] = byte(l>>24), byte(l>>16), byte(l>>8), byte(l)
			o[4], o[5], o[6], o[7] = byte(r>>24), byte(r>>16), byte(r>>8), byte(r)
			tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: o[:]})
		}
		ip := &layers.IPv4{Version: 4, TTL: 60, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: s.ipid, Flags: layers.IPv4DontFragment}
		tcp.SetNetworkLayerForChecksum(ip)
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true},
			eth, ip, tcp, gopacket.Payload(make([]byte, s.len))); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		w.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b)
	}
	return path
}

// handshake returns a SYN, SYN/ACK, ACK.
func handshake() []seg {
	return []seg{{syn: true, ipid: 1}, {fromB: true, syn: true, ack: 1, ipid: 1}, {seq: 1, ack: 1, ipid: 2}}
}

// TestCraftedTCP pins the rules of docs/metrics.md on small conversations
// built segment by segment.
func TestCraftedTCP(t *testing.T) {
	for _, tc := range []struct {
		name string
		conv []seg
		want map[string]uint64
	}{
		{"keep-alive is not loss", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{fromB: true, seq: 1, ack: 101, ipid: 2},
			seg{seq: 100, ack: 1, len: 1, ipid: 4}, // keep-alive: one byte below what was sent
			seg{fromB: true, seq: 1, ack: 101, ipid: 3},
			seg{seq: 100, ack: 1, len: 0, ipid: 5}, // keep-alive without data
		), map[string]uint64{"retransmissions": 0, "downstream": 0, "spurious": 0, "holes": 0, "captureLost": 0}},

		{"zero-window probes are not loss", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{fromB: true, seq: 1, ack: 101, win: 1, ipid: 2}, // zero window
			seg{seq: 101, ack: 1, len: 1, ipid: 4},              // probe
			seg{fromB: true, seq: 1, ack: 101, win: 1, ipid: 3},
			seg{seq: 101, ack: 1, len: 1, ipid: 5}, // probe again
			seg{fromB: true, seq: 1, ack: 101, win: 1, ipid: 4},
			seg{seq: 101, ack: 1, len: 1, ipid: 6},
			seg{fromB: true, seq: 1, ack: 102, win: 5000, ipid: 5}, // window opens
		), map[string]uint64{"retransmissions": 0, "downstream": 0, "spurious": 0, "holes": 0, "captureLost": 0}},

		{"repacketized retransmission", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{seq: 101, ack: 1, len: 100, ipid: 4, notCapture: true}, // lost before the tap
			seg{seq: 201, ack: 1, len: 100, ipid: 5},
			seg{fromB: true, seq: 1, ack: 101, sack: [][2]uint32{{201, 301}}, ipid: 2},
			seg{seq: 101, ack: 1, len: 200, ipid: 6}, // resends 101..301 in one segment
			seg{fromB: true, seq: 1, ack: 301, ipid: 3},
		), map[string]uint64{"retransmissions": 1, "upstreamBytes": 100, "upstream": 1, "downstream": 0, "spurious": 0, "captureLost": 0}},

		{"SACK above the highest sequence seen", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{seq: 101, ack: 1, len: 100, ipid: 4, notCapture: true},
			seg{seq: 201, ack: 1, len: 100, ipid: 5, notCapture: true},
			seg{fromB: true, seq: 1, ack: 101, sack: [][2]uint32{{201, 301}}, ipid: 2}, // B has 201..301, the tap never saw it
			seg{fromB: true, seq: 1, ack: 301, ipid: 3},                                // and 101..201 too
		), map[string]uint64{"captureLostBytes": 200, "ackLost": 1, "holes": 1, "unknown": 0, "upstream": 0}},

		{"duplicate ACKs are not copies", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{fromB: true, seq: 1, ack: 101, ipid: 2},
			seg{fromB: true, seq: 1, ack: 101, ipid: 3},
			seg{fromB: true, seq: 1, ack: 101, ipid: 4},
			seg{seq: 101, ack: 1, len: 100, ipid: 4},
			seg{seq: 101, ack: 1, len: 100, ipid: 4}, // a mirror port's copy: same IP ID
		), map[string]uint64{"duplicates": 1, "retransmissions": 0}},

		{"resent before the receiver acknowledged it: downstream loss", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{seq: 1, ack: 1, len: 100, ipid: 4}, // RTO: the tap saw it, the receiver did not ack
			seg{fromB: true, seq: 1, ack: 101, ipid: 2},
		), map[string]uint64{"retransmissions": 1, "downstream": 1, "spurious": 0, "upstream": 0}},

		{"resent after the receiver acknowledged it: spurious", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{fromB: true, seq: 1, ack: 101, ipid: 2},
			seg{seq: 1, ack: 1, len: 100, ipid: 4}, // the ACK crossed the retransmission
			seg{fromB: true, seq: 1, ack: 101, sack: [][2]uint32{{1, 101}}, ipid: 3},
		), map[string]uint64{"retransmissions": 1, "downstream": 0, "spurious": 1, "upstream": 0}},

		{"lost FIN is one sequence number", append(handshake(),
			seg{seq: 1, ack: 1, len: 100, ipid: 3},
			seg{seq: 101, ack: 1, fin: true, ipid: 4, notCapture: true},
			seg{fromB: true, seq: 1, ack: 102, ipid: 2},
		), map[string]uint64{"captureLostBytes": 1, "ackLost": 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sum := run(t, craft(t, tc.conv), false)
			if len(sum.List) != 1 {
				t.Fatalf("%d flows, want 1", len(sum.List))
			}
			fl := sum.List[0]
			got := map[string]uint64{
				"retransmissions": fl.Retransmission, "downstream": fl.DownstreamLostSegments, "spurious": fl.SpuriousRetransmissions,
				"holes": fl.HoleEvents, "ackLost": fl.AckLostEvents, "captureLost": fl.CaptureLostSegments, "captureLostBytes": fl.CaptureLostBytes,
				"upstream": fl.UpstreamLostSegments, "upstreamBytes": fl.UpstreamLostBytes, "unknown": fl.UnknownSegments, "duplicates": fl.Duplicates,
			}
			for k, v := range tc.want {
				if got[k] != v {
					t.Errorf("%s = %d, want %d", k, got[k], v)
				}
			}
		})
	}
}
