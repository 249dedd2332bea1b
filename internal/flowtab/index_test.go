package flowtab

import (
	"math/rand/v2"
	"net/netip"
	"testing"
	"time"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gopacket/gopacket/layers"
)

// TestIndexMatchesMap drives a table through random flow churn (new flows,
// idle expiry, eviction at the cap, port reuse) and checks after every
// frame that the open-addressing index holds exactly the live flows: each
// live flow is found under its key, and the index's count equals the live
// list's length.
func TestIndexMatchesMap(t *testing.T) {
	for _, tc := range []struct {
		name     string
		maxFlows int
		idle     int64
		keys     int
	}{
		{"cap-evicts", 64, 0, 500},
		{"idle-expires", 0, 50, 300},
		{"grows", 0, 0, 5000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(7, 9))
			tbl := NewTable(Options[int]{MaxFlows: tc.maxFlows, IdleTimeout: time.Duration(tc.idle)})
			live := map[flow.Key]uint64{}
			tbl.opt.OnEnd = func(f *Flow[int]) {
				if live[f.Key] != f.ID {
					t.Fatalf("ended flow %d (%v) not the live one", f.ID, f.Key)
				}
				delete(live, f.Key)
			}
			var p decode.Packet
			for n := range 20000 {
				k := rng.IntN(tc.keys)
				p = decode.Packet{Flags: decode.FlagIP | decode.FlagPorts | decode.FlagTCP, IPVersion: 4, Proto: layers.IPProtocolTCP,
					Src: netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(k)}), Dst: netip.AddrFrom4([4]byte{192, 168, 0, 1}),
					SrcPort: uint16(1000 + k%7), DstPort: 80}
				p.TCP.Flags = decode.TCPAck
				if rng.IntN(50) == 0 {
					p.TCP.Flags = decode.TCPSyn
					p.TCP.Seq = rng.Uint32()
				}
				f, _ := tbl.Lookup(&p, int64(n))
				live[f.Key] = f.ID
				if tbl.Len() != len(live) {
					t.Fatalf("frame %d: index holds %d flows, %d live", n, tbl.Len(), len(live))
				}
				if n%97 == 0 {
					for key, id := range live {
						s := find(tbl, &key, tbl.idx.hashKey(&key))
						if s == none || tbl.at(s).ID != id {
							t.Fatalf("frame %d: live flow %d not found", n, id)
						}
					}
				}
			}
			if tc.maxFlows > 0 && tbl.Stats().Evicted == 0 {
				t.Fatal("no eviction happened")
			}
			if tc.idle > 0 && tbl.Stats().Idle == 0 {
				t.Fatal("no idle expiry happened")
			}
		})
	}
}
