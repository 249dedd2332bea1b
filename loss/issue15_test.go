package loss_test

// Regression tests for the attribution errors of issue 15, each on the
// corpus frames the issue names. Expected figures come from the frames
// themselves (read with gopacket's layers) or from the frames that
// simulate deleted, never from the engine's own output.

import (
	"io"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

func corpusPath(name string) string { return filepath.Join("..", "testdata", "corpus", name) }

// frames returns every frame of a pcap decoded by gopacket, indexed by
// Wireshark's frame number (frames[0] is nil).
func frames(t *testing.T, path string) []gopacket.Packet {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	out := []gopacket.Packet{nil}
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, r.LinkType(), gopacket.Default)
		p.Metadata().CaptureInfo = ci
		out = append(out, p)
	}
	return out
}

func tcpOf(p gopacket.Packet) *layers.TCP {
	if l, ok := p.Layer(layers.LayerTypeTCP).(*layers.TCP); ok {
		return l
	}
	return nil
}

func ip4Of(p gopacket.Packet) *layers.IPv4 {
	if l, ok := p.Layer(layers.LayerTypeIPv4).(*layers.IPv4); ok {
		return l
	}
	return nil
}

// simulated deletes the frames of model from a corpus capture and
// returns the thinned capture (with its ground-truth sidecar).
func simulated(t *testing.T, name, model string, seed uint64) string {
	t.Helper()
	return simulatedFile(t, corpusPath(name), model, seed)
}

// flowWithPort returns the flow with an endpoint on TCP/UDP port port
// (and, when ip is not empty, that address).
func flowWithPort(t *testing.T, sum *loss.Summary, ip string, port uint16) *loss.Flow {
	t.Helper()
	for _, f := range sum.List {
		if (f.SrcPort == port && (ip == "" || f.SrcIP == ip)) || (f.DstPort == port && (ip == "" || f.DstIP == ip)) {
			return f
		}
	}
	t.Fatalf("no flow with %s port %d", ip, port)
	return nil
}

// Error 1: frame 6889 of gopacket-cip.pcap acknowledges 357,918,410 bytes
// beyond the server's ISN (SYN/ACK frame 4163) although the server never
// sent a byte of data: no capture loss, and the ACK is implausible.
func TestIssue15ImplausibleAck(t *testing.T) {
	path := corpusPath("gopacket-cip.pcap")
	fr := frames(t, path)
	synAck, ack := tcpOf(fr[4163]), tcpOf(fr[6889])
	if synAck == nil || ack == nil || !synAck.SYN || !synAck.ACK || synAck.DstPort != 1054 || ack.SrcPort != 1054 {
		t.Fatal("frames 4163 and 6889 are not the SYN/ACK and the ACK of the client at port 1054")
	}
	if claim := ack.Ack - synAck.Seq - 1; claim != 357_918_410 {
		t.Fatalf("frame 6889 acknowledges %d bytes, the issue says 357,918,410", claim)
	}
	var served int
	for _, p := range fr[1:] {
		if tcp := tcpOf(p); tcp != nil && tcp.SrcPort == 80 && tcp.DstPort == 1054 {
			served += len(tcp.Payload)
		}
	}
	if served != 0 {
		t.Fatalf("the server sent %d bytes of data; the premise is that it sent none", served)
	}
	sum := run(t, path, false)
	fl := flowWithPort(t, sum, "10.200.1.18", 1054)
	if fl.CaptureLostBytes != 0 || fl.CaptureLostSegments != 0 || fl.UnknownBytes != 0 {
		t.Errorf("capture lost %d bytes (%d segments), unknown %d; the server sent nothing", fl.CaptureLostBytes, fl.CaptureLostSegments, fl.UnknownBytes)
	}
	if fl.ImplausibleAcks == 0 {
		t.Error("implausible_acks 0; frame 6889's acknowledgement is implausible")
	}
}

