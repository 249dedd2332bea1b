package decode

import (
	"encoding/binary"
	"errors"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Errors returned by Decode. They are returned unwrapped (no allocation);
// Packet.ErrLayer says where decoding stopped.
var (
	// ErrTruncated: the frame ended inside a header.
	ErrTruncated = errors.New("decode: frame truncated inside a header")
	// ErrMalformed: a header is invalid (bad length or version field).
	ErrMalformed = errors.New("decode: malformed header")
	// ErrLinkType: the link type is not supported.
	ErrLinkType = errors.New("decode: unsupported link type")
)

// maxLayers bounds the number of headers decoded per frame, so that crafted
// nesting (IP-in-IP-in-IP...) cannot make one frame expensive.
const maxLayers = 24

// Link types that pcap files use for raw IP besides LINKTYPE_RAW (101):
// DLT_RAW is 12 on most BSDs and 14 on OpenBSD.
const (
	linkTypeRawBSD     layers.LinkType = 12
	linkTypeRawOpenBSD layers.LinkType = 14
)

// VXLANPort is the UDP destination port decoded as VXLAN (RFC 7348).
const VXLANPort = 4789

// Decoder decodes frames into Packets. It holds preallocated gopacket layers
// and a small IPv4/IPv6 fragment cache, so a Decoder is stateful and not safe
// for concurrent use; use one per goroutine (per capture stream, so that
// later fragments find their first fragment).
type Decoder struct {
	eth   layers.Ethernet
	dot1q layers.Dot1Q
	sll   layers.LinuxSLL
	sll2  layers.LinuxSLL2
	loop  layers.Loopback
	ip4   layers.IPv4
	ext   layers.IPv6ExtensionSkipper
	frag6 layers.IPv6Fragment
	tcp   layers.TCP
	udp   layers.UDP
	icmp4 layers.ICMPv4
	icmp6 layers.ICMPv6
	gre   layers.GRE
	vxlan layers.VXLAN
	// quoted datagram of ICMP errors, decoded with their own layers so the
	// outer header's fields are not clobbered.
	qip4 layers.IPv4
	qip6 layers.IPv6
	qext layers.IPv6ExtensionSkipper

	fb  feedback
	qfb feedback

	frags fragCache

	// noFast disables the hand-written Ethernet/IP/TCP|UDP fast path (tests
	// and benchmarks compare both paths).
	noFast bool
}

// NewDecoder returns a Decoder.
func NewDecoder() *Decoder {
	return &Decoder{}
}

// feedback is the gopacket.DecodeFeedback the layers report truncation to.
type feedback struct{ truncated bool }

func (f *feedback) SetTruncated() { f.truncated = true }

// step is the next header to decode.
type step uint8

const (
	stepDone step = iota
	stepEthernet
	stepDot1Q
	stepPPPoE
	stepMPLS
	stepSLL
	stepSLL2
	stepLoopback
	stepRawIP
	stepIPv4
	stepIPv6
)

// Decode decodes one frame of the given link type into p, overwriting it.
// It never panics and allocates nothing for well-formed frames.
//
// A frame that is not IP (ARP, LLDP, ...) decodes without error with
// FlagNonIP and its EtherType. A frame captured shorter than its IP length
// decodes with FlagTruncated and a nil error. A frame that ends inside a
// header, or has an invalid header, keeps the fields decoded so far and
// returns ErrTruncated or ErrMalformed (p.ErrLayer names the layer); an
// unsupported link type returns ErrLinkType.
//
// Supported link types: Ethernet (with 802.1Q/802.1ad tags, PPPoE session,
// MPLS), NULL and LOOP (BSD loopback), RAW (101, 12, 14), IPv4 (228),
// IPv6 (229), LINUX_SLL (113), LINUX_SLL2 (276).
func (d *Decoder) Decode(linkType layers.LinkType, data []byte, p *Packet) error {
	*p = Packet{LinkType: linkType, CapLen: len(data), OrigLen: len(data)}
	d.frags.frames++
	var s step
	switch linkType {
	case layers.LinkTypeEthernet:
		if !d.noFast {
			if d.decodeFast(data, p) {
				return nil
			}
			*p = Packet{LinkType: linkType, CapLen: len(data), OrigLen: len(data)}
		}
		s = stepEthernet
	case layers.LinkTypeNull, layers.LinkTypeLoop:
		s = stepLoopback
	case layers.LinkTypeRaw, linkTypeRawBSD, linkTypeRawOpenBSD:
		s = stepRawIP
	case layers.LinkTypeIPv4:
		s = stepIPv4
	case layers.LinkTypeIPv6:
		s = stepIPv6
	case layers.LinkTypeLinuxSLL:
		s = stepSLL
	case layers.LinkTypeLinuxSLL2:
		s = stepSLL2
	default:
		p.ErrLayer = LayerLink
		return ErrLinkType
	}
	d.fb.truncated = false
	err := d.decodeFrom(s, data, p)
	if d.fb.truncated {
		p.Flags |= FlagTruncated
	}
	return err
}

// fail records where decoding stopped and picks the sentinel error.
func (d *Decoder) fail(p *Packet, l Layer, truncated bool) error {
	p.ErrLayer = l
	if truncated || d.fb.truncated {
		p.Flags |= FlagTruncated
		return ErrTruncated
	}
	return ErrMalformed
}

// etherStep maps an EtherType to the next step, recording it in p.
func etherStep(p *Packet, t layers.EthernetType) step {
	p.EtherType = t
	switch t {
	case layers.EthernetTypeIPv4:
		return stepIPv4
	case layers.EthernetTypeIPv6:
		return stepIPv6
	case layers.EthernetTypeDot1Q, layers.EthernetTypeQinQ, 0x9100:
		return stepDot1Q
	case layers.EthernetTypePPPoESession:
		return stepPPPoE
	case layers.EthernetTypeMPLSUnicast, layers.EthernetTypeMPLSMulticast:
		return stepMPLS
	}
	p.Flags |= FlagNonIP
	return stepDone
}

func (d *Decoder) decodeFrom(s step, data []byte, p *Packet) error {
	df := &d.fb
	for n := 0; s != stepDone; n++ {
		if n == maxLayers {
			return d.fail(p, LayerLink, false)
		}
		switch s {
		case stepEthernet:
			if len(data) < 14 {
				return d.fail(p, LayerLink, true)
			}
			if err := d.eth.DecodeFromBytes(data, df); err != nil {
				return d.fail(p, LayerLink, false)
			}
			data = d.eth.Payload
			s = etherStep(p, d.eth.EthernetType)
		case stepDot1Q:
			if err := d.dot1q.DecodeFromBytes(data, df); err != nil {
				return d.fail(p, LayerVLAN, true)
			}
			if p.VLANCount < 2 {
				p.VLAN[p.VLANCount] = d.dot1q.VLANIdentifier
			}
			if p.VLANCount < 255 {
				p.VLANCount++
			}
			data = d.dot1q.Payload
			s = etherStep(p, d.dot1q.Type)
		case stepPPPoE:
			var err error
			if data, s, err = d.decodePPPoE(data, p); err != nil {
				return err
			}
		case stepMPLS:
			var err error
			if data, s, err = d.decodeMPLS(data, p); err != nil {
				return err
			}
		case stepSLL:
			if err := d.sll.DecodeFromBytes(data, df); err != nil {
				return d.fail(p, LayerLink, len(data) < 16)
			}
			data = d.sll.Payload
			s = etherStep(p, d.sll.EthernetType)
		case stepSLL2:
			if err := d.sll2.DecodeFromBytes(data, df); err != nil {
				return d.fail(p, LayerLink, len(data) < 20)
			}
			data = d.sll2.Payload
			s = etherStep(p, d.sll2.ProtocolType)
		case stepLoopback:
			if err := d.loop.DecodeFromBytes(data, df); err != nil {
				return d.fail(p, LayerLink, len(data) < 4)
			}
			data = d.loop.Payload
			s = loopbackStep(p, d.loop.Family)
		case stepRawIP:
			if len(data) == 0 {
				return d.fail(p, LayerLink, true)
			}
			if s = ipVersionStep(p, data[0]>>4); s == stepDone {
				return d.fail(p, LayerIPv4, false)
			}
		case stepIPv4:
			if p.EtherType == 0 {
				p.EtherType = layers.EthernetTypeIPv4
			}
			return d.decodeIPv4(data, p)
		case stepIPv6:
			if p.EtherType == 0 {
				p.EtherType = layers.EthernetTypeIPv6
			}
			return d.decodeIPv6(data, p)
		}
	}
	return nil
}

// decodePPPoE reads a PPPoE session header and the PPP protocol that
// follows it (gopacket's PPPoE and PPP layers are not DecodingLayers: the
// session header is 6 bytes and PPP adds a 2-byte protocol), and returns
// the PPP payload and the step that decodes it.
func (d *Decoder) decodePPPoE(data []byte, p *Packet) ([]byte, step, error) {
	if len(data) < 8 {
		return nil, stepDone, d.fail(p, LayerPPPoE, true)
	}
	p.Encap |= EncapPPPoE
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	body := data[6:]
	if plen < len(body) {
		body = body[:plen]
	}
	if len(body) < 2 {
		return nil, stepDone, d.fail(p, LayerPPPoE, plen >= 2)
	}
	s := stepDone
	switch binary.BigEndian.Uint16(body[0:2]) {
	case 0x0021:
		p.EtherType = layers.EthernetTypeIPv4
		s = stepIPv4
	case 0x0057:
		p.EtherType = layers.EthernetTypeIPv6
		s = stepIPv6
	default: // LCP, IPCP, ...: not IP; EtherType stays PPPoE session
		p.Flags |= FlagNonIP
	}
	return body[2:], s, nil
}

// decodeMPLS skips the MPLS label stack and returns what it carries and
// the step that decodes it. MPLS does not say what it carries; the first
// nibble tells IPv4 from IPv6, as routers and Wireshark guess.
// Pseudowires are not decoded.
func (d *Decoder) decodeMPLS(data []byte, p *Packet) ([]byte, step, error) {
	p.Encap |= EncapMPLS
	for {
		if len(data) < 4 {
			return nil, stepDone, d.fail(p, LayerMPLS, true)
		}
		bos := data[2]&1 != 0
		data = data[4:]
		if bos {
			break
		}
	}
	s := stepDone
	if len(data) > 0 {
		s = ipVersionStep(p, data[0]>>4)
	}
	if s == stepDone {
		p.Flags |= FlagNonIP
	}
	return data, s, nil
}

// ipVersionStep maps the version nibble of an IP header to its step,
// recording the EtherType in p; stepDone for any other version.
func ipVersionStep(p *Packet, version byte) step {
	switch version {
	case 4:
		p.EtherType = layers.EthernetTypeIPv4
		return stepIPv4
	case 6:
		p.EtherType = layers.EthernetTypeIPv6
		return stepIPv6
	}
	return stepDone
}

// loopbackStep maps a BSD loopback protocol family to the next step,
// recording the EtherType in p.
func loopbackStep(p *Packet, family layers.ProtocolFamily) step {
	switch family {
	case layers.ProtocolFamilyIPv4:
		p.EtherType = layers.EthernetTypeIPv4
		return stepIPv4
	case layers.ProtocolFamilyIPv6BSD, layers.ProtocolFamilyIPv6FreeBSD, layers.ProtocolFamilyIPv6Darwin, layers.ProtocolFamilyIPv6Linux:
		p.EtherType = layers.EthernetTypeIPv6
		return stepIPv6
	}
	p.Flags |= FlagNonIP
	return stepDone
}

// enterIP is called for each IP header; for an inner header of a tunnel it
// records the outer addresses once.
func (p *Packet) enterIP() {
	if p.Flags&FlagIP != 0 && !p.TunnelSrc.IsValid() {
		p.TunnelSrc, p.TunnelDst = p.Src, p.Dst
	}
	// An inner header starts a fresh network layer.
	p.Flags &^= FlagPorts | FlagTCP | FlagFragment | FlagMoreFragments | FlagPortsFromFragment | FlagICMPError | FlagQuotedPorts
	p.TCP = TCP{}
	p.ICMP = ICMP{}
	p.Seq = SeqNum{}
	p.IPID, p.FragOffset, p.SrcPort, p.DstPort, p.PayloadLen, p.Payload = 0, 0, 0, 0, 0, nil
}

func (d *Decoder) decodeIPv4(data []byte, p *Packet) error {
	p.enterIP()
	if len(data) < 20 {
		return d.fail(p, LayerIPv4, true)
	}
	if data[0]>>4 != 4 {
		return d.fail(p, LayerIPv4, false)
	}
	if err := d.ip4.DecodeFromBytes(data, &d.fb); err != nil {
		return d.fail(p, LayerIPv4, int(data[0]&0x0f)*4 > len(data))
	}
	ip := &d.ip4
	p.Flags |= FlagIP
	p.IPVersion = 4
	p.Src = netip.AddrFrom4([4]byte(ip.SrcIP))
	p.Dst = netip.AddrFrom4([4]byte(ip.DstIP))
	p.Proto = ip.Protocol
	p.TTL = ip.TTL
	p.IPID = uint32(ip.Id)
	p.IPLen = int(ip.Length)
	hl := int(ip.IHL) * 4
	l4Len := int(ip.Length) - hl
	p.FragOffset = uint32(ip.FragOffset) * 8
	if ip.Flags&layers.IPv4MoreFragments != 0 {
		p.Flags |= FlagFragment | FlagMoreFragments
	}
	if ip.FragOffset != 0 {
		p.Flags |= FlagFragment
		d.laterFragment(p)
		return nil
	}
	return d.decodeL4(ip.Payload, l4Len, p)
}

// ipv6 extension headers the decoder walks (RFC 8200 section 4 and the
// IANA list of IPv6 extension header types).
func isIPv6Ext(proto layers.IPProtocol) bool {
	switch proto {
	case layers.IPProtocolIPv6HopByHop, layers.IPProtocolIPv6Routing, layers.IPProtocolIPv6Destination,
		layers.IPProtocolIPv6Fragment, layers.IPProtocolAH, 135, 139, 140:
		return true
	}
	return false
}

func (d *Decoder) decodeIPv6(data []byte, p *Packet) error {
	p.enterIP()
	if len(data) < 40 {
		return d.fail(p, LayerIPv6, true)
	}
	if data[0]>>4 != 6 {
		return d.fail(p, LayerIPv6, false)
	}
	// The fixed header is read here rather than with gopacket's IPv6 layer,
	// which allocates the options of every hop-by-hop header (MLD, router
	// alert); hop-by-hop is walked with the other extension headers by the
	// allocation-free IPv6ExtensionSkipper.
	plen := int(binary.BigEndian.Uint16(data[4:6]))
	p.Flags |= FlagIP
	p.IPVersion = 6
	p.Src = netip.AddrFrom16([16]byte(data[8:24]))
	p.Dst = netip.AddrFrom16([16]byte(data[24:40]))
	p.TTL = data[7]
	next := layers.IPProtocol(data[6])
	payload := data[40:]
	l4Len := plen
	switch {
	case plen == 0:
		// A jumbogram (RFC 2675) or a TSO super-packet: take what was captured.
		l4Len = len(payload)
	case plen > len(payload):
		d.fb.truncated = true
	default:
		payload = payload[:plen]
	}
	p.IPLen = 40 + l4Len
	for n := 0; isIPv6Ext(next); n++ {
		if n == maxLayers {
			return d.fail(p, LayerIPv6Ext, false)
		}
		switch next {
		case layers.IPProtocolIPv6Fragment:
			if err := d.frag6.DecodeFromBytes(payload, &d.fb); err != nil {
				p.Proto = next
				return d.fail(p, LayerIPv6Ext, true)
			}
			f := &d.frag6
			next = f.NextHeader
			payload = f.Payload
			l4Len -= 8
			p.IPID = f.Identification
			p.FragOffset = uint32(f.FragmentOffset) * 8
			if f.MoreFragments {
				p.Flags |= FlagFragment | FlagMoreFragments
			}
			if f.FragmentOffset != 0 {
				p.Flags |= FlagFragment
				p.Proto = next
				d.laterFragment(p)
				return nil
			}
		case layers.IPProtocolAH:
			// AH counts its length in 4-byte units (RFC 4302).
			if len(payload) < 2 {
				p.Proto = next
				return d.fail(p, LayerIPv6Ext, true)
			}
			n := (int(payload[1]) + 2) * 4
			if len(payload) < n {
				p.Proto = next
				return d.fail(p, LayerIPv6Ext, true)
			}
			next = layers.IPProtocol(payload[0])
			payload = payload[n:]
			l4Len -= n
		default:
			if err := d.ext.DecodeFromBytes(payload, &d.fb); err != nil {
				p.Proto = next
				return d.fail(p, LayerIPv6Ext, true)
			}
			next = d.ext.NextHeader
			l4Len -= len(d.ext.Contents)
			payload = d.ext.Payload
		}
	}
	p.Proto = next
	return d.decodeL4(payload, l4Len, p)
}

// decodeL4 decodes the transport header in data; l4Len is the number of
// bytes the IP header declares for it (data may be shorter if truncated).
func (d *Decoder) decodeL4(data []byte, l4Len int, p *Packet) error {
	if l4Len < 0 {
		l4Len = 0
	}
	switch p.Proto {
	case layers.IPProtocolTCP:
		if len(data) < 20 {
			return d.fail(p, LayerTCP, l4Len >= 20 || p.Flags&FlagMoreFragments != 0)
		}
		if err := d.tcp.DecodeFromBytes(data, &d.fb); err != nil {
			// Ports are readable even when the header is cut short.
			p.SrcPort = binary.BigEndian.Uint16(data[0:2])
			p.DstPort = binary.BigEndian.Uint16(data[2:4])
			p.Flags |= FlagPorts
			return d.fail(p, LayerTCP, int(data[12]>>4)*4 > len(data))
		}
		t := &d.tcp
		p.SrcPort, p.DstPort = uint16(t.SrcPort), uint16(t.DstPort)
		p.Flags |= FlagPorts | FlagTCP
		hl := int(t.DataOffset) * 4
		fillTCP(&p.TCP, data[:hl])
		p.PayloadLen = max(l4Len-hl, 0)
		if len(t.Payload) > 0 {
			p.Payload = t.Payload
		}
		d.firstFragment(p)
		return nil
	case layers.IPProtocolUDP, layers.IPProtocolUDPLite:
		if len(data) < 8 {
			return d.fail(p, LayerUDP, l4Len >= 8 || p.Flags&FlagMoreFragments != 0)
		}
		// gopacket's UDP trims the payload to the UDP length field; the
		// payload is bounded by the IP length instead (which the IP layer
		// already applied), so the header is read directly once validated.
		// The UDP length may exceed the bytes of a first fragment, so its
		// truncation report is ignored: the IP layer decides truncation.
		d.qfb.truncated = false
		if err := d.udp.DecodeFromBytes(data, &d.qfb); err != nil && p.Proto == layers.IPProtocolUDP {
			p.SrcPort = binary.BigEndian.Uint16(data[0:2])
			p.DstPort = binary.BigEndian.Uint16(data[2:4])
			p.Flags |= FlagPorts
			return d.fail(p, LayerUDP, false)
		}
		p.SrcPort = binary.BigEndian.Uint16(data[0:2])
		p.DstPort = binary.BigEndian.Uint16(data[2:4])
		p.Flags |= FlagPorts
		p.PayloadLen = max(l4Len-8, 0)
		if len(data) > 8 {
			p.Payload = data[8:]
		}
		d.firstFragment(p)
		if p.Flags&FlagPortsFromFragment == 0 {
			udpSeq(p)
		}
		if p.DstPort == VXLANPort && p.Flags&FlagFragment == 0 && len(data) >= 16 && data[8]&0x08 != 0 {
			return d.decodeVXLAN(data[8:], p)
		}
		return nil
	case layers.IPProtocolSCTP, layers.IPProtocol(33): // SCTP, DCCP: ports first
		if len(data) >= 4 {
			p.SrcPort = binary.BigEndian.Uint16(data[0:2])
			p.DstPort = binary.BigEndian.Uint16(data[2:4])
			p.Flags |= FlagPorts
			d.firstFragment(p)
		}
		p.PayloadLen = l4Len
		return nil
	case layers.IPProtocolICMPv4:
		if p.IPVersion != 4 {
			break
		}
		if err := d.icmp4.DecodeFromBytes(data, &d.fb); err != nil {
			if len(data) >= 2 {
				p.ICMP.Type, p.ICMP.Code = data[0], data[1]
			}
			return d.fail(p, LayerICMP, true)
		}
		p.ICMP.Type, p.ICMP.Code = d.icmp4.TypeCode.Type(), d.icmp4.TypeCode.Code()
		p.PayloadLen = max(l4Len-8, 0)
		echoSeq(p, data, layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply)
		switch p.ICMP.Type {
		case layers.ICMPv4TypeDestinationUnreachable, layers.ICMPv4TypeSourceQuench, layers.ICMPv4TypeRedirect,
			layers.ICMPv4TypeTimeExceeded, layers.ICMPv4TypeParameterProblem:
			if p.Flags&FlagFragment == 0 {
				d.decodeQuoted(d.icmp4.Payload, p)
			}
		}
		return nil
	case layers.IPProtocolICMPv6:
		if p.IPVersion != 6 {
			break
		}
		if err := d.icmp6.DecodeFromBytes(data, &d.fb); err != nil {
			if len(data) >= 2 {
				p.ICMP.Type, p.ICMP.Code = data[0], data[1]
			}
			return d.fail(p, LayerICMP, true)
		}
		p.ICMP.Type, p.ICMP.Code = d.icmp6.TypeCode.Type(), d.icmp6.TypeCode.Code()
		p.PayloadLen = max(l4Len-4, 0)
		echoSeq(p, data, layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply)
		// Types 1-4 are the ICMPv6 errors (RFC 4443); 4 bytes of
		// type-specific data precede the quoted packet.
		if p.ICMP.Type >= 1 && p.ICMP.Type <= 4 && p.Flags&FlagFragment == 0 && len(d.icmp6.Payload) >= 4 {
			d.decodeQuoted(d.icmp6.Payload[4:], p)
		}
		return nil
	case layers.IPProtocolESP:
		espSeq(p, data)
	case layers.IPProtocolGRE:
		if p.Flags&FlagFragment != 0 {
			break
		}
		return d.decodeGRE(data, p)
	case layers.IPProtocolIPv4, layers.IPProtocolIPv6:
		if p.Flags&FlagFragment != 0 {
			break
		}
		p.Encap |= EncapIPinIP
		if p.Proto == layers.IPProtocolIPv4 {
			return d.decodeIPv4(data, p)
		}
		return d.decodeIPv6(data, p)
	}
	p.PayloadLen = l4Len
	return nil
}

func (d *Decoder) decodeGRE(data []byte, p *Packet) error {
	if err := d.gre.DecodeFromBytes(data, &d.fb); err != nil {
		return d.fail(p, LayerGRE, true)
	}
	g := &d.gre
	var s step
	switch g.Protocol {
	case layers.EthernetTypeIPv4:
		s = stepIPv4
	case layers.EthernetTypeIPv6:
		s = stepIPv6
	case layers.EthernetTypeTransparentEthernetBridging:
		s = stepEthernet
	default:
		// PPTP's enhanced GRE (PPP inside) and other payloads are not
		// decoded: the GRE packet is the flow.
		p.PayloadLen = len(g.Payload)
		return nil
	}
	p.Encap |= EncapGRE
	if g.KeyPresent {
		p.TunnelID = g.Key
	}
	return d.decodeInner(s, g.Payload, p)
}

func (d *Decoder) decodeVXLAN(data []byte, p *Packet) error {
	if err := d.vxlan.DecodeFromBytes(data, &d.fb); err != nil {
		return nil // too short to be VXLAN: it stays a UDP packet
	}
	p.Encap |= EncapVXLAN
	p.TunnelID = d.vxlan.VNI
	return d.decodeInner(stepEthernet, d.vxlan.Payload, p)
}

// decodeInner decodes a tunnel's payload. The outer IP addresses are kept in
// TunnelSrc/TunnelDst; the inner headers replace the outer ones.
func (d *Decoder) decodeInner(s step, data []byte, p *Packet) error {
	if !p.TunnelSrc.IsValid() {
		p.TunnelSrc, p.TunnelDst = p.Src, p.Dst
	}
	outerEther := p.EtherType
	err := d.decodeFrom(s, data, p)
	if p.Flags&FlagNonIP != 0 {
		// A non-IP frame inside a tunnel (ARP over VXLAN): keep the tunnel
		// packet's own IP identity, but report the inner EtherType.
		p.Flags &^= FlagNonIP
	}
	if p.EtherType == 0 {
		p.EtherType = outerEther
	}
	return err
}

// decodeQuoted decodes the datagram quoted by an ICMP error.
func (d *Decoder) decodeQuoted(data []byte, p *Packet) {
	if len(data) == 0 {
		return
	}
	d.qfb.truncated = false
	var l4 []byte
	q := &p.ICMP
	switch data[0] >> 4 {
	case 4:
		if p.IPVersion != 4 || d.qip4.DecodeFromBytes(data, &d.qfb) != nil {
			return
		}
		q.QuotedSrc = netip.AddrFrom4([4]byte(d.qip4.SrcIP))
		q.QuotedDst = netip.AddrFrom4([4]byte(d.qip4.DstIP))
		q.QuotedProto = d.qip4.Protocol
		q.QuotedIPID = uint32(d.qip4.Id)
		if d.qip4.FragOffset == 0 {
			l4 = d.qip4.Payload
		}
	case 6:
		if p.IPVersion != 6 || d.qip6.DecodeFromBytes(data, &d.qfb) != nil {
			return
		}
		q.QuotedSrc = netip.AddrFrom16([16]byte(d.qip6.SrcIP))
		q.QuotedDst = netip.AddrFrom16([16]byte(d.qip6.DstIP))
		next := d.qip6.NextHeader
		if d.qip6.HopByHop != nil {
			next = d.qip6.HopByHop.NextHeader
		}
		l4 = d.qip6.Payload
		for n := 0; isIPv6Ext(next) && n < maxLayers; n++ {
			if next == layers.IPProtocolIPv6Fragment || next == layers.IPProtocolAH || d.qext.DecodeFromBytes(l4, &d.qfb) != nil {
				l4 = nil
				break
			}
			next = d.qext.NextHeader
			l4 = d.qext.Payload
		}
		q.QuotedProto = next
	default:
		return
	}
	p.Flags |= FlagICMPError
	switch q.QuotedProto {
	case layers.IPProtocolTCP, layers.IPProtocolUDP, layers.IPProtocolUDPLite, layers.IPProtocolSCTP, 33:
		if len(l4) >= 4 {
			q.QuotedSrcPort = binary.BigEndian.Uint16(l4[0:2])
			q.QuotedDstPort = binary.BigEndian.Uint16(l4[2:4])
			p.Flags |= FlagQuotedPorts
		}
	}
}
