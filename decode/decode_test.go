package decode

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

var (
	macA = net.HardwareAddr{0, 1, 2, 3, 4, 5}
	macB = net.HardwareAddr{0, 1, 2, 3, 4, 6}
	v4a  = net.IP{192, 0, 2, 1}
	v4b  = net.IP{198, 51, 100, 7}
	v6a  = net.ParseIP("2001:db8::1")
	v6b  = net.ParseIP("2001:db8::2")
)

func serialize(t testing.TB, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	checksums := true
	var nl gopacket.NetworkLayer
	for _, l := range ls {
		switch l := l.(type) {
		case gopacket.NetworkLayer:
			nl = l
		case *layers.TCP:
			if nl == nil {
				checksums = false
			} else {
				_ = l.SetNetworkLayerForChecksum(nl)
			}
		case *layers.UDP:
			if nl == nil {
				checksums = false
			} else {
				_ = l.SetNetworkLayerForChecksum(nl)
			}
		}
	}
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: checksums}, ls...); err != nil {
		t.Fatal(err)
	}
	return append([]byte(nil), buf.Bytes()...)
}

func eth(t layers.EthernetType) *layers.Ethernet {
	return &layers.Ethernet{SrcMAC: macA, DstMAC: macB, EthernetType: t}
}

func ip4(proto layers.IPProtocol) *layers.IPv4 {
	return &layers.IPv4{Version: 4, IHL: 5, TTL: 61, Id: 0x1234, Protocol: proto, SrcIP: v4a, DstIP: v4b}
}

func ip6(next layers.IPProtocol) *layers.IPv6 {
	return &layers.IPv6{Version: 6, HopLimit: 33, NextHeader: next, SrcIP: v6a, DstIP: v6b}
}

func tcpSYN() *layers.TCP {
	return &layers.TCP{SrcPort: 43210, DstPort: 443, Seq: 0x01020304, Ack: 0, SYN: true, Window: 64240,
		Options: []layers.TCPOption{
			{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{0x05, 0xb4}},
			{OptionType: layers.TCPOptionKindSACKPermitted, OptionLength: 2},
			{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: []byte{0, 0, 0, 9, 0, 0, 0, 7}},
			{OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}},
		}}
}

func udp(sport, dport uint16) *layers.UDP {
	return &layers.UDP{SrcPort: layers.UDPPort(sport), DstPort: layers.UDPPort(dport)}
}

func mustAddr(ip net.IP) netip.Addr {
	a, _ := netip.AddrFromSlice(ip)
	return a.Unmap()
}

func TestDecodeTCPOptions(t *testing.T) {
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), tcpSYN())
	for _, noFast := range []bool{false, true} {
		d := NewDecoder()
		d.noFast = noFast
		var p Packet
		if err := d.Decode(layers.LinkTypeEthernet, frame, &p); err != nil {
			t.Fatal(err)
		}
		want := TCP{Seq: 0x01020304, Flags: TCPSyn, Window: 64240, HeaderLen: 40,
			Opts: OptMSS | OptSACKPermitted | OptTimestamps | OptWindowScale, MSS: 1460, WindowScale: 7, TSVal: 9, TSEcr: 7}
		if p.TCP != want {
			t.Errorf("noFast=%v: TCP %+v, want %+v", noFast, p.TCP, want)
		}
		if p.Src != mustAddr(v4a) || p.Dst != mustAddr(v4b) || p.SrcPort != 43210 || p.DstPort != 443 ||
			p.TTL != 61 || p.IPID != 0x1234 || p.IPLen != 60 || p.PayloadLen != 0 || p.Payload != nil ||
			p.Flags != FlagIP|FlagPorts|FlagTCP || p.EtherType != layers.EthernetTypeIPv4 {
			t.Errorf("noFast=%v: %+v", noFast, p)
		}
	}
}

func TestDecodeSACK(t *testing.T) {
	opt := []byte{1, 1, 5, 18, 0, 0, 0, 10, 0, 0, 0, 20, 0, 0, 0, 30, 0, 0, 0, 40}
	tcp := &layers.TCP{SrcPort: 1, DstPort: 2, ACK: true, Seq: 5, Ack: 6,
		Options: []layers.TCPOption{{OptionType: layers.TCPOptionKindNop}, {OptionType: layers.TCPOptionKindNop},
			{OptionType: layers.TCPOptionKindSACK, OptionLength: 18, OptionData: opt[4:]}}}
	frame := serialize(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), tcp, gopacket.Payload([]byte("hello")))
	var p Packet
	if err := NewDecoder().Decode(layers.LinkTypeEthernet, frame, &p); err != nil {
		t.Fatal(err)
	}
	if p.TCP.SACKCount != 2 || p.TCP.SACK[0] != (SACKBlock{10, 20}) || p.TCP.SACK[1] != (SACKBlock{30, 40}) || p.TCP.Opts != OptSACK {
		t.Errorf("SACK %+v", p.TCP)
	}
	if p.PayloadLen != 5 || string(p.Payload) != "hello" {
		t.Errorf("payload %d %q", p.PayloadLen, p.Payload)
	}
}