// Error 3: in tls-subjectaltname.pcap the server of stream 19 answers
// with a SYN/ACK of IP ID 0 (frame 409, DF set, as Linux does); its data
// segments count up from 0xc0b7. Frame 589 reveals a hole; the segments
// that fill it later carry older IDs than frame 589: originals arriving
// late, not retransmissions. Deleting frame 409 must change nothing.
func TestIssue15IPIDZero(t *testing.T) {
	path := corpusPath("tls-subjectaltname.pcap")
	fr := frames(t, path)
	synAck, rev := tcpOf(fr[409]), tcpOf(fr[589])
	if synAck == nil || !synAck.SYN || !synAck.ACK || ip4Of(fr[409]).Id != 0 || ip4Of(fr[409]).Flags&layers.IPv4DontFragment == 0 {
		t.Fatal("frame 409 is not a SYN/ACK with IP ID 0 and DF")
	}
	client := uint16(synAck.DstPort)
	revID := ip4Of(fr[589]).Id
	// The late originals: segments of the server after frame 589 below
	// its sequence number, with an older IP ID.
	var late int
	for n := 590; n < len(fr); n++ {
		tcp := tcpOf(fr[n])
		if tcp == nil || tcp.SrcPort != synAck.SrcPort || tcp.DstPort != synAck.DstPort || len(tcp.Payload) == 0 {
			continue
		}
		if int32(tcp.Seq-rev.Seq) < 0 && int16(ip4Of(fr[n]).Id-revID) < 0 {
			late++
		}
	}
	if late < 6 {
		t.Fatalf("%d late originals after frame 589; the issue names 6 in frames 612-628 alone", late)
	}
	for _, p := range []string{path, simulated(t, "tls-subjectaltname.pcap", "list:409", 1)} {
		fl := flowWithPort(t, run(t, p, false), "", client)
		if fl.UpstreamLostSegments != 0 || fl.AmbiguousSegments != 0 || fl.Reordered != uint64(late) {
			t.Errorf("%s: upstream %d ambiguous %d reordered %d; want 0, 0, %d", filepath.Base(p), fl.UpstreamLostSegments, fl.AmbiguousSegments, fl.Reordered, late)
		}
	}
}

type flowKey struct {
	src, dst         string
	srcPort, dstPort uint16
}

func keyOf(f *loss.Flow) flowKey { return flowKey{f.SrcIP, f.DstIP, f.SrcPort, f.DstPort} }

// Error 2: deleting one pure ACK (frame 1228 or 1261 of
// tls-subjectaltname.pcap) cannot have hidden the original of any data
// segment, so the fates of the capture's own upstream loss must not
// change: the only recorded gap lies outside every hole's bracket (for
// the hole revealed at frame 1244, (1243, 1244]).
func TestIssue15AmbiguityBracket(t *testing.T) {
	name := "tls-subjectaltname.pcap"
	fr := frames(t, corpusPath(name))
	base := map[flowKey]*loss.Flow{}
	for _, f := range run(t, corpusPath(name), false).List {
		base[keyOf(f)] = f
	}
	for _, n := range []int{1228, 1261} {
		if tcp := tcpOf(fr[n]); tcp == nil || len(tcp.Payload) != 0 || tcp.SYN || tcp.FIN {
			t.Fatalf("frame %d is not a pure ACK", n)
		}
		sum := run(t, simulated(t, name, "list:"+strconv.Itoa(n), 1), false)
		for _, f := range sum.List {
			b := base[keyOf(f)]
			if b == nil {
				t.Fatalf("list:%d: flow %v is not in the original capture", n, keyOf(f))
			}
			if f.UpstreamLostSegments != b.UpstreamLostSegments || f.AmbiguousSegments != b.AmbiguousSegments || f.UpstreamLostBytes != b.UpstreamLostBytes {
				t.Errorf("list:%d: flow %v upstream %d ambiguous %d; without the deletion %d, %d",
					n, keyOf(f), f.UpstreamLostSegments, f.AmbiguousSegments, b.UpstreamLostSegments, b.AmbiguousSegments)
			}
		}
	}
}

// Error 7: in ndpi-ultrasurf-vlan.pcap the frames of 65.49.68.25 arrive
// with TTL 55 and up to 2,628 IP bytes (frame 2): GRO merges at the
// receiving host, after routers, not TSO on the sender. With no frame lost
// by the capture nothing can be ambiguous.
func TestIssue15GRONotTSO(t *testing.T) {
	path := corpusPath("ndpi-ultrasurf-vlan.pcap")
	fr := frames(t, path)
	ip := ip4Of(fr[2])
	if ip == nil || ip.SrcIP.String() != "65.49.68.25" || ip.TTL != 55 || ip.Length <= 1500 {
		t.Fatal("frame 2 is not a large frame from 65.49.68.25 with TTL 55")
	}
	sum := run(t, path, false)
	if sum.FramesLost != 0 {
		t.Fatalf("the capture lost %d frames; the premise is none", sum.FramesLost)
	}
	fl := flowWithPort(t, sum, "65.49.68.25", uint16(tcpOf(fr[2]).SrcPort))
	if fl.AmbiguousSegments != 0 || fl.UpstreamLostSegments == 0 {
		t.Errorf("ambiguous %d, upstream %d; with no capture loss every hole filled by a retransmission is upstream loss", fl.AmbiguousSegments, fl.UpstreamLostSegments)
	}
}

