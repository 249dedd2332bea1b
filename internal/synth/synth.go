// Package synth generates synthetic Ethernet/IPv4/TCP captures with known
// ground truth: many concurrent download flows (data from server to
// client, ACKs back), optional upstream loss (segments missing from the
// capture and retransmitted later, as a network before the tap would cause)
// and a log of what every frame is. Tests and benchmarks use it.
package synth

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
)

// Config describes a capture to generate.
type Config struct {
	Flows     int     // concurrent flows, interleaved as Order says
	Frames    int     // frames to write in all (handshakes included)
	Payload   int     // bytes of payload per data segment
	AckEvery  int     // one pure ACK after this many data segments (2: data, data, ack)
	Handshake bool    // start each flow with SYN, SYN/ACK, ACK
	Upstream  float64 // probability a data segment is lost before the tap (retransmitted RetxAfter rounds later)
	RetxAfter int     // rounds (frames of the flow) after which a lost segment is resent; 0 means 3
	Seed      uint64
	StartNs   int64 // timestamp of the first frame
	StepNs    int64 // time between frames; 0 means 1000
	Nanos     bool  // write a nanosecond pcap
	// ServerISN is the server's initial sequence number (0 means
	// 1,000,000); one near 2^32 makes the data's sequence numbers wrap.
	ServerISN uint32
	// Order is how frames pick their flow: RoundRobin (the zero value,
	// frame n belongs to flow n mod Flows), Uniform or Zipf.
	Order Order
	// ZipfS is Zipf's exponent s > 1 (0 means 1.2): flow k (0-based)
	// carries frames in proportion to 1/(k+1)^s.
	ZipfS float64
}

// Order is the order in which frames visit the flows.
type Order uint8

// Flow orders. RoundRobin is the best case for a flow table (the flows'
// state is walked in order, which the hardware prefetcher follows);
// Uniform draws each frame's flow at random, as interleaved real traffic
// does; Zipf draws it from a heavy-tailed distribution, so that a few flows
// carry most frames while most flows carry a handful.
const (
	RoundRobin Order = iota
	Uniform
	Zipf
)

// ParseOrder reads an Order's name: roundrobin, uniform or zipf.
func ParseOrder(s string) (Order, error) {
	for o, name := range orderNames {
		if s == name {
			return Order(o), nil
		}
	}
	return 0, fmt.Errorf("synth: unknown flow order %q (want roundrobin, uniform or zipf)", s)
}

var orderNames = [...]string{RoundRobin: "roundrobin", Uniform: "uniform", Zipf: "zipf"}

func (o Order) String() string {
	if int(o) < len(orderNames) {
		return orderNames[o]
	}
	return fmt.Sprintf("Order(%d)", uint8(o))
}

// picker returns each frame's flow index in the order cfg asks for. Its
// random draws come from their own stream, so that the loss draws (and
// with them every round-robin capture) are the same whatever the order.
func picker(cfg Config) func(n int) int {
	switch cfg.Order {
	case Uniform:
		r := rand.New(rand.NewPCG(cfg.Seed, 0x0bde7))
		return func(int) int { return r.IntN(cfg.Flows) }
	case Zipf:
		s := cfg.ZipfS
		if s <= 1 {
			s = 1.2
		}
		r := rand.New(rand.NewPCG(cfg.Seed, 0x21bf))
		z := rand.NewZipf(r, s, 1, uint64(cfg.Flows-1))
		return func(int) int { return int(z.Uint64()) }
	default:
		return func(n int) int { return n % cfg.Flows }
	}
}

// Kind says what a frame is.
type Kind uint8

// Frame kinds.
const (
	KindSyn Kind = iota + 1
	KindSynAck
	KindAck // pure ACK from client to server (handshake or data ACK)
	KindData
	KindRetx // a retransmission of a segment lost upstream
)

// Frame describes one generated frame.
type Frame struct {
	Flow     int
	Kind     Kind
	Seq      uint32 // relative sequence number of the data (server ISN+1 = 1)
	Len      int
	Ack      uint32 // relative acknowledgement (for ACK frames)
	WireSize int
}

// Truth is what was generated.
type Truth struct {
	Frames []Frame // only when Config asked for it through Generate's log flag
	// UpstreamLost counts data segments lost before the tap per flow (each
	// later retransmitted, unless the capture ended first).
	UpstreamLost    []int
	UpstreamBytes   []int
	UnresentAtEnd   []int // lost upstream and not resent before the end
	Bytes           int64 // bytes written
	DataSegments    int
	Retransmissions int
}

