package decode

import (
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// Packet is one decoded frame. It is a fixed-size value: the only reference
// into the frame's bytes is Payload, so a Packet can be kept in an array and
// reused without allocation. Decode overwrites every field.
type Packet struct {
	// The fields come in the order the loss accounting reads them: the
	// first 128 bytes hold everything the accounting of a TCP segment
	// reads (but for the SACK blocks at the end of TCP), so that it
	// touches two lines of a Packet and not the rest. It reads them on
	// another core than the decoding: every line it reads is a transfer
	// between the two.

	// Flags says which fields are valid and what was seen.
	Flags Flags
	// IPVersion is 4 or 6 when FlagIP is set, otherwise 0.
	IPVersion uint8
	// Proto is the transport protocol: the IPv4 protocol field or the IPv6
	// next header after the extension headers.
	Proto layers.IPProtocol
	// TTL is the IPv4 TTL or IPv6 hop limit.
	TTL uint8
	// Encap records the encapsulations that were stripped to reach the
	// innermost (flow-defining) network header.
	Encap Encap
	// VLANCount is the number of 802.1Q/802.1ad tags seen (may exceed 2).
	VLANCount uint8
	// ErrLayer is the layer at which decoding stopped with an error
	// (LayerNone when Decode returned nil).
	ErrLayer Layer
	// IPID is the IPv4 identification or the IPv6 fragment header's
	// identification (0 for an unfragmented IPv6 packet).
	IPID uint32
	// FragOffset is the fragment offset in bytes.
	FragOffset uint32
	// SrcPort and DstPort are valid when FlagPorts is set (TCP, UDP, SCTP,
	// UDP-Lite, DCCP). For later IP fragments they come from the datagram's
	// first fragment (FlagPortsFromFragment).
	SrcPort, DstPort uint16
	// EtherType is the innermost link-level protocol: the EtherType after
	// VLAN tags, PPPoE (mapped to 0x0800/0x86DD for IP) and MPLS; for raw IP
	// and loopback link types it is 0x0800 or 0x86DD. For frames that are not
	// IP it says what they are (ARP, LLDP, PPPoE discovery, ...).
	EtherType layers.EthernetType
	// LinkType is the link type the frame was decoded with.
	LinkType layers.LinkType
	// VLAN holds the ids of the first two tags, outermost first (QinQ: the
	// service tag, then the customer tag).
	VLAN [2]uint16
	// TunnelID is the VXLAN VNI or the GRE key of the innermost stripped
	// tunnel (0 when there is none or the GRE header has no key).
	TunnelID uint32

	// CapLen is the number of captured bytes (len of the data given to Decode).
	CapLen int
	// OrigLen is the frame's length on the wire. Decode sets it to CapLen; a
	// caller that knows the original length (pcap orig_len) overwrites it.
	OrigLen int
	// IPLen is the IP datagram's declared length in bytes including its
	// header (IPv6: 40 + payload length). It may exceed the captured bytes.
	IPLen int
	// PayloadLen is the transport payload length declared by the headers
	// (TCP: IP length minus headers, like Wireshark's tcp.len; UDP: IP
	// length minus IP and UDP headers). It may exceed len(Payload).
	PayloadLen int

	// Mirror is the sequence number and session of the outermost GRE
	// header with the sequence bit (ERSPAN type II and III, RFC 2890 GRE):
	// the evidence of mirror loss. Its Kind is MirrorNone when there is none.
	Mirror Mirror

	// TCP holds the TCP header fields when Proto is TCP and FlagTCP is set.
	TCP TCP

	// Seq is the sequence number of a family the loss accounting tracks
	// (ESP, GTP-U, ICMP echo; see SeqNum), Kind SeqNone when there is none.
	Seq SeqNum

	// Src and Dst are the innermost IP header's addresses.
	Src, Dst netip.Addr

	// TunnelSrc and TunnelDst are the addresses of the outermost IP header
	// when a tunnel (GRE, VXLAN, IP-in-IP) was stripped.
	TunnelSrc, TunnelDst netip.Addr

	// Payload is the captured transport payload: a slice of the frame's data,
	// valid only as long as that data is. Nil when there is none.
	Payload []byte

	// ICMP holds the ICMP/ICMPv6 type and code and, for error messages, the
	// quoted datagram's 5-tuple.
	ICMP ICMP
}

// Mirror is a sequenced GRE header's evidence: which mirror session the
// frame belongs to and its place in that session's numbering. A session is
// (Packet.MirrorAddrs, Kind, ID).
type Mirror struct {
	// Seq is the GRE sequence number (RFC 2890): ERSPAN numbers every
	// mirrored frame of a session with it.
	Seq uint32
	// ID is the ERSPAN session id (10 bits) for ERSPAN, the GRE key (0
	// without the key bit) for other sequenced GRE.
	ID uint32
	// Kind says which header the sequence number came from.
	Kind MirrorKind
}

// MirrorKind is the kind of a sequenced GRE header.
type MirrorKind uint8

// Mirror kinds.
const (
	// MirrorNone: no GRE header with the sequence bit.
	MirrorNone MirrorKind = iota
	// MirrorGRE: GRE version 0 with the sequence bit, carrying anything
	// but ERSPAN (IPv4, IPv6, Ethernet, ...).
	MirrorGRE
	// MirrorERSPAN2: ERSPAN type II (GRE protocol 0x88BE, header version 1).
	MirrorERSPAN2
	// MirrorERSPAN3: ERSPAN type III (GRE protocol 0x22EB, header version 2).
	MirrorERSPAN3
)

var mirrorNames = [...]string{"", "gre", "erspan2", "erspan3"}

// String returns the kind's short name: "gre", "erspan2", "erspan3", or ""
// for MirrorNone.
func (k MirrorKind) String() string {
	if int(k) < len(mirrorNames) {
		return mirrorNames[k]
	}
	return "unknown"
}

// MirrorAddrs returns the addresses of a mirror session: those of the
// outermost IP header (TunnelSrc/TunnelDst), or Src/Dst when the sequenced
// GRE packet's payload was not decoded and so no tunnel was stripped.
func (p *Packet) MirrorAddrs() (src, dst netip.Addr) {
	if p.TunnelSrc.IsValid() {
		return p.TunnelSrc, p.TunnelDst
	}
	return p.Src, p.Dst
}

// TCP holds the fields of a TCP header, including the options the loss
// accounting needs.
type TCP struct {
	Seq, Ack uint32
	// Flags are the 9 flag bits (FIN is bit 0, NS bit 8).
	Flags TCPFlags
	// Window is the unscaled window field.
	Window uint16
	// HeaderLen is the header length in bytes (data offset × 4).
	HeaderLen uint8
	// Opts says which options were present.
	Opts TCPOptFlags
	// MSS is the maximum segment size option.
	MSS uint16
	// WindowScale is the window scale option's shift count.
	WindowScale uint8
	// SACKCount is the number of valid SACK blocks.
	SACKCount uint8
	// TSVal and TSEcr are the timestamps option's values.
	TSVal, TSEcr uint32
	// SACK holds up to four SACK blocks in option order.
	SACK [4]SACKBlock
}

// SACKBlock is one selective acknowledgement block [Left, Right).
type SACKBlock struct {
	Left, Right uint32
}

// TCPFlags are the TCP flag bits as on the wire (FIN = 1 ... CWR = 0x80, NS = 0x100).
type TCPFlags uint16

// TCP flag bits.
const (
	TCPFin TCPFlags = 1 << iota
	TCPSyn
	TCPRst
	TCPPsh
	TCPAck
	TCPUrg
	TCPEce
	TCPCwr
	TCPNs
)

// TCPOptFlags records which TCP options a segment carried.
type TCPOptFlags uint8

// TCP option presence bits.
const (
	OptTimestamps TCPOptFlags = 1 << iota
	OptMSS
	OptWindowScale
	OptSACKPermitted
	OptSACK
)

// ICMP holds the ICMP type and code and the datagram an ICMP error quotes.
type ICMP struct {
	Type, Code uint8
	// The quoted datagram (valid when FlagICMPError is set): its addresses,
	// protocol and, when FlagQuotedPorts is set, ports. It is the datagram
	// the erroring host received, so Src is the original sender.
	QuotedSrc, QuotedDst         netip.Addr
	QuotedProto                  layers.IPProtocol
	QuotedSrcPort, QuotedDstPort uint16
	QuotedIPID                   uint32
}

// Flags records what a Packet holds.
type Flags uint16

// Packet flags.
const (
	// FlagIP: the frame has an IPv4 or IPv6 header (Src, Dst, Proto valid).
	FlagIP Flags = 1 << iota
	// FlagPorts: SrcPort and DstPort are valid.
	FlagPorts
	// FlagTCP: the TCP header was decoded (Packet.TCP valid).
	FlagTCP
	// FlagFragment: the packet is an IP fragment (IPv4 MF or offset, or an
	// IPv6 fragment header that is not atomic).
	FlagFragment
	// FlagMoreFragments: the IP more-fragments bit is set.
	FlagMoreFragments
	// FlagPortsFromFragment: the packet is a later fragment whose ports were
	// taken from its datagram's first fragment.
	FlagPortsFromFragment
	// FlagICMPError: an ICMP/ICMPv6 error message; Packet.ICMP quotes the
	// offending datagram.
	FlagICMPError
	// FlagQuotedPorts: ICMP.QuotedSrcPort/QuotedDstPort are valid.
	FlagQuotedPorts
	// FlagTruncated: the frame was captured shorter than its headers declare
	// (snap length), or ended inside a header.
	FlagTruncated
	// FlagNonIP: the frame is not IP; EtherType says what it is.
	FlagNonIP
)

// Encap is a set of encapsulations stripped on the way to the inner packet.
type Encap uint8

// Encapsulations.
const (
	EncapPPPoE Encap = 1 << iota
	EncapMPLS
	EncapGRE
	EncapVXLAN
	EncapIPinIP
	// EncapERSPAN: an ERSPAN header (type I, II or III) was stripped;
	// EncapGRE is set with it.
	EncapERSPAN
)

// Layer names a protocol layer, for Packet.ErrLayer.
type Layer uint8

// Layers.
const (
	LayerNone Layer = iota
	LayerLink
	LayerVLAN
	LayerPPPoE
	LayerMPLS
	LayerIPv4
	LayerIPv6
	LayerIPv6Ext
	LayerTCP
	LayerUDP
	LayerICMP
	LayerGRE
	LayerVXLAN
	LayerERSPAN
)

var layerNames = [...]string{"none", "link", "vlan", "pppoe", "mpls", "ipv4", "ipv6", "ipv6-ext", "tcp", "udp", "icmp", "gre", "vxlan", "erspan"}

// String returns the layer's short name.
func (l Layer) String() string {
	if int(l) < len(layerNames) {
		return layerNames[l]
	}
	return "unknown"
}

// Has reports whether all of the flags in f are set.
func (p *Packet) Has(f Flags) bool { return p.Flags&f == f }

// WireLen is the frame's length on the wire: OrigLen, or CapLen when OrigLen
// was not set.
func (p *Packet) WireLen() int {
	if p.OrigLen > p.CapLen {
		return p.OrigLen
	}
	return p.CapLen
}