// Error 8: a keep-alive (no data, sequence number one below the sender's
// next) as a direction's first captured segment. The later frame either
// acknowledges one above it or carries data from one above it: the
// sender's next sequence number, not a missed byte.
func TestIssue15KeepAliveFirst(t *testing.T) {
	for _, tc := range []struct {
		name         string
		first, later int
	}{
		{"ndpi-tumblr-ipv6.pcap", 2, 429},
		{"ndpi-tumblr-ipv6.pcap", 32, 37}, {"ndpi-tumblr-ipv6.pcap", 378, 387},
		{"ndpi-wechat.pcap", 41, 43}, {"ndpi-wechat.pcap", 303, 304},
	} {
		path := corpusPath(tc.name)
		fr := frames(t, path)
		ka, later := tcpOf(fr[tc.first]), tcpOf(fr[tc.later])
		if ka == nil || later == nil || len(ka.Payload) != 0 || ka.SYN || ka.FIN || ka.RST {
			t.Fatalf("%s frame %d is not a segment without data", tc.name, tc.first)
		}
		// The keep-alive's sender is not seen before it.
		for n := 1; n < tc.first; n++ {
			if p := tcpOf(fr[n]); p != nil && p.SrcPort == ka.SrcPort && p.DstPort == ka.DstPort {
				t.Fatalf("%s: frame %d is not the direction's first", tc.name, tc.first)
			}
		}
		next := later.Ack
		if later.SrcPort == ka.SrcPort {
			next = later.Seq
		}
		if next != ka.Seq+1 {
			t.Fatalf("%s: frame %d shows %d as the next sequence number after frame %d's %d", tc.name, tc.later, next, tc.first, ka.Seq)
		}
		fl := flowWithPort(t, run(t, path, false), "", uint16(ka.SrcPort))
		if fl.CaptureLostBytes != 0 || fl.UnknownBytes != 0 || fl.HoleEvents != 0 {
			t.Errorf("%s frames %d -> %d: capture lost %d bytes, unknown %d, %d holes; want none", tc.name, tc.first, tc.later, fl.CaptureLostBytes, fl.UnknownBytes, fl.HoleEvents)
		}
	}
}

