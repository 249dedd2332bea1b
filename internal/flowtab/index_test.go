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

// churnCases are the flow churns the index tests drive a table through:
// evictions at a cap of 64 flows, idle expiry, and the index's growth.
var churnCases = []struct {
	name     string
	maxFlows int
	idle     int64
	keys     int // distinct flows the frames pick from
}{
	{"cap-evicts", 64, 0, 500},
	{"idle-expires", 0, 50, 300},
	{"grows", 0, 0, 5000},
}

// TestIndexMatchesMap drives a table through random flow churn (new flows,
// idle expiry, eviction at the cap, port reuse) and checks after every
// frame that the open-addressing index holds exactly the live flows: each
// live flow is found under its key, and the index's count equals the live
// list's length.
func TestIndexMatchesMap(t *testing.T) {
	for _, tc := range churnCases {
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

// TestLookupHint: a hint to LookupKey changes nothing, whatever slot it
// names: the flow's own, another live flow's, one whose flow ended (and
// may have been reused), one never used, or none. Two tables see the same
// churn (new flows, idle expiry, eviction at the cap, port reuse), one
// with hints and one without; every frame must get the same flow and
// direction, and the flows must end in the same order for the same
// reasons.
func TestLookupHint(t *testing.T) {
	for _, tc := range churnCases {
		t.Run(tc.name, func(t *testing.T) {
			rng := rand.New(rand.NewPCG(11, 13))
			type end struct {
				id     uint64
				reason flow.Reason
			}
			var endsA, endsB []end
			var ended []int32 // slots of B's ended flows
			a := NewTable(Options[int]{MaxFlows: tc.maxFlows, IdleTimeout: time.Duration(tc.idle),
				OnEnd: func(f *Flow[int]) { endsA = append(endsA, end{f.ID, f.Reason}) }})
			var b *Table[int]
			b = NewTable(Options[int]{MaxFlows: tc.maxFlows, IdleTimeout: time.Duration(tc.idle),
				OnEnd: func(f *Flow[int]) {
					endsB = append(endsB, end{f.ID, f.Reason})
					for s := range b.used {
						if b.at(s) == f {
							ended = append(ended, s)
						}
					}
				}})
			kinds := [5]int{}
			for n := range 20000 {
				k := rng.IntN(tc.keys)
				p := decode.Packet{Flags: decode.FlagIP | decode.FlagPorts | decode.FlagTCP, IPVersion: 4, Proto: layers.IPProtocolTCP,
					Src: netip.AddrFrom4([4]byte{10, 0, byte(k >> 8), byte(k)}), Dst: netip.AddrFrom4([4]byte{192, 168, 0, 1}),
					SrcPort: uint16(1000 + k%7), DstPort: 80}
				if rng.IntN(2) == 0 {
					p.Src, p.Dst, p.SrcPort, p.DstPort = p.Dst, p.Src, p.DstPort, p.SrcPort
				}
				p.TCP.Flags = decode.TCPAck
				if rng.IntN(50) == 0 {
					p.TCP.Flags = decode.TCPSyn
					p.TCP.Seq = rng.Uint32()
				}
				if rng.IntN(20) == 0 {
					// Nothing decoded: the zero key, which an ended flow's
					// record (zeroed) has too.
					p = decode.Packet{}
				}
				key, fromA := flow.KeyOf(&p)
				h := b.idx.hashKey(&key)
				hint := none
				switch kind := rng.IntN(5); kind {
				case 0: // the flow's own slot, if it is live
					hint = find(b, &key, h)
				case 1: // any slot, or one past the used ones
					hint = int32(rng.IntN(int(b.used)+3)) - 1
				case 2: // a slot whose flow ended
					if len(ended) > 0 {
						hint = ended[rng.IntN(len(ended))]
					}
				case 3: // the slot PeekSlot gives, as the prefetch takes it
					hint = b.PeekSlot(h)
				}
				fa, da := a.Lookup(&p, int64(n))
				fb, db := b.LookupKey(&p, &key, fromA, h, hint, int64(n))
				if hint >= 0 && hint < b.used {
					kinds[0]++
					if b.at(hint) != fb {
						kinds[1]++ // a hint naming another slot than the flow's
					}
				}
				if fa.ID != fb.ID || da != db || fa.Key != fb.Key || fa.Packets != fb.Packets {
					t.Fatalf("frame %d (hint %d): flow %d dir %v with no hint, %d dir %v with it", n, hint, fa.ID, da, fb.ID, db)
				}
			}
			if len(endsA) != len(endsB) {
				t.Fatalf("%d flows ended with no hint, %d with hints", len(endsA), len(endsB))
			}
			for i := range endsA {
				if endsA[i] != endsB[i] {
					t.Fatalf("end %d: %+v with no hint, %+v with hints", i, endsA[i], endsB[i])
				}
			}
			if a.Stats() != b.Stats() {
				t.Fatalf("stats %+v with no hint, %+v with hints", a.Stats(), b.Stats())
			}
			if kinds[0] == 0 || kinds[1] == 0 {
				t.Fatalf("the hints never named a slot (%d) or never a wrong one (%d)", kinds[0], kinds[1])
			}
		})
	}
}
