package flow

import (
	"encoding/binary"
	"math/rand/v2"
	"net/netip"
	"testing"
)

// TestHalves holds halves, which reads netip.Addr's own words, to As16
// for addresses of every kind, and the check that allows it to be true
// on the Go release that builds gapan (else Key.Set silently takes the
// slower path): a release that changes netip.Addr fails here.
func TestHalves(t *testing.T) {
	if !addrWords {
		t.Fatal("netip.Addr does not begin with its 16-byte form's halves on this Go release: Key.Set reads As16, which stalls every frame (see halves)")
	}
	r := rand.New(rand.NewPCG(3, 4))
	addrs := []netip.Addr{{}, netip.IPv6Unspecified(), netip.MustParseAddr("0.0.0.0"), netip.MustParseAddr("fe80::1%eth0")}
	for range 10000 {
		var b [16]byte
		for i := range b {
			b[i] = byte(r.Uint32())
		}
		addrs = append(addrs, netip.AddrFrom16(b), netip.AddrFrom4([4]byte(b[:4])))
	}
	for _, fast := range []bool{true, false} {
		addrWords = fast
		for _, a := range addrs {
			b := a.As16()
			hi, lo := halves(&a)
			if hi != binary.BigEndian.Uint64(b[:8]) || lo != binary.BigEndian.Uint64(b[8:]) {
				t.Fatalf("fast %v: halves(%v) = %#x %#x, As16 %x", fast, a, hi, lo, b)
			}
			var k [16]byte
			putAddr(&k, hi, lo)
			if k != b {
				t.Fatalf("fast %v: putAddr of %v's halves gives %x, want %x", fast, a, k, b)
			}
		}
	}
	addrWords = true
}