// runDamaged is run for a capture damaged at its end: it accounts the
// frames up to the damage (gapan report --keep-going).
func runDamaged(t *testing.T, path string) *loss.Summary {
	t.Helper()
	s, err := join.Open([]string{path}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	e := loss.NewEngine(loss.Config{KeepFlows: true})
	for {
		f, err := s.Next()
		if err != nil {
			break
		}
		e.Add(f)
	}
	return e.Finish(s.Files())
}

// Error 9: suricata-http-mime-truncated.pcap, server port 80: the client
// closes its window, the server sends one-byte zero-window probes (frame
// 399) that the client does not accept (frame 400 acknowledges below
// it), and once the window opens (frame 401) sends the probe's byte again
// with the data after it (frame 402). Nothing was lost.
func TestIssue15ZeroWindowProbeResent(t *testing.T) {
	path := corpusPath("suricata-http-mime-truncated.pcap")
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	// Walk the server's data: count probes re-sent with data, and
	// segments that repeat anything else already seen.
	var highest, probeSeq uint32
	var started, probe, clientZero bool
	var resentProbes, repeats int
	for n := 1; ; n++ {
		data, _, err := r.ReadPacketData()
		if err != nil {
			break // the capture is cut short at frame 2697
		}
		tcp := tcpOf(gopacket.NewPacket(data, r.LinkType(), gopacket.Default))
		if tcp == nil || tcp.SYN {
			continue
		}
		if tcp.DstPort == 80 {
			clientZero = tcp.Window == 0
			continue
		}
		if tcp.SrcPort != 80 || len(tcp.Payload) == 0 {
			continue
		}
		seq, end := tcp.Seq, tcp.Seq+uint32(len(tcp.Payload))
		switch {
		case !started || int32(seq-highest) >= 0:
		case probe && seq == probeSeq && int32(end-highest) > 0:
			resentProbes++
			if n == 402 && seq != highest-1 {
				t.Fatal("frame 402 does not resend the probe's byte")
			}
		case len(tcp.Payload) == 1 && clientZero:
			// a probe repeated while the window is still closed
		default:
			repeats++
		}
		if !started || int32(end-highest) > 0 {
			probe, probeSeq = len(tcp.Payload) == 1 && clientZero, seq
			highest, started = end, true
		}
	}
	if resentProbes != 5 {
		t.Fatalf("%d probes re-sent with data; the issue counts 5", resentProbes)
	}
	fl := flowWithPort(t, runDamaged(t, path), "", 80)
	if got := fl.DownstreamLostSegments + fl.SpuriousRetransmissions; got != uint64(repeats) || fl.Retransmission != uint64(repeats) {
		t.Errorf("downstream %d, spurious %d, retransmissions %d; the server repeated %d segments other than probes",
			fl.DownstreamLostSegments, fl.SpuriousRetransmissions, fl.Retransmission, repeats)
	}
}

// Error 5: tls-subjectaltname.pcap frames 2398 and 2399 (two data
// segments of stream 41) deleted; frame 2400 acknowledges the middle of
// 2398's data, 2401 its end, 2402 the end of 2399's. Two frames carried
// the missing data: two segments, both explained by the two-frame gap.
func TestIssue15AckSplitsSegment(t *testing.T) {
	name := "tls-subjectaltname.pcap"
	fr := frames(t, corpusPath(name))
	a, b := tcpOf(fr[2398]), tcpOf(fr[2399])
	ack := tcpOf(fr[2400])
	if a == nil || b == nil || ack == nil || a.SrcPort != b.SrcPort || b.Seq != a.Seq+uint32(len(a.Payload)) || len(b.Payload) == 0 {
		t.Fatal("frames 2398 and 2399 are not two contiguous data segments of one direction")
	}
	if ack.DstPort != a.SrcPort || int32(ack.Ack-a.Seq) <= 0 || int32(ack.Ack-b.Seq) >= 0 {
		t.Fatal("frame 2400 does not acknowledge the middle of frame 2398's data")
	}
	sum := run(t, simulated(t, name, "list:2398-2399", 1), false)
	fl := flowWithPort(t, sum, "", uint16(a.DstPort))
	bytes := uint64(len(a.Payload) + len(b.Payload))
	if fl.CaptureLostBytes != bytes || fl.CaptureLostSegments != 2 || fl.CaptureExplainedSegments != 2 || fl.CaptureUnexplainedSegments != 0 {
		t.Errorf("capture lost %d bytes in %d segments, %d explained, %d unexplained; want %d bytes, 2, 2, 0",
			fl.CaptureLostBytes, fl.CaptureLostSegments, fl.CaptureExplainedSegments, fl.CaptureUnexplainedSegments, bytes)
	}
	if sum.Consistency == nil || *sum.Consistency != 1 {
		t.Errorf("consistency %v, want 1", sum.Consistency)
	}
}

// Error 6: zeek-http-1000-requests-one-dropped-response.pcap runs over
// loopback (MSS 65,476) with segments of 144, 238 and 615 bytes. A gap of
// 200 frames (3001-3200) loses the data segments among them; segment
// counts must come from the sizes the flow showed, within 5 %.
func TestIssue15SegmentCounts(t *testing.T) {
	name := "zeek-http-1000-requests-one-dropped-response.pcap"
	fr := frames(t, corpusPath(name))
	deleted := map[int]bool{}
	var truth, truthBytes int
	for n := 3001; n <= 3200; n++ {
		deleted[n] = true
		if tcp := tcpOf(fr[n]); tcp != nil && len(tcp.Payload) > 0 {
			truth++
			truthBytes += len(tcp.Payload)
		}
	}
	// The capture's own loss (the dropped response): per direction, the
	// runs of sequence space below the peer's highest acknowledgement
	// that no frame of the original capture carries, one segment each.
	type span struct{ lo, hi uint32 }
	seen := map[layers.TCPPort][]span{}
	maxAck := map[layers.TCPPort]uint32{}
	isn := map[layers.TCPPort]uint32{}
	for _, p := range fr[1:] {
		tcp := tcpOf(p)
		if tcp == nil {
			continue
		}
		if tcp.SYN {
			isn[tcp.SrcPort] = tcp.Seq
		}
		if n := len(tcp.Payload); n > 0 || tcp.FIN {
			if tcp.FIN {
				n++ // a FIN takes one sequence number
			}
			seen[tcp.SrcPort] = append(seen[tcp.SrcPort], span{tcp.Seq, tcp.Seq + uint32(n)})
		}
		if tcp.ACK && int32(tcp.Ack-maxAck[tcp.DstPort]) > 0 {
			maxAck[tcp.DstPort] = tcp.Ack
		}
	}
	var ownSegs, ownBytes int
	for port, rs := range seen {
		sort.Slice(rs, func(i, j int) bool { return int32(rs[i].lo-rs[j].lo) < 0 })
		at := isn[port] + 1
		for _, r := range rs {
			if int32(r.lo-at) > 0 {
				ownSegs++
				ownBytes += int(r.lo - at)
			}
			if int32(r.hi-at) > 0 {
				at = r.hi
			}
		}
		if int32(maxAck[port]-at) > 0 {
			ownSegs++
			ownBytes += int(maxAck[port] - at)
		}
	}
	sum := run(t, simulated(t, name, "list:3001-3200", 1), false)
	var segs, bytes uint64
	for _, f := range sum.List {
		segs += f.CaptureLostSegments
		bytes += f.CaptureLostBytes
	}
	if bytes != uint64(truthBytes+ownBytes) {
		t.Errorf("capture lost %d bytes, want %d deleted + %d the capture's own", bytes, truthBytes, ownBytes)
	}
	want := float64(truth + ownSegs)
	if d := math.Abs(float64(segs) - want); d > 0.05*want {
		t.Errorf("capture lost %d segments; %d deleted data frames and %d missing of the original: off by %.1f %%", segs, truth, ownSegs, 100*d/want)
	}
}

// rtpMissing counts, per capture, the RTP packets missing as Wireshark
// counts them (expected minus received: the span of sequence numbers of
// each stream, by direction and SSRC, minus the distinct ones seen),
// leaving out the frames in skip.
func rtpMissing(fr []gopacket.Packet, skip map[int]bool) (missing, packets int) {
	type key struct {
		src, dst layers.UDPPort
		ssrc     uint32
	}
	seen := map[key]map[uint16]bool{}
	var lo, hi = map[key]int{}, map[key]int{}
	for n, p := range fr[1:] {
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || skip[n+1] || len(udp.Payload) < 12 || udp.Payload[0]>>6 != 2 {
			continue
		}
		if pt := udp.Payload[1] & 0x7f; pt >= 72 && pt <= 76 {
			continue
		}
		b := udp.Payload
		k := key{udp.SrcPort, udp.DstPort, uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])}
		seq := uint16(b[2])<<8 | uint16(b[3])
		if seen[k] == nil {
			seen[k] = map[uint16]bool{}
			lo[k], hi[k] = int(seq), int(seq)
		}
		seen[k][seq] = true
		// Unwrap near the stream's range (no stream here wraps twice).
		x := int(seq)
		for x < lo[k]-0x8000 {
			x += 0x10000
		}
		lo[k], hi[k] = min(lo[k], x), max(hi[k], x)
	}
	for k, s := range seen {
		if len(s) < 50 {
			continue // not a stream: a few datagrams that look like RTP
		}
		missing += hi[k] - lo[k] + 1 - len(s)
		packets += len(s)
	}
	return missing, packets
}

