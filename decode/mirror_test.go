package decode

import (
	"encoding/binary"
	"net"
	"net/netip"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// erspan3 is an ERSPAN type III header (draft-foschiano-erspan-03 section
// 4.3), written by hand: gopacket has no layer for it. ft is the frame
// type; with platform set the O bit is set and an 8-byte platform-specific
// subheader (platform id 3) follows.
func erspan3(session uint16, ft uint8, platform bool) gopacket.Payload {
	h := make([]byte, 12, 20)
	binary.BigEndian.PutUint16(h[0:2], 2<<12|10)         // version 2, VLAN 10
	binary.BigEndian.PutUint16(h[2:4], session&0x3ff)    // COS, BSO, T = 0
	binary.BigEndian.PutUint32(h[4:8], 0x01020304)       // timestamp
	binary.BigEndian.PutUint16(h[10:12], uint16(ft)<<10) // P=0, FT, HW id 0, D, Gra
	if platform {
		h[11] |= 1
		h = append(h, 3<<2, 0, 0, 7, 0xaa, 0xbb, 0xcc, 0xdd)
	}
	return h
}

// TestMirror decodes sequenced GRE and ERSPAN frames built with gopacket's
// layers (ERSPAN III by hand) and checks the mirror fields and the inner
// frame against the values written.
func TestMirror(t *testing.T) {
	inner := func() []gopacket.SerializableLayer {
		return []gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), ip4(layers.IPProtocolUDP), udp(1111, 2222), gopacket.Payload([]byte("x"))}
	}
	outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 9, SrcIP: net.IP{203, 0, 113, 1}, DstIP: net.IP{203, 0, 113, 2}, Protocol: layers.IPProtocolGRE}
	frame := func(ls ...gopacket.SerializableLayer) []gopacket.SerializableLayer {
		return append([]gopacket.SerializableLayer{eth(layers.EthernetTypeIPv4), outer}, ls...)
	}
	seqGRE := func(proto layers.EthernetType, seq uint32) *layers.GRE {
		return &layers.GRE{Protocol: proto, SeqPresent: true, Seq: seq}
	}
	tests := []struct {
		name   string
		ls     []gopacket.SerializableLayer
		mirror Mirror
		encap  Encap
		inner  bool // the mirrored UDP frame was decoded
	}{
		{"erspan2", frame(append([]gopacket.SerializableLayer{seqGRE(0x88be, 4000000000),
			&layers.ERSPANII{Version: 1, SessionID: 777, Index: 5}}, inner()...)...),
			Mirror{Seq: 4000000000, ID: 777, Kind: MirrorERSPAN2}, EncapGRE | EncapERSPAN, true},
		{"erspan3", frame(append([]gopacket.SerializableLayer{seqGRE(0x22eb, 7), erspan3(1023, 0, false)}, inner()...)...),
			Mirror{Seq: 7, ID: 1023, Kind: MirrorERSPAN3}, EncapGRE | EncapERSPAN, true},
		{"erspan3-platform", frame(append([]gopacket.SerializableLayer{seqGRE(0x22eb, 8), erspan3(3, 0, true)}, inner()...)...),
			Mirror{Seq: 8, ID: 3, Kind: MirrorERSPAN3}, EncapGRE | EncapERSPAN, true},
		// Frame type 2 (IP) is not decoded: the GRE packet is the flow,
		// but its sequence number still counts.
		{"erspan3-ft-ip", frame(seqGRE(0x22eb, 9), erspan3(4, 2, false), gopacket.Payload(make([]byte, 20))),
			Mirror{Seq: 9, ID: 4, Kind: MirrorERSPAN3}, 0, false},
		// Type III without the sequence bit (as Zeek's
		// gre-erspan3-dot1q.pcap): decoded, no mirror evidence.
		{"erspan3-noseq", frame(append([]gopacket.SerializableLayer{&layers.GRE{Protocol: 0x22eb}, erspan3(5, 0, false)}, inner()...)...),
			Mirror{}, EncapGRE | EncapERSPAN, true},
		// Type I: no ERSPAN header, no sequence number.
		{"erspan1", frame(append([]gopacket.SerializableLayer{&layers.GRE{Protocol: 0x88be}}, inner()...)...),
			Mirror{}, EncapGRE | EncapERSPAN, true},
		{"gre-seq-key-eth", frame(append([]gopacket.SerializableLayer{&layers.GRE{Protocol: layers.EthernetTypeTransparentEthernetBridging,
			SeqPresent: true, Seq: 12, KeyPresent: true, Key: 0xabcdef}}, inner()...)...),
			Mirror{Seq: 12, ID: 0xabcdef, Kind: MirrorGRE}, EncapGRE, true},
		{"gre-seq-ip", frame(append([]gopacket.SerializableLayer{seqGRE(layers.EthernetTypeIPv4, 0)}, inner()[1:]...)...),
			Mirror{Seq: 0, ID: 0, Kind: MirrorGRE}, EncapGRE, true},
		// PPTP's enhanced GRE (version 1) numbers per call: not a mirror.
		{"pptp", frame(&layers.GRE{Protocol: 0x880b, Version: 1, SeqPresent: true, Seq: 5, KeyPresent: true, Key: 0x00100001},
			gopacket.Payload(make([]byte, 16))), Mirror{}, 0, false},
		// Only the outermost sequenced header is the session's evidence.
		{"gre-in-erspan", frame(append([]gopacket.SerializableLayer{seqGRE(0x88be, 100), &layers.ERSPANII{Version: 1, SessionID: 1},
			eth(layers.EthernetTypeIPv4), withProto(outer, layers.IPProtocolGRE), seqGRE(layers.EthernetTypeIPv4, 55)}, inner()[1:]...)...),
			Mirror{Seq: 100, ID: 1, Kind: MirrorERSPAN2}, EncapGRE | EncapERSPAN, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var p Packet
			if err := NewDecoder().Decode(layers.LinkTypeEthernet, serialize(t, tc.ls...), &p); err != nil {
				t.Fatal(err)
			}
			if p.Mirror != tc.mirror {
				t.Errorf("mirror %+v, want %+v", p.Mirror, tc.mirror)
			}
			if p.Encap != tc.encap {
				t.Errorf("encap %b, want %b", p.Encap, tc.encap)
			}
			src, dst := p.MirrorAddrs()
			if src != netip.MustParseAddr("203.0.113.1") || dst != netip.MustParseAddr("203.0.113.2") {
				t.Errorf("mirror addresses %v -> %v", src, dst)
			}
			decoded := p.Src == mustAddr(v4a) && p.Dst == mustAddr(v4b) && p.SrcPort == 1111 && p.DstPort == 2222 &&
				p.Proto == layers.IPProtocolUDP && string(p.Payload) == "x"
			if decoded != tc.inner {
				t.Errorf("inner frame decoded %v, want %v: %+v", decoded, tc.inner, p)
			}
			if !tc.inner && p.Proto != layers.IPProtocolGRE {
				t.Errorf("undecoded payload: proto %v, want GRE", p.Proto)
			}
		})
	}
}

