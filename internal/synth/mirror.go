package synth

import (
	"encoding/binary"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// MirrorSession is one mirror session of a capture MirrorCapture writes: a
// switch (Src) sending mirrored frames to a collector (Dst).
type MirrorSession struct {
	// Kind is "erspan2" (GRE 0x88BE with an ERSPAN type II header),
	// "erspan3" (GRE 0x22EB, type III header) or "gre" (GRE with the
	// sequence and key bits, carrying Ethernet, 0x6558).
	Kind     string
	Src, Dst net.IP
	// ID is the ERSPAN session id (10 bits), or the GRE key.
	ID uint32
}

// MirrorFrame is one frame to write: the Session-th session's frame with
// GRE sequence number Seq, mirroring a frame of inner flow Flow (an
// Ethernet/IPv4/UDP datagram from 10.1.Session.1 port 1000+Flow to
// 10.2.Session.1 port 2000+Flow).
type MirrorFrame struct {
	Session int
	Seq     uint32
	Flow    int
}

// MirrorCapture writes an Ethernet pcap of frames, 1 ms apart, built with
// gopacket's Ethernet, IPv4, GRE, ERSPANII and UDP layers (the ERSPAN type
// III header by hand: gopacket has none). What a test expects of the
// capture comes from the frames it asked for, not from gapan's decoder.
func MirrorCapture(w io.Writer, sessions []MirrorSession, frames []MirrorFrame) error {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return err
	}
	ts := time.Unix(1_700_000_000, 0)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for i, fr := range frames {
		if fr.Session < 0 || fr.Session >= len(sessions) {
			return fmt.Errorf("synth: frame %d: no session %d", i, fr.Session)
		}
		s := sessions[fr.Session]
		innerIP := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolUDP,
			SrcIP: net.IP{10, 1, byte(fr.Session), 1}, DstIP: net.IP{10, 2, byte(fr.Session), 1}}
		innerUDP := &layers.UDP{SrcPort: layers.UDPPort(1000 + fr.Flow), DstPort: layers.UDPPort(2000 + fr.Flow)}
		if err := innerUDP.SetNetworkLayerForChecksum(innerIP); err != nil {
			return err
		}
		payload := make([]byte, 32)
		binary.BigEndian.PutUint32(payload, uint32(i))
		ls := []gopacket.SerializableLayer{
			&layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4},
			&layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolGRE, SrcIP: s.Src, DstIP: s.Dst},
		}
		switch s.Kind {
		case "erspan2":
			ls = append(ls, &layers.GRE{Protocol: 0x88be, SeqPresent: true, Seq: fr.Seq},
				&layers.ERSPANII{Version: 1, SessionID: uint16(s.ID & 0x3ff), Index: uint32(fr.Flow)})
		case "erspan3":
			h := make([]byte, 12)
			binary.BigEndian.PutUint16(h[0:2], 2<<12)              // version 2, VLAN 0
			binary.BigEndian.PutUint16(h[2:4], uint16(s.ID&0x3ff)) // COS, BSO, T 0, session id
			binary.BigEndian.PutUint32(h[4:8], uint32(i)*10)       // timestamp, 100 µs units
			ls = append(ls, &layers.GRE{Protocol: 0x22eb, SeqPresent: true, Seq: fr.Seq}, gopacket.Payload(h))
		case "gre":
			ls = append(ls, &layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging, SeqPresent: true, Seq: fr.Seq, KeyPresent: true, Key: s.ID})
		default:
			return fmt.Errorf("synth: session kind %q", s.Kind)
		}
		ls = append(ls, &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 1, 0, byte(fr.Flow)}, DstMAC: net.HardwareAddr{2, 0, 0, 2, 0, byte(fr.Flow)}, EthernetType: layers.EthernetTypeIPv4},
			innerIP, innerUDP, gopacket.Payload(payload))
		if err := gopacket.SerializeLayers(buf, opts, ls...); err != nil {
			return err
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * time.Millisecond), CaptureLength: len(b), Length: len(b)}
		if err := pw.WritePacket(ci, b); err != nil {
			return err
		}
	}
	return nil
}