// rtpLateTruth counts the RTP packets that are not in skip and arrived
// behind a packet of their stream with a newer sequence number, whether
// the capture kept that packet or not (it passed the tap first).
func rtpLateTruth(fr []gopacket.Packet, skip map[int]bool) int {
	type key struct {
		src, dst layers.UDPPort
		ssrc     uint32
	}
	newest := map[key]uint16{}
	count := map[key]int{}
	late := map[key]int{}
	for n, p := range fr[1:] {
		udp, _ := p.Layer(layers.LayerTypeUDP).(*layers.UDP)
		if udp == nil || len(udp.Payload) < 12 || udp.Payload[0]>>6 != 2 {
			continue
		}
		if pt := udp.Payload[1] & 0x7f; pt >= 72 && pt <= 76 {
			continue
		}
		b := udp.Payload
		k := key{udp.SrcPort, udp.DstPort, uint32(b[8])<<24 | uint32(b[9])<<16 | uint32(b[10])<<8 | uint32(b[11])}
		seq := uint16(b[2])<<8 | uint16(b[3])
		count[k]++
		if nw, ok := newest[k]; !ok || int16(seq-nw) > 0 {
			newest[k] = seq
		} else if int16(seq-nw) < 0 && !skip[n+1] {
			late[k]++
		}
	}
	var total int
	for k, n := range late {
		if count[k] >= 50 {
			total += n
		}
	}
	return total
}

