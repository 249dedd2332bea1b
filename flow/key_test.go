package flow_test

import (
	"bytes"
	"math/rand/v2"
	"net/netip"
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gopacket/gopacket/layers"
)

// TestKeyOfCanonicalOrder holds KeyOf's endpoint order to its definition:
// A is the lower (16-byte address, port) pair compared bytewise, and both
// directions give the same key. Addresses are drawn so that they often
// share their first 8 bytes (IPv4-mapped, or close IPv6 ones) and ports
// often tie.
func TestKeyOfCanonicalOrder(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	addr := func() netip.Addr {
		if r.IntN(2) == 0 {
			return netip.AddrFrom4([4]byte{10, 0, byte(r.IntN(2)), byte(r.IntN(3))})
		}
		var b [16]byte
		b[0], b[7], b[8], b[15] = 0x20, byte(r.IntN(2)), byte(r.IntN(2)), byte(r.IntN(3))
		return netip.AddrFrom16(b)
	}
	for i := range 20000 {
		src, dst := addr(), addr()
		if src.Is4() != dst.Is4() {
			continue
		}
		sp, dp := uint16(r.IntN(3)), uint16(r.IntN(3))
		p := decode.Packet{Flags: decode.FlagIP | decode.FlagPorts, IPVersion: 4, Proto: layers.IPProtocolTCP, Src: src, Dst: dst, SrcPort: sp, DstPort: dp}
		if !src.Is4() {
			p.IPVersion = 6
		}
		k, fromA := flow.KeyOf(&p)
		s16, d16 := src.As16(), dst.As16()
		c := bytes.Compare(s16[:], d16[:])
		want := c < 0 || c == 0 && sp <= dp
		if fromA != want {
			t.Fatalf("case %d: %v:%d -> %v:%d: fromA %v, want %v", i, src, sp, dst, dp, fromA, want)
		}
		wa, wb := s16, d16
		if !fromA {
			wa, wb = d16, s16
		}
		if k.A != wa || k.B != wb {
			t.Fatalf("case %d: %v:%d -> %v:%d: key addresses %x %x, want the 16-byte forms in order", i, src, sp, dst, dp, k.A, k.B)
		}
		p.Src, p.Dst, p.SrcPort, p.DstPort = dst, src, dp, sp
		k2, fromA2 := flow.KeyOf(&p)
		if k2 != k || (fromA2 == fromA && !(src == dst && sp == dp)) {
			t.Fatalf("case %d: reverse direction gives key %v fromA %v, forward %v %v", i, k2, fromA2, k, fromA)
		}
	}
}

// TestKeySetOverwrites holds Key.Set, which writes the key in place, to
// leave nothing of the key it overwrites: over a key with every field
// set, it gives the key a zero Key gives, for IP and non-IP packets.
func TestKeySetOverwrites(t *testing.T) {
	dirty := flow.Key{PortA: 9, PortB: 9, VLAN: [2]uint16{7, 8}, EtherType: 0x0806, Proto: 17, IPVersion: 6}
	for i := range dirty.A {
		dirty.A[i], dirty.B[i] = 0xff, 0xee
	}
	pkts := []decode.Packet{
		{Flags: decode.FlagIP | decode.FlagPorts, IPVersion: 4, Proto: layers.IPProtocolTCP, Src: netip.MustParseAddr("10.0.0.2"), Dst: netip.MustParseAddr("10.0.0.1"), SrcPort: 80, DstPort: 1234},
		{Flags: decode.FlagIP, IPVersion: 6, Proto: layers.IPProtocolICMPv6, Src: netip.MustParseAddr("2001:db8::1"), Dst: netip.MustParseAddr("2001:db8::2")},
		{EtherType: layers.EthernetTypeARP, VLAN: [2]uint16{10, 0}},
	}
	for i := range pkts {
		var zero flow.Key
		wantFromA := zero.Set(&pkts[i])
		k := dirty
		if fromA := k.Set(&pkts[i]); k != zero || fromA != wantFromA {
			t.Errorf("packet %d: over a dirty key Set gives %+v %v, over a zero one %+v %v", i, k, fromA, zero, wantFromA)
		}
		if kk, fromA := flow.KeyOf(&pkts[i]); kk != zero || fromA != wantFromA {
			t.Errorf("packet %d: KeyOf gives %+v %v, Set %+v %v", i, kk, fromA, zero, wantFromA)
		}
		if zero.VLAN != pkts[i].VLAN || zero.Proto != uint8(pkts[i].Proto) {
			t.Errorf("packet %d: key %+v does not carry the packet's VLAN and protocol", i, zero)
		}
	}
}
