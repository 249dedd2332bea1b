package synth

import (
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// The synthetic captures of the sequence families' tests, written by
// WriteSeqSamples with gopacket's layers. Each stands for a case the
// tests need (the public test traces of tcpdump and Zeek that show them
// are not committed: testdata/README.md); what a test expects of one
// comes from the plan written here and from tshark, never from gapan.
const (
	// SampleESP: SA 0x12345678 from 192.0.2.1 to 192.0.2.2 and SA
	// 0x9abcdef0 back, numbers 1-8 each, interleaved (frame 2k-1 holds
	// number k of the first): clean streams.
	SampleESP = "esp.pcap"
	// SampleESPUDP: 8 ESP packets in UDP port 4500 (NAT traversal), SA
	// 0x12345678, numbers 1-8, after a NAT keepalive (frame 1, one 0xff
	// byte): a clean stream.
	SampleESPUDP = "esp-udp.pcap"
	// SampleGTPU: 31 G-PDUs between two gateways (192.0.2.10 and
	// 192.0.2.20, UDP 2152): TEID 0x26d7a with the S flag carries
	// numbers 0-13 at frames GTPUNumbered (4 and 5 at frames 12 and 13,
	// 9 at 22); the others are TEID 0x1 without the S flag.
	SampleGTPU = "gtpu-tunnel.pcap"
	// SampleGTPUUnnumbered: 10 G-PDUs without the S flag: no numbers.
	SampleGTPUUnnumbered = "gtpu-unnumbered.pcap"
	// SampleGTPUExt: one G-PDU with the S and E flags (a PDU session
	// container extension header), TEID 0x100657, number 5.
	SampleGTPUExt = "gtpu-ext.pcap"
	// SamplePing: 5 ICMP echo requests (identifier 1226, numbers 1-5),
	// each followed by its reply: 10 packets.
	SamplePing = "ping.pcap"
	// SamplePing6: 4 ICMPv6 echo requests (identifier 1, numbers 3-6),
	// each followed by its reply: 8 packets.
	SamplePing6 = "ping6.pcap"
	// SamplePingLE: 4 pings whose sender counts in little-endian
	// (numbers 9-12, 2304-3072 on the wire), every request sent twice
	// before its reply: 12 packets.
	SamplePingLE = "ping-le.pcap"
	// SamplePing6LE: ICMPv6 pings counted in little-endian (0-3: 0, 256,
	// 512, 768 on the wire), requests and replies, after a neighbour
	// solicitation and advertisement: 8 echo packets in 10.
	SamplePing6LE = "ping6-le.pcap"
)

// SeqSamples lists the files WriteSeqSamples writes.
var SeqSamples = []string{SampleESP, SampleESPUDP, SampleGTPU, SampleGTPUUnnumbered, SampleGTPUExt,
	SamplePing, SamplePing6, SamplePingLE, SamplePing6LE}

// GTPUNumbered are the frames (1-based) of SampleGTPU with the S flag,
// holding numbers 0, 1, ... in turn.
var GTPUNumbered = []int{3, 5, 7, 9, 12, 13, 15, 17, 19, 22, 23, 24, 25, 26}

// WriteSeqSamples writes the files of SeqSamples into dir.
func WriteSeqSamples(dir string) error {
	a, b := net.IP{192, 0, 2, 1}, net.IP{192, 0, 2, 2}
	a6, b6 := net.ParseIP("2001:db8::1"), net.ParseIP("2001:db8::2")
	gwA, gwB := net.IP{192, 0, 2, 10}, net.IP{192, 0, 2, 20}
	samples := map[string][]Packet{}
	for i := uint32(1); i <= 8; i++ {
		samples[SampleESP] = append(samples[SampleESP], ESP(a, b, 0x12345678, i), ESP(b, a, 0x9abcdef0, i))
	}
	udp := func(l ...gopacket.SerializableLayer) Packet {
		return Packet{Src: a, Dst: b, Proto: layers.IPProtocolUDP, Layers: append([]gopacket.SerializableLayer{&layers.UDP{SrcPort: 4500, DstPort: 4500}}, l...)}
	}
	samples[SampleESPUDP] = []Packet{udp(gopacket.Payload{0xff})}
	for i := uint32(1); i <= 8; i++ {
		samples[SampleESPUDP] = append(samples[SampleESPUDP], udp(ESP(a, b, 0x12345678, i).Layers...))
	}
	gtp := func(src, dst net.IP, g *layers.GTPv1U) Packet {
		g.Version, g.ProtocolType, g.MessageType = 1, 1, 0xff
		// The user's packet: an IPv4 UDP datagram.
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 45, 0, 1}, DstIP: net.IP{10, 46, 0, 1}}
		u := &layers.UDP{SrcPort: 5000, DstPort: 6000}
		if err := u.SetNetworkLayerForChecksum(ip); err != nil {
			panic(err) // an IPv4 layer is always accepted
		}
		return Packet{Src: src, Dst: dst, Proto: layers.IPProtocolUDP, Layers: []gopacket.SerializableLayer{
			&layers.UDP{SrcPort: 2152, DstPort: 2152}, g, ip, u, gopacket.Payload("a user's datagram")}}
	}
	next := 0
	for f := 1; f <= 31; f++ {
		if next < len(GTPUNumbered) && GTPUNumbered[next] == f {
			samples[SampleGTPU] = append(samples[SampleGTPU], gtp(gwA, gwB, &layers.GTPv1U{TEID: 0x26d7a, SequenceNumberFlag: true, SequenceNumber: uint16(next)}))
			next++
			continue
		}
		samples[SampleGTPU] = append(samples[SampleGTPU], gtp(gwB, gwA, &layers.GTPv1U{TEID: 0x1}))
	}
	for i := range 10 {
		src, dst := gwA, gwB
		if i%2 == 1 {
			src, dst = dst, src
		}
		samples[SampleGTPUUnnumbered] = append(samples[SampleGTPUUnnumbered], gtp(src, dst, &layers.GTPv1U{TEID: 0x77}))
	}
	samples[SampleGTPUExt] = []Packet{gtp(gwA, gwB, &layers.GTPv1U{TEID: 0x00100657, SequenceNumberFlag: true, SequenceNumber: 5,
		GTPExtensionHeaders: []layers.GTPExtensionHeader{{Type: 0x85, Content: []byte{0x10, 0x09}}}})}
	for i := uint16(1); i <= 5; i++ {
		samples[SamplePing] = append(samples[SamplePing], Echo(a, b, false, 1226, i), Echo(b, a, true, 1226, i))
	}
	for i := uint16(3); i <= 6; i++ {
		samples[SamplePing6] = append(samples[SamplePing6], Echo6(a6, b6, false, 1, i), Echo6(b6, a6, true, 1, i))
	}
	le := func(n uint16) uint16 { return n<<8 | n>>8 }
	for i := uint16(9); i <= 12; i++ {
		samples[SamplePingLE] = append(samples[SamplePingLE], Echo(a, b, false, 0x0100, le(i)), Echo(a, b, false, 0x0100, le(i)), Echo(b, a, true, 0x0100, le(i)))
	}
	ns := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborSolicitation, 0)}
	na := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeNeighborAdvertisement, 0)}
	samples[SamplePing6LE] = []Packet{
		{Src: a6, Dst: b6, Proto: layers.IPProtocolICMPv6, Layers: []gopacket.SerializableLayer{ns, &layers.ICMPv6NeighborSolicitation{TargetAddress: b6}}},
		{Src: b6, Dst: a6, Proto: layers.IPProtocolICMPv6, Layers: []gopacket.SerializableLayer{na, &layers.ICMPv6NeighborAdvertisement{TargetAddress: b6, Flags: 0x60}}},
	}
	for i := uint16(0); i <= 3; i++ {
		samples[SamplePing6LE] = append(samples[SamplePing6LE], Echo6(a6, b6, false, 0x2a, le(i)), Echo6(b6, a6, true, 0x2a, le(i)))
	}
	for _, name := range SeqSamples {
		if err := writeFile(filepath.Join(dir, name), func(f *os.File) error { return WritePackets(f, samples[name]) }); err != nil {
			return err
		}
	}
	return nil
}