// Error 11: ndpi-kakaotalk-voice-sll.pcap, stream 23046 -> 10268 arrives
// reordered at frames 2286-2288 (sequence numbers 20674, 20677, 20675);
// deleting frames 236, 498, 1578-1580 and 2285-2287 (the burst model's
// deletions on that flow with seed 1) makes 20677 go missing between two
// packets that arrived after the gap. Every packet the deletions took is
// capture loss with the sidecar; upstream loss stays the capture's own;
// 20675 and 20676 still arrived late behind 20677.
func TestIssue15RTPReordered(t *testing.T) {
	name := "ndpi-kakaotalk-voice-sll.pcap"
	fr := frames(t, corpusPath(name))
	for _, model := range []string{
		"list:236,498,1578-1580,2285-2287",
		// The bursty model's run with seed 1 (accuracy suite): it also
		// deletes 20675 (frame 2288), itself late, and 20673 then
		// arrives behind two missing runs (20674-20675 and 20677); it is
		// late once.
		"list:236,498,875,1577-1582,2285-2289,2395-2404,2983-2991,3181-3188",
	} {
		m, err := simulate.ParseModel(model)
		if err != nil {
			t.Fatal(err)
		}
		del := map[int]bool{}
		for _, r := range m.(simulate.List).Ranges {
			for n := r[0]; n <= r[1]; n++ {
				del[int(n)] = true
			}
		}
		own, _ := rtpMissing(fr, nil)
		all, _ := rtpMissing(fr, del)
		if all-own < 3 {
			t.Fatalf("%s: the deletions make %d RTP packets missing; the premise is several", model, all-own)
		}
		sum := run(t, simulated(t, name, model, 1), false)
		if sum.Flows.RTPLostCapture != uint64(all-own) || sum.Flows.RTPLostUpstream != uint64(own) {
			t.Errorf("%s: rtp lost capture %d, upstream %d; the deletions took %d packets, the capture's own loss is %d",
				model, sum.Flows.RTPLostCapture, sum.Flows.RTPLostUpstream, all-own, own)
		}
		// Packets that arrived behind a deleted newer one were late all
		// the same: the deleted packet passed the tap first.
		if want := rtpLateTruth(fr, del); sum.Flows.RTPLate != uint64(want) {
			t.Errorf("%s: rtp_late %d; %d surviving packets arrived behind a newer one of their stream", model, sum.Flows.RTPLate, want)
		}
	}
}

// Error 4: gopacket-cip.pcap comes from a mirror port that sometimes
// delivers an acknowledgement before the data it acknowledges: frame
// 1594 acknowledges client bytes that frame 1596 carries, with the IP ID
// after the client's previous one. Data that a frame of the capture
// carries is not capture loss: per direction, capture loss is what the
// peer acknowledged and no frame of the capture carries at all.
func TestIssue15AckBeforeData(t *testing.T) {
	path := corpusPath("gopacket-cip.pcap")
	fr := frames(t, path)
	ack, data := tcpOf(fr[1594]), tcpOf(fr[1596])
	if ack == nil || data == nil || ack.DstPort != data.SrcPort || ack.Ack != data.Seq+uint32(len(data.Payload)) {
		t.Fatal("frame 1594 does not acknowledge the end of frame 1596's data")
	}
	client := data.SrcPort
	// The client's highest sequence number before frame 1594, and its
	// IP ID just before frame 1596.
	var highest uint32
	var lastID uint16
	for n := 1; n < 1596; n++ {
		if p := tcpOf(fr[n]); p != nil && p.SrcPort == client && p.DstPort == data.DstPort {
			if n < 1594 && int32(p.Seq+uint32(len(p.Payload))-highest) > 0 {
				highest = p.Seq + uint32(len(p.Payload))
			}
			lastID = ip4Of(fr[n]).Id
		}
	}
	if int32(ack.Ack-highest) <= 0 || ip4Of(fr[1596]).Id != lastID+1 {
		t.Fatalf("frame 1594 does not acknowledge beyond what the client had shown (%d, highest %d), or 1596 is not the client's next IP ID", ack.Ack, highest)
	}
	// Truth per direction of the flow: acknowledged bytes no frame carries.
	type dir struct {
		carried        map[uint32]bool
		isn, maxAck    uint32
		synSeen, acked bool // synSeen: the sequence base is known
	}
	ds := map[layers.TCPPort]*dir{client: {carried: map[uint32]bool{}}, data.DstPort: {carried: map[uint32]bool{}}}
	for _, p := range fr[1:] {
		tcp := tcpOf(p)
		if tcp == nil || !(tcp.SrcPort == client && tcp.DstPort == data.DstPort || tcp.DstPort == client && tcp.SrcPort == data.DstPort) {
			continue
		}
		d, peer := ds[tcp.SrcPort], ds[tcp.DstPort]
		if tcp.SYN || !d.synSeen {
			// The sequence base: the SYN, or without a handshake the
			// direction's first segment.
			d.isn, d.synSeen = tcp.Seq, true
			if !tcp.SYN {
				d.isn--
			}
		}
		for i := range uint32(len(tcp.Payload)) {
			d.carried[tcp.Seq+i] = true
		}
		if tcp.ACK && !tcp.RST && peer.synSeen && (!peer.acked || int32(tcp.Ack-peer.maxAck) > 0) {
			peer.maxAck, peer.acked = tcp.Ack, true
		}
	}
	var truth uint64
	for _, d := range ds {
		for x := d.isn + 1; int32(d.maxAck-x) > 0; x++ {
			if !d.carried[x] {
				truth++
			}
		}
	}
	fl := flowWithPort(t, run(t, path, false), "", uint16(client))
	// A FIN acknowledged but not carried counts one sequence number.
	if fl.CaptureLostBytes > truth+2 || fl.CaptureLostBytes < truth {
		t.Errorf("capture lost %d bytes; %d acknowledged bytes are carried by no frame of the capture", fl.CaptureLostBytes, truth)
	}
}

