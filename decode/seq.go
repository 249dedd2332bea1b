package decode

import "encoding/binary"

// SeqNum is a sequence number the decoder found in a header that numbers
// its packets in the clear, for the loss accounting's sequence families
// (docs/metrics.md): which family, the stream it numbers within the flow
// (an ESP SPI, a GTP-U TEID, an ICMP echo identifier), and the number.
// Kind is SeqNone when the packet carries none. The innermost transport's
// number is kept: an inner header replaces it, like the ports. A tunnel's
// own sequence number (GRE's, for instance) that must survive the inner
// packet's decoding needs a field of its own.
type SeqNum struct {
	// Stream is the stream the number counts within (SPI, TEID, identifier).
	Stream uint32
	// Num is the sequence number, in the family's width (ESP 32 bits,
	// GTP-U and ICMP echo 16).
	Num uint32
	// Kind is the family.
	Kind SeqKind
	// Flags are the family's own bits (SeqReply for ICMP echo).
	Flags uint8
}

// SeqKind names a family of sequence numbers. Each family adds its
// constant here, in this order, and its decoding in this file.
type SeqKind uint8

// The sequence families.
const (
	// SeqNone: the packet carries no sequence number gapan reads.
	SeqNone SeqKind = iota
	// SeqESP: IPsec ESP (RFC 4303), directly over IP (protocol 50) or in
	// UDP port 4500 (RFC 3948): Stream is the SPI, Num the 32-bit
	// sequence number (the low half of an extended one).
	SeqESP
	// SeqGTPU: a GTP-U G-PDU (UDP port 2152, 3GPP TS 29.281) with the S
	// flag: Stream is the TEID, Num the 16-bit sequence number.
	SeqGTPU
	// SeqICMPEcho: an ICMP or ICMPv6 echo request or reply: Stream is the
	// identifier, Num the 16-bit sequence number, Flags SeqReply for a
	// reply.
	SeqICMPEcho
	// SeqMP2T: the MPEG-TS continuity counters. The decoder never sets
	// it: a datagram carries up to 7 TS packets, each with its own PID
	// and counter, which the loss accounting reads from the UDP payload
	// itself (loss/mp2t.go); the kind gives the family its place in the
	// families' table.
	SeqMP2T
	// SeqKinds is the number of kinds; keep it last.
	SeqKinds
)

// SeqReply, in SeqNum.Flags of an ICMP echo, marks a reply.
const SeqReply = 1

// UDP ports of the sequence families carried over UDP.
const (
	// ESPinUDPPort is the NAT traversal port that carries ESP in UDP (RFC 3948).
	ESPinUDPPort = 4500
	// GTPUPort is GTP-U's port (3GPP TS 29.281).
	GTPUPort = 2152
)

// udpSeq sets p.Seq from the payload of a UDP datagram whose ports and
// Payload are set (both decoding paths call it).
func udpSeq(p *Packet) {
	b := p.Payload
	switch {
	case p.SrcPort == GTPUPort || p.DstPort == GTPUPort:
		// Version 1, protocol type GTP, S flag, message type G-PDU (255):
		// echo and error messages number their own exchanges.
		if len(b) >= 12 && b[0]&0xf2 == 0x32 && b[1] == 0xff {
			p.Seq = SeqNum{Kind: SeqGTPU, Stream: binary.BigEndian.Uint32(b[4:8]), Num: uint32(binary.BigEndian.Uint16(b[8:10]))}
		}
	case p.SrcPort == ESPinUDPPort || p.DstPort == ESPinUDPPort:
		// A zero first word is the non-ESP marker of IKE; a 1-byte 0xff
		// datagram is a NAT keepalive.
		if len(b) >= 8 {
			if spi := binary.BigEndian.Uint32(b[0:4]); spi != 0 {
				p.Seq = SeqNum{Kind: SeqESP, Stream: spi, Num: binary.BigEndian.Uint32(b[4:8])}
			}
		}
	}
}

// espSeq sets p.Seq from an ESP header (IP protocol 50).
func espSeq(p *Packet, data []byte) {
	if len(data) >= 8 {
		p.Seq = SeqNum{Kind: SeqESP, Stream: binary.BigEndian.Uint32(data[0:4]), Num: binary.BigEndian.Uint32(data[4:8])}
	}
}

// echoSeq sets p.Seq from an ICMP echo message (data starts at the ICMP
// type) when it is one.
func echoSeq(p *Packet, data []byte, request, reply uint8) {
	if len(data) < 8 || data[0] != request && data[0] != reply {
		return
	}
	p.Seq = SeqNum{Kind: SeqICMPEcho, Stream: uint32(binary.BigEndian.Uint16(data[4:6])), Num: uint32(binary.BigEndian.Uint16(data[6:8]))}
	if data[0] == reply {
		p.Seq.Flags = SeqReply
	}
}
