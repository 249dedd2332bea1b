package accuracy

import (
	"bytes"
	"io"
	"math"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/oracle"
	"github.com/gapan/gapan/sidecar"
	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// These tests show two limits of what any analyzer can tell from a
// damaged capture and its sidecar, whatever its method, by building two
// original captures that differ inside a recorded gap only: deleting the
// gap's frames leaves the same damaged capture and the same sidecar, yet
// the truths differ. Whatever an analyzer says about the damaged capture
// is wrong for one of the two (docs/accuracy.md, "What no analyzer can
// tell").

// seg is one frame of a built capture: a TCP segment of flow (its client
// port) from the client (up) or the server.
type seg struct {
	port     uint16
	up       bool
	seq, ack uint32
	n        int
	syn, fin bool
}

// conv builds a capture of segs, one every 100 µs, and returns its path.
func conv(t *testing.T, name string, segs []seg) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	w := pcapgo.NewWriterNanos(f)
	if err := w.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	ts := time.Unix(1_700_000_000, 0)
	for i, s := range segs {
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}, Id: uint16(i + 1), Flags: layers.IPv4DontFragment}
		tcp := &layers.TCP{SrcPort: layers.TCPPort(s.port), DstPort: 80, Seq: s.seq, Ack: s.ack, ACK: !s.syn || !s.up, SYN: s.syn, FIN: s.fin, Window: 65535}
		if !s.up {
			ip.SrcIP, ip.DstIP = ip.DstIP, ip.SrcIP
			tcp.SrcPort, tcp.DstPort = tcp.DstPort, tcp.SrcPort
		}
		if err := tcp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, eth, ip, tcp, gopacket.Payload(make([]byte, s.n))); err != nil {
			t.Fatal(err)
		}
		b := buf.Bytes()
		ci := gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(i) * 100 * time.Microsecond), CaptureLength: len(b), Length: len(b)}
		if err := w.WritePacket(ci, b); err != nil {
			t.Fatal(err)
		}
	}
	return path
}

// download is a connection on client port p: handshake, then n server
// segments of 1000 bytes each acknowledged by the client.
type download struct {
	port       uint16
	srv, cli   uint32 // next sequence numbers
	handshaken bool
}

func (d *download) handshake() []seg {
	d.srv, d.cli = 5001, 1001
	return []seg{
		{port: d.port, up: true, seq: 1000, syn: true},
		{port: d.port, seq: 5000, ack: 1001, syn: true},
		{port: d.port, up: true, seq: 1001, ack: 5001},
	}
}

func (d *download) data(n int) []seg {
	var out []seg
	for range n {
		out = append(out, seg{port: d.port, seq: d.srv, ack: d.cli, n: 1000})
		d.srv += 1000
		out = append(out, seg{port: d.port, up: true, seq: d.cli, ack: d.srv})
	}
	return out
}

func (d *download) fin() []seg {
	s := []seg{{port: d.port, seq: d.srv, ack: d.cli, fin: true}}
	d.srv++
	return s
}

// thin deletes frames first..last of path with gapan simulate and returns
// the damaged capture's bytes, its sidecar's records and the path.
func thin(t *testing.T, path string, first, last uint64) ([]byte, []sidecar.Record, string) {
	t.Helper()
	out := filepath.Join(t.TempDir(), "damaged.pcap")
	m := simulate.List{Ranges: [][2]uint64{{first, last}}}
	if _, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: m, Seed: 1}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sidecar.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var recs []sidecar.Record
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		recs = append(recs, rec)
	}
	return b, recs, out
}