// TestMirrorTruncated cuts ERSPAN frames inside the ERSPAN header: the
// decode fails at the ERSPAN layer. A frame cut after the session id (a
// small snap length) keeps its sequence number and session; one cut
// before it keeps none, since the session it belongs to is unknown.
func TestMirrorTruncated(t *testing.T) {
	outer := &layers.IPv4{Version: 4, IHL: 5, TTL: 9, SrcIP: net.IP{203, 0, 113, 1}, DstIP: net.IP{203, 0, 113, 2}, Protocol: layers.IPProtocolGRE}
	for _, tc := range []struct {
		name string
		hdr  gopacket.SerializableLayer
		gre  layers.EthernetType
		keep int // bytes of the ERSPAN header kept
		want Mirror
	}{
		{"erspan2", &layers.ERSPANII{Version: 1, SessionID: 2}, 0x88be, 7, Mirror{Seq: 3, ID: 2, Kind: MirrorERSPAN2}},
		{"erspan3", erspan3(2, 0, false), 0x22eb, 11, Mirror{Seq: 3, ID: 2, Kind: MirrorERSPAN3}},
		{"erspan3-platform", erspan3(2, 0, true), 0x22eb, 19, Mirror{Seq: 3, ID: 2, Kind: MirrorERSPAN3}},
		{"erspan3-4-bytes", erspan3(2, 0, false), 0x22eb, 4, Mirror{Seq: 3, ID: 2, Kind: MirrorERSPAN3}},
		{"erspan3-3-bytes", erspan3(2, 0, false), 0x22eb, 3, Mirror{}},
		{"erspan2-1-byte", &layers.ERSPANII{Version: 1, SessionID: 2}, 0x88be, 1, Mirror{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			full := serialize(t, eth(layers.EthernetTypeIPv4), outer, &layers.GRE{Protocol: tc.gre, SeqPresent: true, Seq: 3}, tc.hdr)
			cut := full[:14+20+8+tc.keep]
			var p Packet
			err := NewDecoder().Decode(layers.LinkTypeEthernet, cut, &p)
			if err != ErrTruncated || p.ErrLayer != LayerERSPAN {
				t.Fatalf("err %v at %v, want %v at erspan", err, p.ErrLayer, ErrTruncated)
			}
			if p.Mirror != tc.want {
				t.Errorf("mirror %+v, want %+v", p.Mirror, tc.want)
			}
		})
	}
}