// fragment returns an IPv4 fragment of proto with the given offset (bytes)
// and more-fragments bit, carrying body.
func fragment(t testing.TB, id uint16, offset int, more bool, body []byte) []byte {
	ip := ip4(layers.IPProtocolUDP)
	ip.Id = id
	ip.FragOffset = uint16(offset / 8)
	if more {
		ip.Flags = layers.IPv4MoreFragments
	}
	return serialize(t, eth(layers.EthernetTypeIPv4), ip, gopacket.Payload(body))
}

func TestIPv4Fragments(t *testing.T) {
	// A UDP datagram 5000 -> 53 split in three; a fragment of another
	// datagram (other id) has no first fragment seen.
	first := make([]byte, 16)
	binary.BigEndian.PutUint16(first[0:], 5000)
	binary.BigEndian.PutUint16(first[2:], 53)
	binary.BigEndian.PutUint16(first[4:], 8+40)
	frames := [][]byte{
		fragment(t, 77, 0, true, first),
		fragment(t, 77, 16, true, make([]byte, 16)),
		fragment(t, 78, 16, false, make([]byte, 8)),
		fragment(t, 77, 32, false, make([]byte, 8)),
	}
	want := []struct {
		flags      Flags
		sport      uint16
		dport      uint16
		fragOffset uint32
	}{
		{FlagIP | FlagPorts | FlagFragment | FlagMoreFragments, 5000, 53, 0},
		{FlagIP | FlagPorts | FlagFragment | FlagMoreFragments | FlagPortsFromFragment, 5000, 53, 16},
		{FlagIP | FlagFragment, 0, 0, 16},
		{FlagIP | FlagPorts | FlagFragment | FlagPortsFromFragment, 5000, 53, 32},
	}
	d := NewDecoder()
	for i, f := range frames {
		var p Packet
		if err := d.Decode(layers.LinkTypeEthernet, f, &p); err != nil {
			t.Fatalf("frame %d: %v", i, err)
		}
		w := want[i]
		if p.Flags != w.flags || p.SrcPort != w.sport || p.DstPort != w.dport || p.FragOffset != w.fragOffset || p.Proto != layers.IPProtocolUDP {
			t.Errorf("frame %d: flags %b ports %d>%d off %d, want %+v", i, p.Flags, p.SrcPort, p.DstPort, p.FragOffset, w)
		}
	}
}

// TestFragmentCacheDeterministic: which later fragments find their first
// fragment's ports, once datagrams collide in the fixed-size cache, is the
// same in every Decoder (and so in every run): 3,000 first fragments, then
// the later fragments of all of them, through two Decoders.
func TestFragmentCacheDeterministic(t *testing.T) {
	first := make([]byte, 16)
	binary.BigEndian.PutUint16(first[0:], 5000)
	binary.BigEndian.PutUint16(first[2:], 53)
	binary.BigEndian.PutUint16(first[4:], 8+16)
	const n = 3000
	var frames [][]byte
	for id := 1; id <= n; id++ {
		frames = append(frames, fragment(t, uint16(id), 0, true, first))
	}
	for id := 1; id <= n; id++ {
		frames = append(frames, fragment(t, uint16(id), 16, false, make([]byte, 8)))
	}
	found := func(d *Decoder) []bool {
		var got []bool
		for i, f := range frames {
			var p Packet
			if err := d.Decode(layers.LinkTypeEthernet, f, &p); err != nil {
				t.Fatalf("frame %d: %v", i, err)
			}
			if i >= n {
				got = append(got, p.Flags&FlagPortsFromFragment != 0)
			}
		}
		return got
	}
	a, b := found(NewDecoder()), found(NewDecoder())
	hits := 0
	for i := range a {
		if a[i] != b[i] {
			t.Fatalf("later fragment of datagram %d: ports found %v by one Decoder, %v by another", i+1, a[i], b[i])
		}
		if a[i] {
			hits++
		}
	}
	// 3,000 datagrams in 1,024 slots: some, not all, survive.
	if hits == 0 || hits >= n || hits > fragCacheSize {
		t.Errorf("%d of %d later fragments found their ports", hits, n)
	}
}