// TestLimitWhoseFramesAGapHeld: two downloads, X and Y, each end inside a
// 101-frame gap. In original A, X's server sends 99 data segments there
// before its FIN and Y's only its FIN; in B the other way round. The
// damaged captures and sidecars are the same, so every analyzer gives X
// and Y the same estimate in both, and its worst flow errs by at least
// half the gap in one of them: issue 15's "worst flow within 10 % of the
// gap" cannot hold for every capture. The truth per flow is counted here
// from the built captures, independently of gapan.
func TestLimitWhoseFramesAGapHeld(t *testing.T) {
	build := func(name string, xIn, yIn int) (string, uint64, uint64) {
		x, y, z := &download{port: 1000}, &download{port: 2000}, &download{port: 3000}
		var s []seg
		s = append(s, x.handshake()...)
		s = append(s, y.handshake()...)
		s = append(s, z.handshake()...)
		for range 5 {
			s = append(s, x.data(1)...)
			s = append(s, y.data(1)...)
			s = append(s, z.data(1)...)
		}
		first := uint64(len(s) + 1)
		// Inside the gap: the server's segments only (a one-way burst),
		// then each flow's FIN.
		for _, d := range []struct {
			dl *download
			n  int
		}{{x, xIn}, {y, yIn}} {
			for range d.n {
				s = append(s, seg{port: d.dl.port, seq: d.dl.srv, ack: d.dl.cli, n: 1000})
				d.dl.srv += 1000
			}
			s = append(s, d.dl.fin()...)
		}
		last := uint64(len(s))
		s = append(s, z.data(3)...)
		return conv(t, name, s), first, last
	}
	pathA, firstA, lastA := build("a.pcap", 99, 0)
	pathB, firstB, lastB := build("b.pcap", 0, 99)
	if firstA != firstB || lastA != lastB {
		t.Fatalf("the gaps differ: %d-%d and %d-%d", firstA, lastA, firstB, lastB)
	}
	gap := float64(lastA - firstA + 1)
	capA, recsA, damagedA := thin(t, pathA, firstA, lastA)
	capB, recsB, damagedB := thin(t, pathB, firstB, lastB)
	if !bytes.Equal(capA, capB) || len(recsA) != 1 || len(recsB) != 1 || recsA[0] != recsB[0] {
		t.Fatalf("the damaged captures or sidecars differ: %d and %d bytes, records %v and %v", len(capA), len(capB), recsA, recsB)
	}
	// The truth, from the oracle (gopacket, no gapan code): the frames
	// each flow lost.
	truth := func(path string, first, last uint64) map[uint16]float64 {
		c, err := oracle.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		del := map[uint64]bool{}
		for n := first; n <= last; n++ {
			del[n] = true
		}
		m := map[uint16]float64{}
		for _, fl := range c.Compute(del).Flows {
			m[fl.Src.Port()] += float64(fl.Deleted)
		}
		return m
	}
	sumA, err := gapan(damagedA, false)
	if err != nil {
		t.Fatal(err)
	}
	sumB, err := gapan(damagedB, false)
	if err != nil {
		t.Fatal(err)
	}
	est := map[uint16]float64{}
	for _, f := range sumA.List {
		est[f.SrcPort] = f.EstLost
	}
	for _, f := range sumB.List {
		if est[f.SrcPort] != f.EstLost {
			t.Fatalf("flow %d: est_lost %v and %v on the same damaged capture", f.SrcPort, est[f.SrcPort], f.EstLost)
		}
	}
	worst := func(tr map[uint16]float64) float64 {
		w := 0.0
		for p, n := range tr {
			w = max(w, math.Abs(est[p]-n))
		}
		return w
	}
	trA, trB := truth(pathA, firstA, lastA), truth(pathB, firstB, lastB)
	if trA[1000] != 100 || trA[2000] != 1 || trB[1000] != 1 || trB[2000] != 100 {
		t.Fatalf("the oracle's truth %v and %v is not the construction's", trA, trB)
	}
	wA, wB := worst(trA), worst(trB)
	t.Logf("gap %v frames; est_lost X %.1f, Y %.1f; worst flow error %.1f (A) and %.1f (B)", gap, est[1000], est[2000], wA, wB)
	// The same estimate e for X on both, and |e-100| + |e-1| >= 99 for
	// any e: on one of the two captures X errs by 49.5 frames or more,
	// 49 % of the gap, where issue 15 asks 10 %.
}