// SeqSample writes the files of SeqSamples into dir and returns the path
// of the one named.
func SeqSample(dir, name string) (string, error) {
	return filepath.Join(dir, name), WriteSeqSamples(dir)
}

// Echo6 is an ICMPv6 echo request (or reply) of identifier id and
// number seq.
func Echo6(src, dst net.IP, reply bool, id, seq uint16) Packet {
	typ := uint8(layers.ICMPv6TypeEchoRequest)
	if reply {
		typ = layers.ICMPv6TypeEchoReply
	}
	icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
	return Packet{Src: src, Dst: dst, Proto: layers.IPProtocolICMPv6, Layers: []gopacket.SerializableLayer{icmp,
		&layers.ICMPv6Echo{Identifier: id, SeqNumber: seq}, gopacket.Payload("0123456789abcdef")}}
}

// The synthetic ERSPAN captures of the mirror tests, written by
// WriteMirrorSamples (each stands for a case of tcpdump's and Zeek's
// ERSPAN test traces, which are not committed).
const (
	// SampleERSPAN1: 4 frames of ERSPAN type I (GRE protocol 0x88BE,
	// flags 0, no ERSPAN header) from 192.0.2.1 to 198.51.100.9.
	SampleERSPAN1 = "erspan1.pcap"
	// SampleERSPAN2: type II, session 101 from 192.0.2.1, GRE numbers
	// 106954-107061 (108 frames): a clean session.
	SampleERSPAN2 = "erspan2.pcap"
	// SampleERSPAN2TwoSwitches: type II from two switches (192.168.195.67
	// and .73) on the same session id 1, interleaved, numbers 1-8 each:
	// two clean sessions.
	SampleERSPAN2TwoSwitches = "erspan2-two-switches.pcap"
	// SampleERSPAN3Dot1Q: 2 frames of type III without the GRE S bit,
	// session 3, with the platform subheader (O bit, platform id 3), the
	// mirrored frame 802.1Q-tagged (VLAN 100).
	SampleERSPAN3Dot1Q = "erspan3-dot1q.pcap"
	// SampleERSPAN3FT7: type III, frame type 7 (not Ethernet: not
	// decoded), session 101, GRE numbers 47838-47895 (58 frames).
	SampleERSPAN3FT7 = "erspan3-ft7.pcap"
	// SampleERSPAN3Cut: one raw-IPv6 frame (link type 101) with the GRE
	// S bit (number 77), session 513, cut inside the type III platform
	// subheader (O bit set) by a snap length: the number and session can
	// be read, the mirrored frame cannot.
	SampleERSPAN3Cut = "erspan3-cut.pcap"
)