func TestIPv6ExtensionHeaders(t *testing.T) {
	// Hop-by-hop (PadN), destination options, routing type 0 segments-left 0,
	// fragment header (atomic), then TCP.
	hbh := []byte{60, 0, 1, 4, 0, 0, 0, 0}             // next: dest opts
	dst := []byte{43, 0, 1, 4, 0, 0, 0, 0}             // next: routing
	rt := []byte{44, 0, 0, 0, 0, 0, 0, 0}              // next: fragment
	frag := []byte{6, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef} // atomic, next TCP
	tcpb := serialize(t, &layers.TCP{SrcPort: 80, DstPort: 1025, Seq: 9, ACK: true, Ack: 3, DataOffset: 5})
	body := append(append(append(append(append([]byte{}, hbh...), dst...), rt...), frag...), tcpb...)
	body = append(body, []byte("data")...)
	frame := serialize(t, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6HopByHop), gopacket.Payload(body))
	var p Packet
	if err := NewDecoder().Decode(layers.LinkTypeEthernet, frame, &p); err != nil {
		t.Fatal(err)
	}
	if p.Proto != layers.IPProtocolTCP || p.SrcPort != 80 || p.DstPort != 1025 || p.TCP.Seq != 9 || p.PayloadLen != 4 ||
		p.IPID != 0xdeadbeef || p.Flags != FlagIP|FlagPorts|FlagTCP || p.TTL != 33 || p.Src != mustAddr(v6a) {
		t.Errorf("%+v", p)
	}

	// IPv6 fragments: first carries UDP ports, the later one inherits them.
	udpHdr := []byte{0x13, 0x88, 0x00, 0x35, 0, 100, 0, 0}
	f1 := append([]byte{17, 0, 0, 1, 0, 0, 0, 5}, udpHdr...) // offset 0, M=1, id 5
	f2 := append([]byte{17, 0, 0, 16, 0, 0, 0, 5}, make([]byte, 8)...)
	d := NewDecoder()
	for i, body := range [][]byte{f1, f2} {
		frame := serialize(t, eth(layers.EthernetTypeIPv6), ip6(layers.IPProtocolIPv6Fragment), gopacket.Payload(body))
		var p Packet
		if err := d.Decode(layers.LinkTypeEthernet, frame, &p); err != nil {
			t.Fatal(err)
		}
		if p.SrcPort != 5000 || p.DstPort != 53 || p.Proto != layers.IPProtocolUDP || p.IPID != 5 || p.Flags&FlagFragment == 0 {
			t.Errorf("fragment %d: %+v", i, p)
		}
		if i == 1 && (p.FragOffset != 16 || p.Flags&FlagPortsFromFragment == 0) {
			t.Errorf("later fragment %+v", p)
		}
	}
}

func TestTunnels(t *testing.T) {
	inner := func() []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{ip4(layers.IPProtocolUDP), udp(1111, 2222), gopacket.Payload([]byte("x"))}
	}
	outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 9, SrcIP: net.IP{203, 0, 113, 1}, DstIP: net.IP{203, 0, 113, 2}}
	greIP := append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), withProto(outer, layers.IPProtocolGRE),
		&layers.GRE{Protocol: layers.EthernetTypeIPv4, KeyPresent: true, Key: 99}}, inner()...)
	greEth := append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), withProto(outer, layers.IPProtocolGRE),
		&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging}, eth(layers.EthernetTypeIPv4)}, inner()...)
	vx := append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), withProto(outer, layers.IPProtocolUDP), udp(40000, 4789),
		&layers.VXLAN{ValidIDFlag: true, VNI: 4242}, eth(layers.EthernetTypeIPv4)}, inner()...)
	ipip := append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), withProto(outer, layers.IPProtocolIPv4)}, inner()...)
	tests := []struct {
		name     string
		ls       []gopacket.SerializableLayer
		encap    Encap
		tunnelID uint32
	}{
		{"gre-ip", greIP, EncapGRE, 99},
		{"gre-eth", greEth, EncapGRE, 0},
		{"vxlan", vx, EncapVXLAN, 4242},
		{"ipip", ipip, EncapIPinIP, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := NewDecoder().Decode(layers.LinkTypeEthernet, serialize(t, tc.ls...), &p); err != nil {
				t.Fatal(err)
			}
			if p.Src != mustAddr(v4a) || p.Dst != mustAddr(v4b) || p.SrcPort != 1111 || p.DstPort != 2222 ||
				p.Proto != layers.IPProtocolUDP || p.PayloadLen != 1 || string(p.Payload) != "x" {
				t.Errorf("inner flow %+v", p)
			}
			if p.Encap != tc.encap || p.TunnelID != tc.tunnelID || p.TunnelSrc != netip.MustParseAddr("203.0.113.1") || p.TunnelDst != netip.MustParseAddr("203.0.113.2") {
				t.Errorf("encap %b id %d tunnel %v->%v", p.Encap, p.TunnelID, p.TunnelSrc, p.TunnelDst)
			}
		})
	}
}

