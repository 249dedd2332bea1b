package flowtab_test

import (
	"net/netip"
	"testing"
	"time"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gopacket/gopacket/layers"
)

func udpPacket(src, dst string, sport, dport uint16) decode.Packet {
	return decode.Packet{
		Flags: decode.FlagIP | decode.FlagPorts, IPVersion: 4, Proto: layers.IPProtocolUDP,
		Src: netip.MustParseAddr(src), Dst: netip.MustParseAddr(dst), SrcPort: sport, DstPort: dport,
		CapLen: 100, OrigLen: 120,
	}
}

func TestKeyCanonicalAndDirection(t *testing.T) {
	a := udpPacket("10.0.0.2", "10.0.0.1", 5000, 53)
	b := udpPacket("10.0.0.1", "10.0.0.2", 53, 5000)
	ka, fromA := flow.KeyOf(&a)
	kb, fromB := flow.KeyOf(&b)
	if ka != kb || fromA == fromB {
		t.Fatalf("keys %v/%v fromA %v/%v", ka, kb, fromA, fromB)
	}
	if got := ka.String(); got != "UDP 10.0.0.1:53 <-> 10.0.0.2:5000" {
		t.Errorf("String() = %q", got)
	}
	// VLANs separate flows.
	c := a
	c.VLAN = [2]uint16{100, 200}
	c.VLANCount = 2
	if kc, _ := flow.KeyOf(&c); kc == ka || kc.VLAN != [2]uint16{100, 200} {
		t.Errorf("VLAN not in key: %v", kc)
	}
	// Non-IP frames are keyed by EtherType.
	arp := decode.Packet{Flags: decode.FlagNonIP, EtherType: layers.EthernetTypeARP}
	if k, _ := flow.KeyOf(&arp); k.EtherType != 0x0806 || k.IPVersion != 0 || k.String() != "ether 0x0806" {
		t.Errorf("ARP key %v", k)
	}

	tab := flowtab.NewTable(flowtab.Options[int]{})
	f1, d1 := tab.Lookup(&a, 1)
	f2, d2 := tab.Lookup(&b, 2)
	f3, d3 := tab.Lookup(&a, 3)
	if f1 != f2 || f2 != f3 || d1 != flow.Forward || d2 != flow.Reverse || d3 != flow.Forward {
		t.Fatalf("directions %v %v %v", d1, d2, d3)
	}
	if f1.Packets != [2]uint64{2, 1} || f1.Bytes != [2]uint64{240, 120} || f1.LastNs != 3 {
		t.Errorf("counters %+v", f1)
	}
	if f1.Initiator() != netip.MustParseAddrPort("10.0.0.2:5000") || f1.Responder() != netip.MustParseAddrPort("10.0.0.1:53") {
		t.Errorf("initiator %v responder %v", f1.Initiator(), f1.Responder())
	}
	f1.State = 42 // state lives inline in the record
	if g, _ := tab.Lookup(&b, 4); g.State != 42 {
		t.Errorf("state %d", g.State)
	}
}

