package synth

import (
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// DecodeFailures writes an Ethernet pcap of frames built with gopacket's
// layers, some of them cut short or damaged so that no decoder can read
// them whole, and returns how many frames it wrote and how many of each
// damage, by the reason gapan gives ("ipv4: truncated": the frame ends
// inside the IPv4 header; "ipv4: malformed": the IPv4 version field is
// 5; "tcp: truncated": the frame ends inside the TCP header its IPv4
// length promises). The expectation comes from how the frames were cut,
// not from gapan's decoder.
func DecodeFailures(w io.Writer) (frames int, failures map[string]uint64, err error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return 0, nil, err
	}
	// frame serializes one Ethernet/IPv4/TCP frame of seq with a 100-byte
	// payload; version is its IPv4 version field.
	frame := func(seq uint32, version uint8) ([]byte, error) {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: version, IHL: 5, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		tcp := &layers.TCP{SrcPort: 40000, DstPort: 80, Seq: seq, ACK: true, Ack: 1, Window: 1000}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		buf := gopacket.NewSerializeBuffer()
		err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, 100)))
		return buf.Bytes(), err
	}
	const eth, ipv4 = 14, 20
	type cut struct {
		reason  string // "" for a whole frame
		version uint8
		keep    int // bytes kept; 0 for all
	}
	plan := []cut{
		{"", 4, 0},
		{"ipv4: truncated", 4, eth + 12},
		{"", 4, 0},
		{"tcp: truncated", 4, eth + ipv4 + 8},
		{"ipv4: malformed", 5, 0},
		{"ipv4: truncated", 4, eth + 19},
		{"tcp: truncated", 4, eth + ipv4 + 19},
		{"", 4, 0},
		{"tcp: truncated", 4, eth + ipv4 + 1},
		{"", 4, 0},
	}
	failures = map[string]uint64{}
	ts := time.Unix(1_700_000_000, 0)
	for i, c := range plan {
		b, err := frame(uint32(1+100*i), c.version)
		if err != nil {
			return frames, nil, err
		}
		orig := len(b)
		if c.keep > 0 {
			b = b[:c.keep]
		}
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: orig}
		if err := pw.WritePacket(ci, b); err != nil {
			return frames, nil, err
		}
		frames++
		if c.reason != "" {
			failures[c.reason]++
		}
	}
	return frames, failures, nil
}
