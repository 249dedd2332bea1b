package loss

import (
	"math/rand/v2"
	"net"
	"reflect"
	"testing"
	"time"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// rseg is one generated TCP segment of flow sport (client 10.9.0.1:sport,
// server 10.9.0.2:80).
type rseg struct {
	sport          uint16
	fromB          bool
	seq, ack       uint32
	syn, ackf, rst bool
	fin, frag      bool
	n              int
	ns             int64
	ipid           uint16
	ts             uint32
	sack           [][2]uint32
	gap            uint64
}

func segFrame(t testing.TB, s rseg) *join.Frame {
	src, dst := net.IP{10, 9, 0, 1}, net.IP{10, 9, 0, 2}
	sp, dp := layers.TCPPort(s.sport), layers.TCPPort(80)
	if s.fromB {
		src, dst, sp, dp = dst, src, dp, sp
	}
	tcp := &layers.TCP{SrcPort: sp, DstPort: dp, Seq: s.seq, Ack: s.ack, SYN: s.syn, ACK: s.ackf, RST: s.rst, FIN: s.fin, Window: 1000 + s.ipid%3000}
	if s.syn {
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindMSS, OptionLength: 4, OptionData: []byte{5, 0xb4}},
			layers.TCPOption{OptionType: layers.TCPOptionKindWindowScale, OptionLength: 3, OptionData: []byte{7}})
	}
	if s.ts != 0 {
		o := []byte{byte(s.ts >> 24), byte(s.ts >> 16), byte(s.ts >> 8), byte(s.ts), 0, 0, 0, 0}
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindTimestamps, OptionLength: 10, OptionData: o})
	}
	for _, b := range s.sack {
		l, r := b[0], b[1]
		o := []byte{byte(l >> 24), byte(l >> 16), byte(l >> 8), byte(l), byte(r >> 24), byte(r >> 16), byte(r >> 8), byte(r)}
		tcp.Options = append(tcp.Options, layers.TCPOption{OptionType: layers.TCPOptionKindSACK, OptionLength: 10, OptionData: o})
	}
	ip := &layers.IPv4{Version: 4, TTL: 60, Protocol: layers.IPProtocolTCP, SrcIP: src, DstIP: dst, Id: s.ipid}
	tcp.SetNetworkLayerForChecksum(ip)
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, s.n))); err != nil {
		t.Fatal(err)
	}
	b := append([]byte(nil), buf.Bytes()...)
	if s.frag {
		b[14+6], b[14+7] = 0, 1 // a later fragment: offset 8 bytes, no more fragments
	}
	return &join.Frame{Frame: &reader.Frame{TimestampNs: s.ns, CapLen: len(b), OrigLen: len(b), LinkType: layers.LinkTypeEthernet, Data: b}, GapBefore: s.gap}
}

// messyTCP generates nframes segments over nflows flows (some hot), with
// handshakes and sequence rebases, resets, FINs, holes, retransmissions,
// SACKs, later fragments, exact duplicates, recorded gaps and idle pauses:
// every path of the TCP accounting, in any order.
func messyTCP(t testing.TB, seed uint64, nflows, nframes int) []*join.Frame {
	r := rand.New(rand.NewPCG(seed, 7))
	type side struct {
		seq  uint32
		ipid uint16
	}
	fl := make([][2]side, nflows)
	tsv := make([]uint32, nflows)
	for i := range fl {
		fl[i][0].seq, fl[i][1].seq, tsv[i] = r.Uint32(), r.Uint32(), r.Uint32()
	}
	var out []*join.Frame
	ns := int64(1.7e18)
	for range nframes {
		i := r.IntN(nflows)
		if r.IntN(2) == 0 {
			i = r.IntN(max(1, nflows/10))
		}
		ns += int64(r.IntN(3)) * int64(r.ExpFloat64()*float64(50*time.Millisecond))
		if r.IntN(200) == 0 {
			ns += int64(2 * time.Second) // ends idle flows
		}
		s := rseg{sport: uint16(1000 + i), ns: ns, fromB: r.IntN(3) == 0, ackf: r.IntN(10) > 0}
		if r.IntN(4) == 0 {
			tsv[i] += uint32(r.IntN(5))
			s.ts = tsv[i]
		}
		me, peer := &fl[i][0], &fl[i][1]
		if s.fromB {
			me, peer = peer, me
		}
		me.ipid += uint16(1 + r.IntN(2))
		s.ipid = me.ipid
		switch k := r.IntN(40); {
		case k == 0:
			s.syn, s.ackf = true, s.fromB
			if r.IntN(2) == 0 {
				me.seq = r.Uint32()
			}
			s.seq = me.seq
			me.seq++
		case k == 1:
			s.rst, s.seq = true, me.seq
		case k <= 6: // a hole before it
			me.seq += uint32(r.IntN(3000))
			s.seq, s.n = me.seq, r.IntN(1400)
			me.seq += uint32(s.n)
		case k <= 10: // a retransmission or a hole filled
			s.n = 1 + r.IntN(1400)
			s.seq = me.seq - uint32(r.IntN(5000))
		case k == 11:
			s.seq, s.fin = me.seq, true
			me.seq++
		case k == 12:
			s.frag, s.seq = true, me.seq
		default:
			s.seq, s.n = me.seq, r.IntN(1400)
			me.seq += uint32(s.n)
		}
		s.ack = peer.seq - uint32(r.IntN(3)*r.IntN(3000))
		if r.IntN(8) == 0 {
			b := peer.seq - uint32(r.IntN(6000))
			s.sack = [][2]uint32{{b, b + uint32(r.IntN(3000))}}
		}
		if r.IntN(50) == 0 {
			s.gap = uint64(1 + r.IntN(5))
		}
		f := segFrame(t, s)
		if r.IntN(300) == 0 {
			out = append(out, f) // a mirror port's copy
		}
		out = append(out, f)
	}
	return out
}