func withProto(ip *layers.IPv4, proto layers.IPProtocol) *layers.IPv4 {
	c := *ip
	c.Protocol = proto
	return &c
}

func TestICMPErrors(t *testing.T) {
	// The quoted datagram: what 192.0.2.1:5000 sent to 198.51.100.7:53,
	// cut to 8 bytes of UDP as routers do.
	quoted4 := serialize(t, ip4(layers.IPProtocolUDP), udp(5000, 53), gopacket.Payload(make([]byte, 20)))[:28]
	router := net.IP{10, 9, 9, 9}
	icmp4 := serialize(t, eth(layers.EthernetTypeIPv4),
		&layers.IPv4{Version: 4, IHL: 5, TTL: 255, Protocol: layers.IPProtocolICMPv4, SrcIP: router, DstIP: v4a},
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeTimeExceeded, 0)}, gopacket.Payload(quoted4))
	quoted6 := serialize(t, ip6(layers.IPProtocolTCP), &layers.TCP{SrcPort: 7, DstPort: 8, DataOffset: 5})
	icmp6body := append([]byte{0, 0, 0, 0}, quoted6...)
	icmp6 := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(layers.ICMPv6TypeDestinationUnreachable, 4)}
	ip6h := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP("2001:db8::ff"), DstIP: v6a}
	_ = icmp6.SetNetworkLayerForChecksum(ip6h)
	icmp6f := serialize(t, eth(layers.EthernetTypeIPv6), ip6h, icmp6, gopacket.Payload(icmp6body))
	echo := serialize(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolICMPv4),
		&layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(layers.ICMPv4TypeEchoRequest, 0), Id: 1, Seq: 2})

	tests := []struct {
		name  string
		frame []byte
		want  ICMP
		flags Flags
	}{
		{"v4-time-exceeded", icmp4, ICMP{Type: 11, QuotedSrc: mustAddr(v4a), QuotedDst: mustAddr(v4b), QuotedProto: layers.IPProtocolUDP, QuotedSrcPort: 5000, QuotedDstPort: 53, QuotedIPID: 0x1234}, FlagIP | FlagICMPError | FlagQuotedPorts},
		{"v6-port-unreachable", icmp6f, ICMP{Type: 1, Code: 4, QuotedSrc: mustAddr(v6a), QuotedDst: mustAddr(v6b), QuotedProto: layers.IPProtocolTCP, QuotedSrcPort: 7, QuotedDstPort: 8}, FlagIP | FlagICMPError | FlagQuotedPorts},
		{"v4-echo", echo, ICMP{Type: 8}, FlagIP},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := NewDecoder().Decode(layers.LinkTypeEthernet, tc.frame, &p); err != nil {
				t.Fatal(err)
			}
			if p.ICMP != tc.want || p.Flags != tc.flags {
				t.Errorf("ICMP %+v flags %b, want %+v flags %b", p.ICMP, p.Flags, tc.want, tc.flags)
			}
		})
	}
}