// Two errors the accuracy suite found beyond the eleven. Deleting a data
// frame (and the frames before it) must make its acknowledged bytes
// capture loss: in zeek-echo-connections.pcap frame 3001 carries the
// client's first byte (port 37840) and frame 3002 acknowledges it; with
// the client's SYN (frame 569) deleted too, the client's first surviving
// segment is the handshake's ACK (frame 571), which is not a keep-alive.
// In tls-subjectaltname.pcap frames 1994-2006 hold a whole retried
// connection (port 60064) whose 289 request bytes (frame 1998) the
// server's FIN/ACK (frame 2864) acknowledges; the client's first SYN
// (frame 1380) has no SYN/ACK in the capture, but the recorded gap may
// hold it, so the FIN/ACK is not a stray ACK.
func TestIssue15SuiteFindings(t *testing.T) {
	for _, tc := range []struct {
		name, model string
		port        uint16
		frame       int // the deleted data frame
	}{
		{"zeek-echo-connections.pcap", "list:569,3001", 37840, 3001},
		{"tls-subjectaltname.pcap", "list:1994-2006", 60064, 1998},
	} {
		fr := frames(t, corpusPath(tc.name))
		data := tcpOf(fr[tc.frame])
		if data == nil || len(data.Payload) == 0 || uint16(data.SrcPort) != tc.port {
			t.Fatalf("%s frame %d is not data of port %d", tc.name, tc.frame, tc.port)
		}
		fl := flowWithPort(t, run(t, simulated(t, tc.name, tc.model, 1), false), "", tc.port)
		if fl.CaptureLostBytes != uint64(len(data.Payload)) || fl.CaptureExplainedBytes != fl.CaptureLostBytes {
			t.Errorf("%s %s: capture lost %d bytes, %d explained; frame %d's %d bytes were deleted and acknowledged",
				tc.name, tc.model, fl.CaptureLostBytes, fl.CaptureExplainedBytes, tc.frame, len(data.Payload))
		}
	}
}

// Error 10: suricata-http-range-multiflows-null.pcap with frames 129-281
// deleted (the accuracy suite's one-gap model, 153 frames): most of the
// gap is HTTP connections opened and closed inside it, which no flow of
// the damaged capture shows. Their frames belong in est_other, not in the
// flows next to the gap; a connection that begins with a SYN after the
// gap lost nothing. The truth is which connection each deleted frame
// belonged to (gopacket's layers).
func TestIssue15EstLostSwallowedFlows(t *testing.T) {
	const name, first, last = "suricata-http-range-multiflows-null.pcap", 129, 281
	fr := frames(t, corpusPath(name))
	key := func(n int) flowKey {
		tcp, nl := tcpOf(fr[n]), fr[n].NetworkLayer()
		if tcp == nil || nl == nil {
			t.Fatalf("frame %d is not TCP", n)
		}
		a, b := nl.NetworkFlow().Src().String(), nl.NetworkFlow().Dst().String()
		pa, pb := uint16(tcp.SrcPort), uint16(tcp.DstPort)
		if pa > pb {
			a, b, pa, pb = b, a, pb, pa
		}
		return flowKey{a, b, pa, pb}
	}
	deleted, surviving := map[flowKey]float64{}, map[flowKey]bool{}
	synAfter := map[flowKey]bool{}
	for n := 1; n < len(fr); n++ {
		k := key(n)
		if n >= first && n <= last {
			deleted[k]++
			continue
		}
		if !surviving[k] && n > last && tcpOf(fr[n]).SYN && !tcpOf(fr[n]).ACK {
			synAfter[k] = true
		}
		surviving[k] = true
	}
	var vanished float64
	for k, d := range deleted {
		if !surviving[k] {
			vanished += d
		}
	}
	sum := run(t, simulated(t, name, "list:129-281", 1), false)
	var abs, worst float64
	for _, f := range sum.List {
		k := flowKey{f.SrcIP, f.DstIP, f.SrcPort, f.DstPort}
		if k.srcPort > k.dstPort {
			k = flowKey{f.DstIP, f.SrcIP, f.DstPort, f.SrcPort}
		}
		if !surviving[k] {
			t.Fatalf("gapan flow %+v is no connection of the capture", k)
		}
		e := math.Abs(f.EstLost - deleted[k])
		abs += e
		worst = max(worst, e)
		if synAfter[k] && f.EstLost > 0.5 {
			t.Errorf("flow %+v began with a SYN after the gap, est_lost %.1f", k, f.EstLost)
		}
	}
	if mae := abs / float64(len(sum.List)); mae > 0.5 || worst > 0.1*(last-first+1) {
		t.Errorf("est_lost mean absolute error %.2f (bound 0.5), worst %.1f (bound %.1f)", mae, worst, 0.1*(last-first+1))
	}
	if sum.EstOther < 0.9*vanished {
		t.Errorf("est_other %.1f, the connections the gap swallowed whole lost %.0f frames", sum.EstOther, vanished)
	}
	t.Logf("%d flows: est_lost MAE %.2f, worst %.1f; est_other %.1f, frames of swallowed connections %.0f", len(sum.List), abs/float64(len(sum.List)), worst, sum.EstOther, vanished)
}