// TestLimitHowTheBytesWereCut: a download loses 2,000 bytes in a 2-frame
// gap. In original A one segment carried them (a GRO or TSO frame, as
// ndpi-netflix's 2,896-byte frames) next to a duplicate pure ACK; in B
// two segments of 1,000. The damaged captures and sidecars are the same,
// and the oracle counts 1 lost segment for A and 2 for B: no analyzer's
// segment count is within 5 % of both (issue 15's per-run segment target
// is met over the suite's totals, not run by run; docs/accuracy.md).
func TestLimitHowTheBytesWereCut(t *testing.T) {
	build := func(name string, gro bool) (string, uint64, uint64) {
		d := &download{port: 1000}
		s := d.handshake()
		s = append(s, d.data(5)...)
		first := uint64(len(s) + 1)
		if gro {
			s = append(s, seg{port: d.port, seq: d.srv, ack: d.cli, n: 2000},
				seg{port: d.port, up: true, seq: d.cli, ack: d.srv}) // repeats the last ACK
		} else {
			s = append(s, seg{port: d.port, seq: d.srv, ack: d.cli, n: 1000},
				seg{port: d.port, seq: d.srv + 1000, ack: d.cli, n: 1000})
		}
		d.srv += 2000
		last := uint64(len(s))
		s = append(s, seg{port: d.port, up: true, seq: d.cli, ack: d.srv})
		s = append(s, d.data(3)...)
		return conv(t, name, s), first, last
	}
	pathA, first, last := build("a.pcap", true)
	pathB, _, _ := build("b.pcap", false)
	capA, recsA, damaged := thin(t, pathA, first, last)
	capB, recsB, _ := thin(t, pathB, first, last)
	if !bytes.Equal(capA, capB) || len(recsA) != 1 || len(recsB) != 1 || recsA[0] != recsB[0] {
		t.Fatalf("the damaged captures or sidecars differ: %d and %d bytes, records %v and %v", len(capA), len(capB), recsA, recsB)
	}
	segs := func(path string) uint64 {
		c, err := oracle.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		tr := c.Compute(map[uint64]bool{first: true, last: true})
		if len(tr.Flows) != 1 || tr.Flows[0].TCP == nil || tr.Flows[0].TCP.CaptureLostBytes != 2000 {
			t.Fatalf("%s: want one TCP flow that lost 2,000 bytes, got %+v", path, tr.Flows)
		}
		return tr.Flows[0].TCP.CaptureLostSegments
	}
	sa, sb := segs(pathA), segs(pathB)
	if sa != 1 || sb != 2 {
		t.Fatalf("the oracle counts %d and %d lost segments, want 1 and 2", sa, sb)
	}
	sum, err := gapan(damaged, false)
	if err != nil {
		t.Fatal(err)
	}
	// Whatever gapan (or anything else) counts, it is the same for both,
	// and 1 and 2 are 50 % apart.
	t.Logf("gapan: %d capture-lost segments; the truth is 1 (A) or 2 (B)", sum.List[0].CaptureLostSegments)
}

// TestLimitWhichHoleAGapExplains: two downloads each miss one segment
// that their receivers acknowledge, and one recorded frame was lost in
// the brackets of both. In original A, flow X's segment is the frame the
// gap lost and flow Y's was never captured (loss the sidecar did not
// see: a NIC or a mirror port); in B the other way round. The damaged
// captures and sidecars are the same, so an analyzer explains the same
// flow's loss in both, and is wrong about which flow's loss the socket's
// counter saw in one of them (ndpi-netflix, uniform 1 %, seed 2: frame
// 1134 is such a frame, whose gap gapan gives to another flow's own loss).
func TestLimitWhichHoleAGapExplains(t *testing.T) {
	build := func(name string, xInGap bool) (string, uint64) {
		x, y := &download{port: 1000}, &download{port: 2000}
		var s []seg
		s = append(s, x.handshake()...)
		s = append(s, y.handshake()...)
		s = append(s, x.data(2)...)
		s = append(s, y.data(2)...)
		// Each server sends a segment the capture lacks: the one in the
		// gap (deleted below) or one never captured (left out here).
		var gap uint64
		for _, d := range []struct {
			dl    *download
			inGap bool
		}{{x, xInGap}, {y, !xInGap}} {
			if d.inGap {
				s = append(s, seg{port: d.dl.port, seq: d.dl.srv, ack: d.dl.cli, n: 1000})
				gap = uint64(len(s))
			}
			d.dl.srv += 1000
		}
		s = append(s, x.data(2)...)
		s = append(s, y.data(2)...)
		return conv(t, name, s), gap
	}
	pathA, gapA := build("a.pcap", true)
	pathB, gapB := build("b.pcap", false)
	if gapA != gapB {
		t.Fatalf("the gaps differ: frame %d and %d", gapA, gapB)
	}
	capA, recsA, damaged := thin(t, pathA, gapA, gapA)
	capB, recsB, _ := thin(t, pathB, gapB, gapB)
	if !bytes.Equal(capA, capB) || len(recsA) != 1 || len(recsB) != 1 || recsA[0] != recsB[0] {
		t.Fatalf("the damaged captures or sidecars differ: %d and %d bytes, records %v and %v", len(capA), len(capB), recsA, recsB)
	}
	// The oracle: which flow's capture-lost bytes the deletion caused.
	deletedFrom := func(path string, gap uint64) uint16 {
		c, err := oracle.Load(path)
		if err != nil {
			t.Fatal(err)
		}
		var port uint16
		for _, fl := range c.Compute(map[uint64]bool{gap: true}).Flows {
			if fl.TCP != nil && fl.TCP.CaptureLostBytes == 1000 {
				port = fl.Src.Port()
			}
		}
		return port
	}
	if a, b := deletedFrom(pathA, gapA), deletedFrom(pathB, gapB); a != 1000 || b != 2000 {
		t.Fatalf("the oracle says the deletion took flow %d's and flow %d's segment, want 1000 and 2000", a, b)
	}
	sum, err := gapan(damaged, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range sum.List {
		t.Logf("gapan: flow %d: %d capture-lost bytes, %d explained", f.SrcPort, f.CaptureLostBytes, f.CaptureExplainedBytes)
	}
}
