package synth

import (
	"encoding/binary"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// Packet is one IPv4 (or, with IPv6 addresses, IPv6) packet of a
// crafted capture: from Src to Dst, IP protocol Proto, with Layers above IP (serialized by gopacket, lengths
// and checksums computed). The sequence families' tests build them with
// ESP, GTPU and Echo.
type Packet struct {
	Src, Dst net.IP
	Proto    layers.IPProtocol
	Layers   []gopacket.SerializableLayer
	// After is the time since the packet before (0: a millisecond).
	After time.Duration
}

// WritePackets writes pkts as an Ethernet pcap (nanosecond timestamps,
// one millisecond apart, or Packet.After, from 2023-11-14T22:13:20Z).
func WritePackets(w io.Writer, pkts []Packet) error {
	pw := pcapgo.NewWriterNanos(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	ts := time.Unix(1_700_000_000, 0)
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for _, p := range pkts {
		if p.After > 0 {
			ts = ts.Add(p.After)
		} else {
			ts = ts.Add(time.Millisecond)
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		var ip interface {
			gopacket.NetworkLayer
			gopacket.SerializableLayer
		} = &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: p.Proto, SrcIP: p.Src, DstIP: p.Dst}
		if p.Src.To4() == nil {
			eth.EthernetType = layers.EthernetTypeIPv6
			ip = &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: p.Proto, SrcIP: p.Src, DstIP: p.Dst}
		}
		for _, l := range p.Layers {
			if c, ok := l.(interface {
				SetNetworkLayerForChecksum(gopacket.NetworkLayer) error
			}); ok {
				if err := c.SetNetworkLayerForChecksum(ip); err != nil {
					return err
				}
			}
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, append([]gopacket.SerializableLayer{eth, ip}, p.Layers...)...); err != nil {
			return err
		}
		b := buf.Bytes()
		if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts, CaptureLength: len(b), Length: len(b)}, b); err != nil {
			return err
		}
	}
	return nil
}

// ESP is an ESP packet of security association spi with sequence number
// seq (the payload is filler: only the header is read).
func ESP(src, dst net.IP, spi, seq uint32) Packet {
	b := make([]byte, 8+48)
	binary.BigEndian.PutUint32(b[0:4], spi)
	binary.BigEndian.PutUint32(b[4:8], seq)
	for i := 8; i < len(b); i++ {
		b[i] = byte(i * 7)
	}
	return Packet{Src: src, Dst: dst, Proto: layers.IPProtocolESP, Layers: []gopacket.SerializableLayer{gopacket.Payload(b)}}
}

// GTPU is a GTP-U G-PDU with the S flag of tunnel teid, sequence number
// seq (both UDP ports 2152), carrying filler.
func GTPU(src, dst net.IP, teid uint32, seq uint16) Packet {
	b := make([]byte, 12+40)
	b[0], b[1] = 0x32, 0xff // version 1, GTP, S flag; G-PDU
	binary.BigEndian.PutUint16(b[2:4], uint16(len(b)-8))
	binary.BigEndian.PutUint32(b[4:8], teid)
	binary.BigEndian.PutUint16(b[8:10], seq)
	for i := 12; i < len(b); i++ {
		b[i] = byte(i)
	}
	udp := &layers.UDP{SrcPort: 2152, DstPort: 2152}
	return Packet{Src: src, Dst: dst, Proto: layers.IPProtocolUDP, Layers: []gopacket.SerializableLayer{udp, gopacket.Payload(b)}}
}

// Echo is an ICMP echo request (or reply) of identifier id and number seq.
func Echo(src, dst net.IP, reply bool, id, seq uint16) Packet {
	typ := uint8(layers.ICMPv4TypeEchoRequest)
	if reply {
		typ = layers.ICMPv4TypeEchoReply
	}
	icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: id, Seq: seq}
	return Packet{Src: src, Dst: dst, Proto: layers.IPProtocolICMPv4, Layers: []gopacket.SerializableLayer{icmp, gopacket.Payload("0123456789abcdef")}}
}

// EchoPause is an ICMP echo stream, requests of identifier 7 from
// 10.0.0.1 to 10.0.0.2 numbered 1 to 3, then, after a pause, 4, 5, 7 and
// 8: number 6 is missing, which frame 6 (number 7) reveals. A pause
// longer than an idle timeout ends the flow there.
func EchoPause(pause time.Duration) []Packet {
	a, b := net.IPv4(10, 0, 0, 1), net.IPv4(10, 0, 0, 2)
	var pkts []Packet
	for _, seq := range []uint16{1, 2, 3, 4, 5, 7, 8} {
		p := Echo(a, b, false, 7, seq)
		if seq == 4 {
			p.After = pause
		}
		pkts = append(pkts, p)
	}
	return pkts
}