func TestLinkLayers(t *testing.T) {
	tcpL := func() []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{ip4(layers.IPProtocolTCP), &layers.TCP{SrcPort: 1000, DstPort: 80, Seq: 1, DataOffset: 5}}
	}
	ipBytes := serialize(t, tcpL()...)
	ip6Bytes := serialize(t, ip6(layers.IPProtocolUDP), udp(1, 2))
	qinq := append([]gopacket.SerializableLayer{eth(layers.EthernetTypeQinQ),
		&layers.Dot1Q{VLANIdentifier: 100, Type: layers.EthernetTypeDot1Q},
		&layers.Dot1Q{VLANIdentifier: 200, Type: layers.EthernetTypeIPv4}}, tcpL()...)
	pppoe := append([]byte{0x11, 0x00, 0x12, 0x34, 0, byte(len(ipBytes) + 2), 0x00, 0x21}, ipBytes...)
	mpls := append([]byte{0x00, 0x01, 0x00, 0x40, 0x00, 0x02, 0x01, 0x40}, ipBytes...) // two labels, BoS on the second
	null := append([]byte{2, 0, 0, 0}, ipBytes...)
	loop := append([]byte{0, 0, 0, 2}, ipBytes...)
	sll := append([]byte{0, 0, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0, 0x08, 0x00}, ipBytes...)
	sll2 := append([]byte{0x08, 0x00, 0, 0, 0, 0, 0, 3, 0, 1, 0, 6, 0, 1, 2, 3, 4, 5, 0, 0}, ipBytes...)
	arp := serialize(t, eth(layers.EthernetTypeARP), &layers.ARP{AddrType: layers.LinkTypeEthernet, Protocol: layers.EthernetTypeIPv4,
		HwAddressSize: 6, ProtAddressSize: 4, SourceHwAddress: macA, SourceProtAddress: v4a, DstHwAddress: macB, DstProtAddress: v4b})
	tests := []struct {
		name  string
		lt    layers.LinkType
		frame []byte
		ether layers.EthernetType
		vlans [2]uint16
		nvlan uint8
		encap Encap
		nonIP bool
		dport uint16
	}{
		{"qinq", layers.LinkTypeEthernet, serialize(t, qinq...), 0x0800, [2]uint16{100, 200}, 2, 0, false, 80},
		{"pppoe", layers.LinkTypeEthernet, append(serialize(t, eth(layers.EthernetTypePPPoESession))[:14], pppoe...), 0x0800, [2]uint16{}, 0, EncapPPPoE, false, 80},
		{"mpls", layers.LinkTypeEthernet, append(serialize(t, eth(layers.EthernetTypeMPLSUnicast))[:14], mpls...), 0x0800, [2]uint16{}, 0, EncapMPLS, false, 80},
		{"null", layers.LinkTypeNull, null, 0x0800, [2]uint16{}, 0, 0, false, 80},
		{"loop", layers.LinkTypeLoop, loop, 0x0800, [2]uint16{}, 0, 0, false, 80},
		{"raw4", layers.LinkTypeRaw, ipBytes, 0x0800, [2]uint16{}, 0, 0, false, 80},
		{"raw6", layers.LinkTypeIPv6, ip6Bytes, 0x86dd, [2]uint16{}, 0, 0, false, 2},
		{"sll", layers.LinkTypeLinuxSLL, sll, 0x0800, [2]uint16{}, 0, 0, false, 80},
		{"sll2", layers.LinkTypeLinuxSLL2, sll2, 0x0800, [2]uint16{}, 0, 0, false, 80},
		{"arp", layers.LinkTypeEthernet, arp, 0x0806, [2]uint16{}, 0, 0, true, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := NewDecoder().Decode(tc.lt, tc.frame, &p); err != nil {
				t.Fatal(err)
			}
			if p.EtherType != tc.ether || p.VLAN != tc.vlans || p.VLANCount != tc.nvlan || p.Encap != tc.encap ||
				p.Has(FlagNonIP) != tc.nonIP || p.DstPort != tc.dport || p.Has(FlagIP) == tc.nonIP {
				t.Errorf("%+v", p)
			}
		})
	}
}

func TestTruncatedFrames(t *testing.T) {
	full := serialize(t, eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolTCP), tcpSYN(), gopacket.Payload(make([]byte, 100)))
	tests := []struct {
		name    string
		n       int
		err     error
		layer   Layer
		payload int
	}{
		{"payload-cut", 14 + 20 + 40 + 10, nil, LayerNone, 10},
		{"tcp-options-cut", 14 + 20 + 30, ErrTruncated, LayerTCP, 0},
		{"tcp-header-cut", 14 + 20 + 10, ErrTruncated, LayerTCP, 0},
		{"ip-cut", 14 + 10, ErrTruncated, LayerIPv4, 0},
		{"eth-cut", 10, ErrTruncated, LayerLink, 0},
	}
	for _, tc := range tests {
		for _, noFast := range []bool{false, true} {
			d := NewDecoder()
			d.noFast = noFast
			var p Packet
			err := d.Decode(layers.LinkTypeEthernet, full[:tc.n], &p)
			if err != tc.err || p.ErrLayer != tc.layer || !p.Has(FlagTruncated) || len(p.Payload) != tc.payload {
				t.Errorf("%s noFast=%v: err %v layer %v flags %b payload %d", tc.name, noFast, err, p.ErrLayer, p.Flags, len(p.Payload))
			}
			if tc.err == nil && p.PayloadLen != 100 {
				t.Errorf("%s: PayloadLen %d, want the declared 100", tc.name, p.PayloadLen)
			}
		}
	}
	var p Packet
	if err := NewDecoder().Decode(layers.LinkType(147), full, &p); err != ErrLinkType {
		t.Errorf("unknown link type: %v", err)
	}
}
