package loss

import (
	"net/netip"
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
)

// keyPkts returns 1,024 TCP/IPv4 packets of as many flows, half of them
// from endpoint B.
func keyPkts() []decode.Packet {
	ps := make([]decode.Packet, 1024)
	for i := range ps {
		p := &ps[i]
		p.Flags = decode.FlagIP | decode.FlagPorts
		p.IPVersion = 4
		p.Src = netip.AddrFrom4([4]byte{10, 0, byte(i >> 8), byte(i)})
		p.Dst = netip.AddrFrom4([4]byte{10, 1, 0, 1})
		p.SrcPort, p.DstPort = uint16(i), 80
		if i%2 == 0 {
			p.Src, p.Dst = p.Dst, p.Src
		}
	}
	return ps
}

// BenchmarkFlowKeyOf is the key and hash of a frame as Batch.Add made them
// before flow.Key.Set: the key returned by flow.KeyOf, then copied.
func BenchmarkFlowKeyOf(b *testing.B) {
	ps := keyPkts()
	hs := flowtab.NewTable[int](flowtab.Options[int]{}).Hasher()
	ks := make([]flowKey, len(ps))
	for i := 0; i < b.N; i++ {
		k := &ks[i&1023]
		k.Key, k.FromA = flow.KeyOf(&ps[i&1023])
		k.Hash = hs.Hash(&k.Key)
	}
}

// BenchmarkFlowKeyCompute is the key and hash of a frame as Batch.Add
// makes them (flowKey.compute).
func BenchmarkFlowKeyCompute(b *testing.B) {
	ps := keyPkts()
	hs := flowtab.NewTable[int](flowtab.Options[int]{}).Hasher()
	ks := make([]flowKey, len(ps))
	for i := 0; i < b.N; i++ {
		ks[i&1023].compute(&ps[i&1023], hs)
	}
}