func runEngine(frames []*join.Frame, cfg Config, prefetch bool) *Summary {
	e := NewEngine(cfg)
	if !prefetch {
		for _, f := range frames {
			e.Add(f)
		}
		return e.Finish(nil)
	}
	d := decode.NewDecoder()
	pkts := make([]decode.Packet, len(frames))
	keys := make([]flowKey, len(frames))
	for i, f := range frames {
		d.Decode(f.LinkType, f.Data, &pkts[i])
		pkts[i].OrigLen = f.OrigLen
		keys[i].compute(&pkts[i], e.tbl.Hasher())
	}
	for i := range frames {
		prefetchAhead(e, keys, i) // as AddBatch does, while the state changes under it
		e.addKeyed(frames[i], &pkts[i], &keys[i], nil, -1)
	}
	return e.Finish(nil)
}

// TestPackDifferential runs messy TCP traffic (idle ends, evictions, port
// reuse included) with nothing packed and with a few states unpacked at
// most, with and without Prefetch, and requires the same summary, every
// flow's figures included.
func TestPackDifferential(t *testing.T) {
	for seed := uint64(1); seed <= 8; seed++ {
		nflows := []int{3, 20, 200, 2000}[seed%4]
		frames := messyTCP(t, seed, nflows, 20000)
		for _, maxFlows := range []int{0, nflows/2 + 1} {
			base := Config{KeepFlows: true, KeepGaps: true, IdleTimeout: 20 * time.Second, MaxFlows: maxFlows, Epoch: 997, Unpacked: -1}
			want := runEngine(frames, base, false)
			if want.Flows.HoleEvents == 0 || want.Flows.Retransmission == 0 {
				t.Fatalf("seed %d: the traffic has no hole or retransmission", seed)
			}
			for _, unpacked := range []int{1, 5, 50} {
				c := base
				c.Unpacked = unpacked
				for _, prefetch := range []bool{false, true} {
					if got := runEngine(frames, c, prefetch); !reflect.DeepEqual(want, got) {
						t.Errorf("seed %d, %d flows, MaxFlows %d, Unpacked %d, prefetch %v: the summary differs from the one without packing",
							seed, nflows, maxFlows, unpacked, prefetch)
					}
				}
			}
		}
	}
}

// TestPackQueueBounded checks that the queue of unpacked states does not
// grow with the flows of the capture when they end before any packing is
// needed, and that packing still keeps to the bound afterwards.
func TestPackQueueBounded(t *testing.T) {
	e := NewEngine(Config{IdleTimeout: time.Second, Unpacked: 1000})
	ns := int64(1.7e18)
	for i := range 100_000 { // one short flow at a time, each ended by the idle timeout
		ns += int64(2 * time.Second)
		e.Add(segFrame(t, rseg{sport: uint16(i), seq: uint32(i), ackf: true, n: 10, ns: ns, ipid: 1}))
		if q := len(e.queue) - e.queueHead; q > 2048 {
			t.Fatalf("after %d flows: %d entries queued for %d unpacked states", i+1, q, e.unpacked)
		}
	}
	for round := range 3 { // then 5,000 concurrent flows
		for j := range 5000 {
			ns += 1000
			e.Add(segFrame(t, rseg{sport: uint16(20000 + j), seq: uint32(100 * round), ackf: true, n: 100, ns: ns, ipid: uint16(round + 1)}))
		}
	}
	if e.unpacked > 1000 {
		t.Errorf("%d states unpacked, bound 1000", e.unpacked)
	}
	packed := 0
	for k := range e.packs.cls {
		packed += int(e.packs.cls[k].n)
	}
	if packed < 4000 {
		t.Errorf("%d states packed of 5,000 live flows, want at least 4,000", packed)
	}
}