func TestIdleTimeout(t *testing.T) {
	var ended []flowtab.Flow[int]
	tab := flowtab.NewTable(flowtab.Options[int]{IdleTimeout: 10 * time.Second, OnEnd: func(f *flowtab.Flow[int]) { ended = append(ended, *f) }})
	sec := int64(time.Second)
	p1 := udpPacket("10.0.0.1", "10.0.0.2", 1, 2)
	p2 := udpPacket("10.0.0.1", "10.0.0.3", 1, 2)
	tab.Lookup(&p1, 0)
	tab.Lookup(&p2, 5*sec)
	tab.Lookup(&p1, 10*sec) // exactly the timeout: not idle yet
	tab.Lookup(&p2, 15*sec) // gap 10 s: alive
	f, _ := tab.Lookup(&p2, 20*sec+1)
	// p1 last seen at 10 s: idle for 10 s + 1 ns at this frame.
	if len(ended) != 1 || ended[0].ID != 0 || ended[0].Reason != flow.ReasonIdle || ended[0].Frames() != 2 {
		t.Fatalf("ended %+v", ended)
	}
	if f.ID != 1 {
		t.Errorf("p2 flow id %d", f.ID)
	}
	// p1 again: a new flow with the next id.
	g, dir := tab.Lookup(&p1, 21*sec)
	if g.ID != 2 || dir != flow.Forward || g.Frames() != 1 {
		t.Errorf("new flow %+v", g)
	}
	f.State = 7 // the records Flush ends stay valid after it, with their state
	tab.Flush()
	if len(ended) != 3 || ended[1].ID != 1 || ended[2].ID != 2 || ended[2].Reason != flow.ReasonEndOfCapture {
		t.Errorf("flush order %+v", ended)
	}
	// Flushed gives the same records, in the same order, not the idle one.
	var flushed []*flowtab.Flow[int]
	for r := range tab.Flushed() {
		flushed = append(flushed, r)
	}
	if len(flushed) != 2 || flushed[0] != f || flushed[0].ID != 1 || flushed[0].State != 7 || flushed[0].Frames() != 3 ||
		flushed[1].ID != 2 || flushed[1].Reason != flow.ReasonEndOfCapture || flushed[1].Frames() != 1 {
		t.Errorf("Flushed %+v", flushed)
	}
	st := tab.Stats()
	if st.Idle != 1 || st.Flows != 3 || st.EndOfInput != 2 || st.Live != 0 || st.PeakLive != 2 {
		t.Errorf("stats %+v", st)
	}
}

func TestMaxFlowsEviction(t *testing.T) {
	var ended []uint64
	var reasons []flow.Reason
	tab := flowtab.NewTable(flowtab.Options[struct{}]{MaxFlows: 3, OnEnd: func(f *flowtab.Flow[struct{}]) {
		ended = append(ended, f.ID)
		reasons = append(reasons, f.Reason)
	}})
	pk := func(port uint16) *decode.Packet { p := udpPacket("10.0.0.1", "10.0.0.2", port, 53); return &p }
	for i, port := range []uint16{1, 2, 3, 1, 4, 5, 1, 6} {
		tab.Lookup(pk(port), int64(i))
		if tab.Len() > 3 {
			t.Fatalf("%d live flows", tab.Len())
		}
	}
	// Least recently active is evicted: 2 (at port 4), 3 (at 5), 4 (at 6).
	want := []uint64{1, 2, 3}
	if len(ended) != 3 || ended[0] != want[0] || ended[1] != want[1] || ended[2] != want[2] {
		t.Fatalf("evicted ids %v, want %v", ended, want)
	}
	for _, r := range reasons {
		if r != flow.ReasonEvicted {
			t.Errorf("reason %v", r)
		}
	}
	if st := tab.Stats(); st.Evicted != 3 || st.Flows != 6 || st.Live != 3 || st.PeakLive != 3 {
		t.Errorf("stats %+v", st)
	}
}

// TestMemoryBoundedByLiveFlows runs a million one-frame flows through a
// table capped at 1000 and checks the record storage stays at one chunk.
func TestMemoryBoundedByLiveFlows(t *testing.T) {
	tab := flowtab.NewTable(flowtab.Options[[64]byte]{MaxFlows: 1000})
	p := udpPacket("10.0.0.1", "10.0.0.2", 0, 53)
	for i := 0; i < 1_000_000; i++ {
		p.SrcPort = uint16(i)
		p.Src = netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		tab.Lookup(&p, int64(i))
	}
	st := tab.Stats()
	if st.Live != 1000 || st.Evicted != 1_000_000-1000 {
		t.Fatalf("stats %+v", st)
	}
	allocs := testing.AllocsPerRun(1000, func() {
		p.SrcPort++
		tab.Lookup(&p, 2_000_000)
	})
	if allocs > 0.01 {
		t.Errorf("%.2f allocs per new flow at the cap", allocs)
	}
}
