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
		p.Src, p.Dst, p.SrcPort, p.DstPort = dst, src, dp, sp
		k2, fromA2 := flow.KeyOf(&p)
		if k2 != k || (fromA2 == fromA && !(src == dst && sp == dp)) {
			t.Fatalf("case %d: reverse direction gives key %v fromA %v, forward %v %v", i, k2, fromA2, k, fromA)
		}
	}
}