type flowState struct {
	phase      int    // 0: SYN next, 1: SYN/ACK, 2: ACK, 3: established
	next       uint32 // next new relative seq to send
	contiguous uint32 // highest contiguous relative seq the client received
	sinceAck   int
	ipIDSrv    uint16
	ipIDCli    uint16
	ts         uint32
	pending    []lost // lost segments waiting to be resent
	frames     int    // frames of this flow written so far
	delivered  map[uint32]int
}

type lost struct {
	seq   uint32
	due   int // round at which to resend
	ln    int
	round int
}

const (
	serverISN = 1_000_000
	clientISN = 5_000_000
	hdrLen    = 14 + 20 + 32 // Ethernet, IPv4, TCP with timestamps (12 option bytes)
)

// Generate writes the capture to w as pcap. When keepLog is true the Truth
// holds a Frame for every frame written.
func Generate(w io.Writer, cfg Config, keepLog bool) (*Truth, error) {
	if cfg.AckEvery <= 0 {
		cfg.AckEvery = 2
	}
	if cfg.RetxAfter <= 0 {
		cfg.RetxAfter = 3
	}
	if cfg.StepNs == 0 {
		cfg.StepNs = 1000
	}
	if cfg.Flows <= 0 {
		cfg.Flows = 1
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	tr := &Truth{UpstreamLost: make([]int, cfg.Flows), UpstreamBytes: make([]int, cfg.Flows), UnresentAtEnd: make([]int, cfg.Flows)}
	rng := rand.New(rand.NewPCG(cfg.Seed, 0xdecafbad))

	// pcap file header.
	var fh [24]byte
	magic := uint32(0xa1b2c3d4)
	if cfg.Nanos {
		magic = 0xa1b23c4d
	}
	binary.LittleEndian.PutUint32(fh[0:], magic)
	binary.LittleEndian.PutUint16(fh[4:], 2)
	binary.LittleEndian.PutUint16(fh[6:], 4)
	binary.LittleEndian.PutUint32(fh[16:], 65535)
	binary.LittleEndian.PutUint32(fh[20:], 1)
	bw.Write(fh[:])
	tr.Bytes += 24

	flows := make([]flowState, cfg.Flows)
	for i := range flows {
		flows[i].next = 1
		flows[i].contiguous = 1
		flows[i].ipIDSrv = uint16(rng.Uint32())
		flows[i].ipIDCli = uint16(rng.Uint32())
		flows[i].ts = rng.Uint32() >> 8
		if !cfg.Handshake {
			flows[i].phase = 3
		}
	}
	buf := make([]byte, 16+hdrLen+cfg.Payload)
	ns := cfg.StartNs
	pick := picker(cfg)
	for n := 0; n < cfg.Frames; n++ {
		fi := pick(n)
		f := &flows[fi]
		// round is the flow's own frame count so far (n / Flows in
		// round-robin order): retransmissions are due RetxAfter frames of
		// their flow after the loss, whatever the order.
		round := f.frames
		f.frames++
		var fr Frame
		fr.Flow = fi
		f.ts++
		switch f.phase {
		case 0:
			fr.Kind = KindSyn
			f.phase = 1
		case 1:
			fr.Kind = KindSynAck
			f.phase = 2
		case 2:
			fr.Kind = KindAck
			fr.Ack = 1
			f.phase = 3
		default:
			if f.sinceAck >= cfg.AckEvery {
				f.sinceAck = 0
				fr.Kind = KindAck
				fr.Ack = f.contiguous
				break
			}
			f.sinceAck++
			if len(f.pending) > 0 && f.pending[0].due <= round {
				l := f.pending[0]
				f.pending = f.pending[1:]
				fr.Kind, fr.Seq, fr.Len = KindRetx, l.seq, l.ln
				tr.Retransmissions++
				f.receive(fr.Seq, fr.Len)
				break
			}
			seq := f.next
			f.next += uint32(cfg.Payload)
			tr.DataSegments++
			if cfg.Upstream > 0 && rng.Float64() < cfg.Upstream {
				// Lost before the tap: the frame never appears; the slot
				// carries the next segment instead.
				f.pending = append(f.pending, lost{seq: seq, due: round + cfg.RetxAfter, ln: cfg.Payload})
				tr.UpstreamLost[fi]++
				tr.UpstreamBytes[fi] += cfg.Payload
				f.ipIDSrv++
				seq = f.next
				f.next += uint32(cfg.Payload)
				tr.DataSegments++
			}
			fr.Kind, fr.Seq, fr.Len = KindData, seq, cfg.Payload
			f.receive(fr.Seq, fr.Len)
		}
		size := writeFrame(buf, cfg, fi, f, &fr, ns)
		fr.WireSize = size
		bw.Write(buf[:16+size])
		tr.Bytes += int64(16 + size)
		if keepLog {
			tr.Frames = append(tr.Frames, fr)
		}
		ns += cfg.StepNs
	}
	for i := range flows {
		tr.UnresentAtEnd[i] = len(flows[i].pending)
	}
	return tr, bw.Flush()
}

// receive records that the client got [seq, seq+n) and advances the
// contiguous point over what it already holds.
func (f *flowState) receive(seq uint32, n int) {
	if f.delivered == nil {
		f.delivered = map[uint32]int{}
	}
	f.delivered[seq] = n
	for {
		ln, ok := f.delivered[f.contiguous]
		if !ok {
			return
		}
		delete(f.delivered, f.contiguous)
		f.contiguous += uint32(ln)
	}
}

// writeFrame serializes one frame (pcap record header included) into buf
// and returns the frame's size without the record header.
func writeFrame(buf []byte, cfg Config, fi int, f *flowState, fr *Frame, ns int64) int {
	payload := 0
	if fr.Kind == KindData || fr.Kind == KindRetx {
		payload = fr.Len
	}
	size := hdrLen + payload
	rec := buf[:16]
	if cfg.Nanos {
		binary.LittleEndian.PutUint32(rec[0:], uint32(ns/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ns%1e9))
	} else {
		binary.LittleEndian.PutUint32(rec[0:], uint32(ns/1e9))
		binary.LittleEndian.PutUint32(rec[4:], uint32(ns%1e9/1000))
	}
	binary.LittleEndian.PutUint32(rec[8:], uint32(size))
	binary.LittleEndian.PutUint32(rec[12:], uint32(size))
	p := buf[16 : 16+size]
	fromServer := fr.Kind == KindSynAck || fr.Kind == KindData || fr.Kind == KindRetx
	cli := [4]byte{10, byte(fi >> 16), byte(fi >> 8), byte(fi)}
	srv := [4]byte{192, 168, byte(fi >> 16 & 0xff), 1}
	cliMAC := [6]byte{2, 0, 0, 0, 0, 1}
	srvMAC := [6]byte{2, 0, 0, 0, 0, 2}
	cport := uint16(10000 + fi%50000)
	sport := uint16(80)
	src, dst := cli, srv
	smac, dmac := cliMAC, srvMAC
	sp, dp := cport, sport
	if fromServer {
		src, dst, smac, dmac, sp, dp = srv, cli, srvMAC, cliMAC, sport, cport
	}
	copy(p[0:6], dmac[:])
	copy(p[6:12], smac[:])
	binary.BigEndian.PutUint16(p[12:], 0x0800)
	ip := p[14:34]
	ip[0] = 0x45
	ip[1] = 0
	binary.BigEndian.PutUint16(ip[2:], uint16(20+32+payload))
	var id uint16
	if fromServer {
		f.ipIDSrv++
		id = f.ipIDSrv
	} else {
		f.ipIDCli++
		id = f.ipIDCli
	}
	binary.BigEndian.PutUint16(ip[4:], id)
	binary.BigEndian.PutUint16(ip[6:], 0x4000)
	ip[8] = 60
	ip[9] = 6
	ip[10], ip[11] = 0, 0
	copy(ip[12:16], src[:])
	copy(ip[16:20], dst[:])
	binary.BigEndian.PutUint16(ip[10:], ipChecksum(ip))
	tcp := p[34:66]
	binary.BigEndian.PutUint16(tcp[0:], sp)
	binary.BigEndian.PutUint16(tcp[2:], dp)
	var seq, ack uint32
	var flags byte
	isn := cfg.ServerISN
	if isn == 0 {
		isn = serverISN
	}
	switch fr.Kind {
	case KindSyn:
		seq, flags = clientISN, 0x02
	case KindSynAck:
		seq, ack, flags = isn, clientISN+1, 0x12
	case KindAck:
		seq, ack, flags = clientISN+1, isn+fr.Ack, 0x10
	default:
		seq, ack, flags = isn+fr.Seq, clientISN+1, 0x18
	}
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 8 << 4 // 32-byte header
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65535)
	tcp[16], tcp[17], tcp[18], tcp[19] = 0, 0, 0, 0
	// NOP, NOP, timestamps.
	tcp[20], tcp[21], tcp[22], tcp[23] = 1, 1, 8, 10
	binary.BigEndian.PutUint32(tcp[24:], f.ts)
	binary.BigEndian.PutUint32(tcp[28:], f.ts-1)
	for i := range payload {
		p[66+i] = byte(i)
	}
	return size
}

func ipChecksum(h []byte) uint16 {
	var s uint32
	for i := 0; i < len(h); i += 2 {
		s += uint32(h[i])<<8 | uint32(h[i+1])
	}
	for s>>16 != 0 {
		s = s&0xffff + s>>16
	}
	return ^uint16(s)
}