// MirrorSamples lists the files WriteMirrorSamples writes.
var MirrorSamples = []string{SampleERSPAN1, SampleERSPAN2, SampleERSPAN2TwoSwitches, SampleERSPAN3Dot1Q, SampleERSPAN3FT7, SampleERSPAN3Cut}

// WriteMirrorSamples writes the files of MirrorSamples into dir.
func WriteMirrorSamples(dir string) error {
	sw, col := net.IP{192, 0, 2, 1}, net.IP{198, 51, 100, 9}
	var two []MirrorFrame
	for i := range uint32(8) {
		two = append(two, MirrorFrame{Session: 0, Seq: 1 + i, Flow: int(i % 3)}, MirrorFrame{Session: 1, Seq: 1 + i, Flow: int(i % 2)})
	}
	var ii []MirrorFrame
	for i := range uint32(108) {
		ii = append(ii, MirrorFrame{Seq: 106954 + i, Flow: int(i % 4)})
	}
	writers := map[string]func(f *os.File) error{
		SampleERSPAN2: func(f *os.File) error {
			return MirrorCapture(f, []MirrorSession{{Kind: "erspan2", Src: sw, Dst: col, ID: 101}}, ii)
		},
		SampleERSPAN2TwoSwitches: func(f *os.File) error {
			return MirrorCapture(f, []MirrorSession{{Kind: "erspan2", Src: net.IP{192, 168, 195, 67}, Dst: col, ID: 1},
				{Kind: "erspan2", Src: net.IP{192, 168, 195, 73}, Dst: col, ID: 1}}, two)
		},
	}
	udp := func(i int) []gopacket.SerializableLayer {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 1, 0, 1}, DstIP: net.IP{10, 2, 0, 1}}
		u := &layers.UDP{SrcPort: layers.UDPPort(1000 + i), DstPort: 2000}
		_ = u.SetNetworkLayerForChecksum(ip)
		return []gopacket.SerializableLayer{ip, u, gopacket.Payload(fmt.Sprintf("mirrored datagram %d", i))}
	}
	inner := func(i int, vlan bool) []gopacket.SerializableLayer {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 1, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 2, 0, 1}, EthernetType: layers.EthernetTypeIPv4}
		if !vlan {
			return append([]gopacket.SerializableLayer{eth}, udp(i)...)
		}
		eth.EthernetType = layers.EthernetTypeDot1Q
		return append([]gopacket.SerializableLayer{eth, &layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeIPv4}}, udp(i)...)
	}
	outer := func(g *layers.GRE) []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: sw, DstIP: col}, g}
	}
	// erspan3 is a type III header: session, frame type, O bit.
	erspan3 := func(session uint16, ft byte, o bool, ts uint32) []byte {
		h := make([]byte, 12)
		binary.BigEndian.PutUint16(h[0:2], 2<<12) // version 2, VLAN 0
		binary.BigEndian.PutUint16(h[2:4], session&0x3ff)
		binary.BigEndian.PutUint32(h[4:8], ts)
		h[10] = ft << 2
		if o {
			h[11] |= 1
			h = append(h, 3<<2, 0, 0, 0, 0, 0, 0x12, 0x34) // platform id 3
		}
		return h
	}
	var t1, t3q, ft7 [][]gopacket.SerializableLayer
	for i := range 4 {
		t1 = append(t1, append(outer(&layers.GRE{Protocol: 0x88be}), inner(i, false)...))
	}
	for i := range 2 {
		t3q = append(t3q, append(outer(&layers.GRE{Protocol: 0x22eb}), append([]gopacket.SerializableLayer{gopacket.Payload(erspan3(3, 0, true, uint32(i)))}, inner(i, true)...)...))
	}
	for i := range 58 {
		ft7 = append(ft7, append(outer(&layers.GRE{Protocol: 0x22eb, SeqPresent: true, Seq: 47838 + uint32(i)}),
			gopacket.Payload(erspan3(101, 7, false, uint32(i))), gopacket.Payload("frame type 7: not an Ethernet frame")))
	}
	writers[SampleERSPAN1] = func(f *os.File) error { return writeLayers(f, layers.LinkTypeEthernet, t1, 0) }
	writers[SampleERSPAN3Dot1Q] = func(f *os.File) error { return writeLayers(f, layers.LinkTypeEthernet, t3q, 0) }
	writers[SampleERSPAN3FT7] = func(f *os.File) error { return writeLayers(f, layers.LinkTypeEthernet, ft7, 0) }
	writers[SampleERSPAN3Cut] = func(f *os.File) error {
		ip6 := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolGRE, SrcIP: net.ParseIP("2001:db8::1"), DstIP: net.ParseIP("2001:db8::9")}
		fr := []gopacket.SerializableLayer{ip6, &layers.GRE{Protocol: 0x22eb, SeqPresent: true, Seq: 77},
			gopacket.Payload(erspan3(513, 0, true, 1))}
		fr = append(fr, inner(0, false)...)
		// Cut 3 bytes into the platform subheader: 40 (IPv6) + 8 (GRE)
		// + 12 (ERSPAN III) + 3.
		return writeLayers(f, layers.LinkTypeRaw, [][]gopacket.SerializableLayer{fr}, 40+8+12+3)
	}
	for _, name := range MirrorSamples {
		if err := writeFile(filepath.Join(dir, name), writers[name]); err != nil {
			return err
		}
	}
	return nil
}

// writeLayers writes a pcap of link type lt with one frame per layer
// list, 1 ms apart; with snap > 0 each frame is cut to snap bytes (its
// wire length kept).
func writeLayers(f *os.File, lt layers.LinkType, frames [][]gopacket.SerializableLayer, snap int) error {
	pw := pcapgo.NewWriter(f)
	sl := uint32(65535)
	if snap > 0 {
		sl = uint32(snap)
	}
	if err := pw.WriteFileHeader(sl, lt); err != nil {
		return err
	}
	ts := time.Unix(1_700_000_000, 0)
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for i, ls := range frames {
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
			return err
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if snap > 0 && snap < len(b) {
			b, ci.CaptureLength = b[:snap], snap
		}
		if err := pw.WritePacket(ci, b); err != nil {
			return err
		}
	}
	return nil
}

// writeFile creates path and writes it with write.
func writeFile(path string, write func(f *os.File) error) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := write(f); err != nil {
		f.Close()
		return fmt.Errorf("synth: %s: %w", filepath.Base(path), err)
	}
	return f.Close()
}