// The same tls-subjectaltname.pcap case without the sidecar: nothing says
// the capture lost frames, yet the server's FIN/ACK (frame 2864)
// acknowledges the SYN of frame 1380 and 289 bytes beyond it, within the
// 64 KiB a SYN/ACK's window lets the client send: the handshake's end and
// the request were missed by the capture (capture loss, unexplained
// without a sidecar). The challenge ACK of frame 1450, which acknowledges
// 2,821,318,779 where the SYN's next sequence number is 4,289,186,690
// (an old connection's number), stays implausible and counts no loss.
func TestIssue15HandshakeEndMissedNoSidecar(t *testing.T) {
	const name, port = "tls-subjectaltname.pcap", 60064
	fr := frames(t, corpusPath(name))
	req := tcpOf(fr[1998])
	if req == nil || len(req.Payload) != 289 || tcpOf(fr[1450]).Ack != 2821318779 || tcpOf(fr[1380]).Seq != 4289186689 {
		t.Fatalf("%s: frames 1380, 1450, 1998 are not the ones described", name)
	}
	fl := flowWithPort(t, run(t, simulated(t, name, "list:1994-2006", 1), true), "", port)
	if fl.CaptureLostBytes != 289 || fl.CaptureExplainedBytes != 0 {
		t.Errorf("without the sidecar: capture lost %d bytes, %d explained; want 289, 0", fl.CaptureLostBytes, fl.CaptureExplainedBytes)
	}
	orig := flowWithPort(t, run(t, corpusPath(name), true), "", port)
	if orig.CaptureLostBytes != 0 || orig.ImplausibleAcks == 0 {
		t.Errorf("original capture: capture lost %d bytes, %d implausible ACKs; want 0 and the challenge ACK counted", orig.CaptureLostBytes, orig.ImplausibleAcks)
	}
}

// Found by the accuracy suite: zeek-echo-connections.pcap under the
// bursty model (seed 2) loses the client's FIN of port 38148 (original
// frame 58879) in a 3-frame gap; the server's FIN/ACK acknowledges it and
// the client's last ACK (sequence number above the FIN) shows it is not
// coming late. It was counted only at the flow's end, in a later
// explanation round, after pieces of other flows with wider brackets had
// taken the gap's frames: 1 byte unexplained with a perfect sidecar.
// Every deleted byte of this run is explained.
func TestIssue15AckedFinSettledInItsRound(t *testing.T) {
	sum := run(t, simulated(t, "zeek-echo-connections.pcap", "burst:p=0.002,r=0.2", 2), false)
	var lost, unexplained uint64
	for _, f := range sum.List {
		lost += f.CaptureLostBytes
		unexplained += f.CaptureUnexplainedBytes
		if f.CaptureUnexplainedBytes > 0 {
			t.Errorf("flow %s:%d -> %s:%d: %d of %d capture-lost bytes unexplained with a perfect sidecar",
				f.SrcIP, f.SrcPort, f.DstIP, f.DstPort, f.CaptureUnexplainedBytes, f.CaptureLostBytes)
		}
	}
	if lost == 0 {
		t.Fatal("no capture loss at all: the deletions are not the ones described")
	}
}
