package loss

import (
	"fmt"
	"runtime"
	"slices"
	"strconv"
	"time"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gapan/gapan/internal/topn"
	"github.com/gapan/gapan/join"
	"github.com/gopacket/gopacket/layers"
)

// Defaults of Config. DefaultIdleTimeout is what the gapan command passes
// unless told otherwise (0 means never); the others apply when their field
// is 0.
const (
	DefaultIdleTimeout = 5 * time.Minute
	DefaultMaxFlows    = flowtab.DefaultMaxFlows
	DefaultEstWindow   = 32
	DefaultEpoch       = 1 << 16
)

// Config controls an Engine.
type Config struct {
	// IdleTimeout ends flows idle for longer than this (capture time); 0
	// (or negative) means never, as --idle-timeout 0 does. gapan's
	// default is DefaultIdleTimeout.
	IdleTimeout time.Duration
	// MaxFlows caps the live flows, the oldest ending early (0: DefaultMaxFlows).
	MaxFlows int
	// EstWindow is the least number of frames on each side of a gap over
	// which its lost frames are shared out to estimate each flow's own
	// loss; a larger gap is seen through as many frames as it lost, up to
	// 256 (0: DefaultEstWindow).
	EstWindow int
	// Epoch is the number of frames between two rounds of explaining
	// capture loss with the recorded gaps (0: DefaultEpoch). Within a round
	// the assignment is exactly tightest-bracket-first.
	Epoch int
	// OnFlow is called with each flow once its figures are final, in the
	// order flows become final (roughly the order they end). The *Flow is
	// valid only during the call: the engine reuses it for the next flow
	// (a million flows ending at once would otherwise each leave a record
	// for the collector). A callback that keeps a flow copies it (*f);
	// the copy may keep its strings and VLAN slice, which are not reused.
	// A flow the engine keeps itself (KeepFlows, KeepTop) is handed out
	// as the record it keeps, so a change OnFlow makes to it shows in
	// Summary.List.
	OnFlow func(*Flow)
	// DeferLive keeps the flows still live at the end of the capture out
	// of OnFlow. Finish counts them into the summary (and into KeepFlows'
	// and KeepTop's lists) as it does every flow, and Engine.Live then
	// holds them, in flow-id order, with their records built only as they
	// are taken, on as many goroutines as the caller likes
	// (LiveFlows.Take). An output that lists every flow in flow-id order
	// (the JSON and CSV reports) builds and encodes them that way as it
	// writes them, on every core, instead of keeping each one's record
	// while Finish goes through the others.
	DeferLive bool
	// KeepFlows collects every final flow into Summary.List.
	KeepFlows bool
	// KeepTop, when KeepFlows is not set and KeepTop > 0, collects only the
	// KeepTop flows that lost most into Summary.List (in the order of
	// CompareLoss; flows with a LossScore of 0 are not kept) and sets
	// Summary.TopOnly. It is what a report that lists only the top flows
	// needs, and it keeps the memory of a run with millions of flows
	// bounded by the live flows.
	KeepTop int
	// KeepGaps collects every gap into Summary.Gaps.
	KeepGaps bool
	// OnGap, if set, is called with each gap as it is found, in stream
	// order: a report can keep what it shows (the largest gaps) or spill
	// the list, instead of KeepGaps holding every gap of the capture. Its
	// Capture is empty; File indexes the set's files.
	OnGap func(GapRef)
	// OnFate, if set, is called with the fate of every run of missing
	// data and every retransmission once it is final (see Fate); the
	// annotated pcapng tells them on their frames.
	OnFate func(Fate)
	// Unpacked bounds the TCP flows whose state is kept unpacked: the
	// state of the others, those with the least recent frames, is packed
	// into a few dozen bytes until their next segment (0: DefaultUnpacked;
	// negative: no bound, nothing is packed). It trades memory for time
	// and changes no figure.
	Unpacked int
}

// FrameInfo is what the Engine learned about one frame.
type FrameInfo struct {
	Packet *decode.Packet // the decoded frame; reused by the next Add
	Global uint64         // 1-based index of the frame over the whole set
	FlowID uint64
	Dir    flow.Direction
}

// Second is one second of the loss timeline: frames captured with a
// timestamp in it and frames lost just before those frames.
type Second struct {
	UnixSec  int64  `json:"t"`
	Captured uint64 `json:"captured"`
	Lost     uint64 `json:"lost"`
}

// Summary is the result of a whole run.
type Summary struct {
	Totals
	// Flows sums the per-flow counters over all flows.
	Flows Counters
	// FlowCount is the number of flows; FlowStats the flow table's counters
	// (evictions among them).
	FlowCount uint64
	FlowStats flow.Stats
	// Consistency is the fraction of capture-lost TCP segments that the
	// recorded gaps explain; nil when there was no capture-lost segment.
	Consistency *float64
	// EstOther is the estimated loss attributed to frames that belong to
	// no flow (undecodable frames) or to flows the capture never shows
	// (docs/metrics.md, est_lost).
	EstOther float64
	Timeline []Second
	Gaps     []GapRef
	// List holds the final flows in flow-id order: all of them with
	// Config.KeepFlows, else the top ones with Config.KeepTop.
	List []*Flow
	// LossyFlows is the number of flows with a LossScore above 0.
	LossyFlows uint64
	// TopOnly says that List holds only the flows that lost most
	// (Config.KeepTop), not every flow.
	TopOnly bool
	// DecodeFailed is the number of frames that failed to decode;
	// DecodeErrors splits it by reason, most frames first.
	DecodeFailed uint64
	DecodeErrors []DecodeError
	// MirrorSessions are the mirror sessions (ERSPAN, sequenced GRE) in
	// order of their first frame, and Mirror their totals
	// (docs/metrics.md, mirror sessions).
	MirrorSessions []MirrorSession
	Mirror         MirrorTotals
}

// state is what the flow table keeps inline in each flow's record: the
// figures every frame writes sit there, in cache lines the lookup has just
// touched, and the rest of the accounting behind a.
type state struct {
	a         *acct
	lastFrame uint64 // global index of the flow's latest frame
	gapsAt    uint64 // gap events before or at the flow's latest frame
	lostAt    uint64 // frames lost in them, and noRecordBit
}

// noRecordBit, in state.lostAt, says the flow's latest frame came from a
// capture without a loss record (join.Frame.NoLossRecord). Lost-frame
// counts stay far below it (join refuses any beyond 2^48), and a flag bit
// keeps the flow's record as small as it was.
const noRecordBit = 1 << 63

// acct is the live accounting of one flow. It holds only what the
// accounting of the next frame needs: with many live flows each frame waits
// on cache misses on this state, and with millions its size is the run's
// memory (56 bytes, allocated in the 64-byte size class: one cache line,
// aligned; and the TCP state packed while the flow is idle: see pack.go). The rarer figures and the RTP state (x) are allocated when
// first needed, and the output record (Flow, with its strings) is built only
// once the flow's figures are final.
type acct struct {
	// st is the TCP state, unpacked; nil while it is packed (packed), for a
	// flow that is not TCP, and once the flow ended.
	st *tcpState
	x  *acctExtra
	// packed is the reference of the flow's packed TCP state in
	// Engine.packs (0: none). (When a flow ends before the end of the
	// capture, the round it ended in is kept with a copy of its record
	// in Engine.ended.)
	packed     uint64
	firstFrame uint64
	g0, l0     uint64 // gap events and lost frames before the flow's first frame
	firstNs    int64  // the capture timestamp of the flow's first frame
}

// acctExtra is the part of a flow's accounting that most flows never
// need: its loss counters and its RTP state.
type acctExtra struct {
	Counters
	rtp *[2]rtpDir // out of line: most flows are not UDP
	// seq are the streams of the sequence families (seq.go).
	seq *seqStreams
	// mp2t is the MPEG-TS state by direction (mp2t.go).
	mp2t *[2]mp2tDir
	// tails are, per TCP direction, the latest run of data acknowledged
	// beyond the highest sequence number seen (nil until there is one).
	tails  *[2]ackTail
	isRTP  bool
	isMP2T bool
	// lossUnknown: a frame of the flow came after the end of an
	// incomplete sidecar (join.Frame.LossUnknown).
	lossUnknown bool
}

// c returns the flow's counters, allocating them on first use.
func (a *acct) c() *Counters {
	return &a.extra().Counters
}

func (a *acct) extra() *acctExtra {
	if a.x == nil {
		a.x = new(acctExtra)
	}
	return a.x
}

// Engine runs gapan's loss accounting over a joined stream: decoding, the
// flow table, TCP and RTP evidence, the explanation of capture loss and
// the per-flow loss estimate. It allocates nothing per frame once warm,
// except when a flow starts.
type Engine struct {
	cfg  Config
	dec  *decode.Decoder
	pkt  decode.Packet
	ts   mp2tHead // the TS headers of the frame AddDecoded accounts
	tbl  *flowtab.Table[state]
	cap  TotalsCounter
	exp  explainer
	est  estimator
	info FrameInfo
	gi   uint64 // global frame index of the current frame
	// epochLeft is the frames until the next round: gi mod cfg.Epoch
	// counted down, not divided per frame.
	epochLeft int
	gapN      uint64 // gap events so far
	lostN     uint64 // frames lost in gaps so far
	// ended holds the flows that ended, waiting for their figures to be
	// final.
	ended []endedFlow
	// fateFlow is the id of the flow being accounted, for its fates.
	fateFlow uint64
	sum      Summary

	// Packing of idle TCP states (pack.go).
	packs       packStore
	codec       stateCodec
	packBuf     []byte
	spare       []*tcpState // unpacked states not in use, zeroed
	stChunk     []tcpState  // states never handed out yet
	stChunkLen  int         // the length stChunk had when allocated
	stMade      int         // the states allocated in chunks so far
	queue       []liveRef   // the unpacked states, roughly least recently used first
	queueHead   int
	stale       int // entries in queue of flows that ended
	unpacked    int
	maxUnpacked int // negative: no bound

	sink uint64              // what prefetchFrames read, so that the reads stay (the compiler cannot drop them)
	top  *topn.Keeper[*Flow] // the Config.KeepTop flows that lost most
	// aheadSlots are the flow table slots that ahead found for the
	// frames between its record and state steps, by frame index mod
	// aheadRing.
	aheadSlots [aheadRing]int32
	// aheadFlows are their records (nil for none), as PeekFlow gave them.
	aheadFlows [aheadRing]*flowtab.Flow[state]
	// bigTops holds the bracket rings of the TCP directions of flows that
	// outlived 2^32 frames (tcpDir.tops); nil until there is one.
	bigTops map[*tcpDir]*[bracketDepth]uint64

	// prevIPID is the IPv4 ID of the previous segment of the direction
	// of the segment being accounted (tcpSegment).
	prevIPID uint16
	// ackTSecr is the TSecr of the acknowledgement being applied
	// (tcpAck), ackHasTS whether it has one.
	ackTSecr uint32
	ackHasTS bool

	// finished is set once Finish has begun; tailLost holds the tail gaps.
	finished bool
	tailLost uint64

	secCur int64
	secIdx int
	tl     []Second

	// Cold fields, kept apart from those every frame touches.
	// probe is a flow offered to top before its record is built
	// (probeRef = &probe: the address of a field, so that asking
	// allocates nothing).
	probe    Flow
	probeRef *Flow
	// out is the record handed to OnFlow for a flow the engine does not
	// keep, reused from flow to flow; emitC the counters emit adds up.
	out   Flow
	emitC Counters
	// live holds the flows live at the end with Config.DeferLive.
	live *LiveFlows
	// decodeErrs counts the frames that failed to decode.
	decodeErrs decodeErrors
	// mir holds the mirror sessions (mirror.go); nil until the first
	// frame with a mirror session's number.
	mir *mirrors
}

// endedFlow is a flow that ended before the end of the capture: a copy
// of its record, whose State.a is the flow's accounting, and the
// explanation round during which it ended. (The flows Flush ends stay in
// the table: flowtab.Table.Flushed.)
type endedFlow struct {
	rec      *flowtab.Flow[state]
	endRound uint64
}

// NewEngine returns an Engine.
func NewEngine(cfg Config) *Engine {
	if cfg.EstWindow <= 0 {
		cfg.EstWindow = DefaultEstWindow
	}
	if cfg.Epoch <= 0 {
		cfg.Epoch = DefaultEpoch
	}
	idle := max(cfg.IdleTimeout, 0) // flowtab.Options: 0 is never
	e := &Engine{cfg: cfg, dec: decode.NewDecoder(), secIdx: -1, maxUnpacked: cfg.Unpacked, epochLeft: cfg.Epoch}
	if cfg.Unpacked == 0 {
		e.maxUnpacked = DefaultUnpacked
	}
	e.cap.KeepGaps, e.cap.OnGap = cfg.KeepGaps, cfg.OnGap
	e.exp.round, e.exp.onFate = 1, cfg.OnFate
	e.top = topn.New(cfg.KeepTop, compareLoss)
	e.probeRef = &e.probe
	e.est.init(cfg.EstWindow)
	e.tbl = flowtab.NewTable(flowtab.Options[state]{IdleTimeout: idle, MaxFlows: cfg.MaxFlows, OnEnd: e.flowEnded})
	return e
}

// Add decodes one joined frame and accounts it. Frames must come in
// stream order. A frame that fails to decode is accounted with what was
// decoded of it and counted in Summary.DecodeErrors.
func (e *Engine) Add(f *join.Frame) *FrameInfo {
	p := &e.pkt
	err := e.dec.Decode(f.LinkType, f.Data, p)
	p.OrigLen = f.OrigLen
	return e.AddDecoded(f, p, err)
}

// AddDecoded accounts one joined frame that the caller has decoded into p
// with decode.Decoder.Decode (one Decoder for the whole stream, p.OrigLen
// set to f.OrigLen); err is what Decode returned. Add is Decode then
// AddDecoded. f.Data is not used; of p's bytes only the head of a UDP
// payload (the RTP header) and its MPEG-TS packet headers are read. p
// must stay unchanged until the next call. Frames must come in stream
// order.
func (e *Engine) AddDecoded(f *join.Frame, p *decode.Packet, err error) *FrameInfo {
	if err != nil {
		e.decodeErrs.add(err, p.ErrLayer)
	}
	var k flowKey
	k.compute(p, e.tbl.Hasher())
	e.ts.scan(p)
	return e.addKeyed(f, p, &k, &e.ts, -1)
}

// addKeyed is AddDecoded with the frame's flow key already computed, its
// decode error counted and the TS headers of its UDP payload read into ts
// (nil: none). hint is the flow table slot ahead found for the frame, -1
// for none (flowtab.Table.LookupKey).
func (e *Engine) addKeyed(f *join.Frame, p *decode.Packet, k *flowKey, ts *mp2tHead, hint int32) *FrameInfo {
	e.gi++
	gi := e.gi
	e.cap.Add(f)
	if f.GapBefore > 0 {
		e.gapN++
		e.lostN += f.GapBefore
		e.exp.addGap(gi, f.GapBefore)
		e.est.gap(gi, float64(f.GapBefore))
		e.mirrorGap(gi, f.GapBefore)
	}
	e.second(f.TimestampNs, f.GapBefore)

	fl, dir := e.tbl.LookupKey(p, &k.Key, k.FromA, k.Hash, hint, f.TimestampNs)
	a := fl.State.a
	if a == nil {
		// The gap just before the flow's first frame may hold its first
		// frames: it counts as during the flow.
		a = &acct{firstFrame: gi, g0: e.gapN, l0: e.lostN - f.GapBefore, firstNs: f.TimestampNs}
		if f.GapBefore > 0 {
			a.g0--
		}
		fl.State.a = a
	}
	fl.State.lastFrame, fl.State.gapsAt, fl.State.lostAt = gi, e.gapN, e.lostN
	if f.NoLossRecord {
		fl.State.lostAt |= noRecordBit
	}
	e.fateFlow = fl.ID
	var ef estFlags
	if f.LossUnknown {
		a.extra().lossUnknown = true
	}
	if p.Flags&decode.FlagTCP != 0 && p.Flags&decode.FlagPortsFromFragment == 0 && p.Proto == layers.IPProtocolTCP {
		if a.st == nil {
			e.unpack(a, fl)
		}
		ef = estFlagsOf(&p.TCP, int(dir), a.st)
		e.tcpSegment(a, int(dir), p, gi, f.TimestampNs)
		if e.unpacked > e.maxUnpacked && e.maxUnpacked >= 0 {
			e.packIdle()
		}
	} else if p.Seq.Kind != decode.SeqNone {
		e.seqPacket(a, int(dir), p, gi)
	} else if p.Proto == layers.IPProtocolUDP && p.Flags&decode.FlagPorts != 0 && p.Flags&decode.FlagPortsFromFragment == 0 && p.Flags&decode.FlagIP != 0 {
		e.rtpPacket(a, int(dir), p, gi)
		if ts != nil && (ts.n > 0 || a.x != nil && a.x.mp2t != nil) {
			e.mp2tPacket(a, int(dir), ts, gi)
		}
	}
	if p.Mirror.Kind != decode.MirrorNone {
		e.mirrorFrame(f, p, gi)
	}
	e.est.push(gi, a, e.exp.round, f.TimestampNs, ef)
	if e.epochLeft--; e.epochLeft == 0 {
		e.epochLeft = e.cfg.Epoch
		e.round(false)
	}
	e.info = FrameInfo{Packet: p, Global: gi, FlowID: fl.ID, Dir: dir}
	return &e.info
}

// second books a frame and the loss before it into the timeline.
func (e *Engine) second(ns int64, lost uint64) {
	sec := ns / 1e9
	if ns < 0 && ns%1e9 != 0 {
		sec--
	}
	if e.secIdx < 0 || sec != e.secCur {
		e.secCur = sec
		// Timestamps mostly move forward; look back a little for the
		// out-of-order ones before adding a new second.
		e.secIdx = -1
		for i := len(e.tl) - 1; i >= 0 && i >= len(e.tl)-8; i-- {
			if e.tl[i].UnixSec == sec {
				e.secIdx = i
				break
			}
		}
		if e.secIdx < 0 {
			e.tl = append(e.tl, Second{UnixSec: sec})
			e.secIdx = len(e.tl) - 1
		}
	}
	e.tl[e.secIdx].Captured++
	e.tl[e.secIdx].Lost += lost
}

// flowEnded is the flow table's OnEnd: it keeps the flow's record (see
// endedFlow) and queues the flow until its loss figures are final.
func (e *Engine) flowEnded(fl *flowtab.Flow[state]) {
	a := fl.State.a
	if a == nil {
		return
	}
	// At the end of the capture the TCP states are dropped all at once
	// (Finish), not taken back one by one, and the records stay in the
	// table (Flush).
	final := fl.Reason == flow.ReasonEndOfCapture
	e.fateFlow = fl.ID
	if st := a.st; st != nil {
		e.tcpEnd(a, st)
		if e.bigTops != nil {
			delete(e.bigTops, &st.d[0])
			delete(e.bigTops, &st.d[1])
		}
		a.st = nil
		if !final {
			e.releaseState(st)
			if e.maxUnpacked >= 0 {
				e.stale++ // its entry in the queue
				e.dropStale()
			}
		}
	} else if a.packed != 0 && !final {
		e.packs.release(a.packed) // a packed state has no open hole
	}
	a.packed = 0
	e.rtpEnd(a)
	e.seqEnd(a)
	e.mp2tEnd(a)
	if !final {
		cp := *fl
		e.ended = append(e.ended, endedFlow{rec: &cp, endRound: e.exp.round})
	}
}

// record builds the output record of a flow whose figures are final, with
// its counters c and its LossScore, into m (every field of m is set).
func (a *acct) record(m *Flow, fl *flowtab.Flow[state], c *Counters, score float64) *Flow {
	k := &fl.Key
	a.figures(m, fl, c, score)
	m.FirstNs, m.LastNs = a.firstNs, fl.LastNs
	m.PacketsFwd, m.PacketsRev = fl.Packets[flow.Forward], fl.Packets[flow.Reverse]
	m.BytesFwd, m.BytesRev = fl.Bytes[flow.Forward], fl.Bytes[flow.Reverse]
	m.EndReason = fl.Reason.String()
	m.FirstFrame, m.LastFrame = a.firstFrame, fl.State.lastFrame
	if k.IPVersion != 0 {
		m.IPVersion = k.IPVersion
		m.Proto = protoName(layers.IPProtocol(k.Proto))
		src, dst := fl.Initiator(), fl.Responder()
		m.SrcIP, m.DstIP = src.Addr().String(), dst.Addr().String()
		m.SrcPort, m.DstPort = src.Port(), dst.Port()
	} else {
		m.Proto = "eth"
		m.EtherType = fmt.Sprintf("0x%04x", k.EtherType)
	}
	if k.VLAN[0] != 0 || k.VLAN[1] != 0 {
		m.VLAN = []int{int(k.VLAN[0])}
		if k.VLAN[1] != 0 {
			m.VLAN = append(m.VLAN, int(k.VLAN[1]))
		}
	}
	m.FirstTs = time.Unix(0, m.FirstNs).UTC().Format(time.RFC3339Nano)
	m.LastTs = time.Unix(0, m.LastNs).UTC().Format(time.RFC3339Nano)
	return m
}

// figures sets m to the figures of the record of a flow whose figures are
// final (record), with counters c and LossScore score: every field but the
// text and the VLAN list.
func (a *acct) figures(m *Flow, fl *flowtab.Flow[state], c *Counters, score float64) {
	*m = Flow{Counters: *c, LossScore: score, IsRTP: a.x != nil && a.x.isRTP, IsMP2T: a.x != nil && a.x.isMP2T, LossUnknown: a.x != nil && a.x.lossUnknown}
	m.LossNotRecorded = fl.State.lostAt&noRecordBit != 0
	m.FlowID = fl.ID
}

func protoName(p layers.IPProtocol) string {
	switch p {
	case layers.IPProtocolTCP:
		return "tcp"
	case layers.IPProtocolUDP:
		return "udp"
	case layers.IPProtocolICMPv4:
		return "icmp"
	case layers.IPProtocolICMPv6:
		return "icmpv6"
	case layers.IPProtocolSCTP:
		return "sctp"
	case layers.IPProtocolGRE:
		return "gre"
	case layers.IPProtocolESP:
		return "esp"
	case layers.IPProtocolIGMP:
		return "igmp"
	}
	return "ip-" + strconv.Itoa(int(p))
}

// round explains the pending capture loss and hands out the flows whose
// figures are final. At the end (final) every ended flow is final.
func (e *Engine) round(final bool) {
	e.exp.resolve(e.gi)
	e.mirrorRound()
	// Gaps whose window completed before the round just resolved have
	// had a whole round for their capacity to be claimed.
	e.est.distribute(e.exp.round-1, final, &e.exp)
	// An ended flow is final once the rounds that explain its last
	// pieces are over and no gap left to share out (registered or to
	// come) has a window that holds its frames.
	var reach uint64
	if !final && len(e.ended) > 0 {
		reach = e.est.reach(e.gi)
	}
	keep := e.ended[:0]
	for i, ef := range e.ended {
		rec := ef.rec
		if !final && (ef.endRound+3 > e.exp.round || rec.State.lastFrame >= reach) {
			keep = append(keep, ef)
			continue
		}
		e.emit(rec.State.a, rec)
		e.ended[i] = endedFlow{} // its copy is garbage from now on
	}
	clear(e.ended[len(keep):])
	e.ended = keep
	if !final {
		return
	}
	// Then the flows that were live at the end, in flow-id order, each
	// one's accounting garbage as soon as it is handed out, not after
	// the million others: the outputs' buffers reuse its memory. With
	// DeferLive they are counted and kept, each let go as it is taken.
	if e.cfg.DeferLive {
		e.live = &LiveFlows{e: e}
	}
	for rec := range e.tbl.Flushed() {
		a := rec.State.a
		switch {
		case a == nil:
		case e.live != nil:
			e.account(a, rec, &e.emitC)
			e.live.recs = append(e.live.recs, rec)
		default:
			e.emit(a, rec)
			rec.State.a = nil
		}
	}
}

// emit hands out a flow whose figures are final: account, then OnFlow.
func (e *Engine) emit(a *acct, fl *flowtab.Flow[state]) {
	// The engine's, not a local variable: Score's table of sequence
	// families would move a local to the heap, an allocation a flow.
	c := &e.emitC
	f, score := e.account(a, fl, c)
	if e.cfg.OnFlow != nil {
		if f == nil {
			f = a.record(&e.out, fl, c, score)
		}
		e.cfg.OnFlow(f)
	}
}

// account counts a flow whose figures are final into the summary, with
// its final counters set in c, and keeps it in the lists that take it.
// The output record is built only when something takes it: the full list
// (KeepFlows) or the top list (KeepTop), when the flow enters it; that
// record, or nil, is returned with the flow's LossScore.
func (e *Engine) account(a *acct, fl *flowtab.Flow[state], c *Counters) (*Flow, float64) {
	score := e.finalCounters(a, fl, c)
	e.sum.Flows.Add(c)
	e.sum.FlowCount++
	if score > 0 {
		e.sum.LossyFlows++
	}
	var f *Flow
	if e.cfg.KeepFlows {
		f = a.record(new(Flow), fl, c, score)
		e.sum.List = append(e.sum.List, f)
	} else if score > 0 && e.cfg.KeepTop > 0 {
		e.probe.LossScore, e.probe.FlowID = score, fl.ID
		if e.top.Admits(&e.probeRef) {
			f = a.record(new(Flow), fl, c, score)
			e.top.Add(f)
		}
	}
	return f, score
}

// finalCounters sets c to the final counters of a flow whose figures are
// final and returns its LossScore. It only reads the engine, so that
// LiveFlows.Take may call it on many goroutines once Finish is done.
func (e *Engine) finalCounters(a *acct, fl *flowtab.Flow[state], c *Counters) float64 {
	if a.x != nil {
		*c = a.x.Counters
	} else {
		*c = Counters{}
	}
	c.GapsDuring, c.FramesLostDuring = fl.State.gapsAt-a.g0, fl.State.lostAt&^noRecordBit-a.l0
	// So may the gap just after its last frame, or the tail.
	if last := fl.State.lastFrame; last == e.gi && e.finished {
		if e.tailLost > 0 {
			c.GapsDuring++
			c.FramesLostDuring += e.tailLost
		}
	} else if n := e.exp.lostIn(last, last+1); n > 0 {
		c.GapsDuring++
		c.FramesLostDuring += n
	}
	c.Packets = fl.Packets[flow.Forward] + fl.Packets[flow.Reverse]
	c.Bytes = fl.Bytes[flow.Forward] + fl.Bytes[flow.Reverse]
	c.MissedBytes = c.CaptureLostBytes + c.UnknownBytes
	return Score(c)
}

// LiveFlows are the flows still live at the end of a run with
// Config.DeferLive, in flow-id order. Finish has counted them; their
// records are built as they are taken.
type LiveFlows struct {
	e    *Engine
	recs []*flowtab.Flow[state]
}

// Live returns the flows live at the end of the run, after Finish with
// Config.DeferLive; nil otherwise.
func (e *Engine) Live() *LiveFlows { return e.live }

// Len returns the number of flows; 0 for a nil LiveFlows.
func (l *LiveFlows) Len() int {
	if l == nil {
		return 0
	}
	return len(l.recs)
}

// ID returns the flow id of the i-th flow (0 <= i < Len), which has not
// been taken yet.
func (l *LiveFlows) ID(i int) uint64 { return l.recs[i].ID }

// figures sets f to the i-th flow's record without its text (addresses,
// times, EtherType, end reason) and VLAN list, the flow left untaken.
func (l *LiveFlows) figures(i int, f *Flow) *Flow {
	fl := l.recs[i]
	a := fl.State.a
	score := l.e.finalCounters(a, fl, &f.Counters)
	a.figures(f, fl, &f.Counters, score)
	return f
}

// Take builds the record of the i-th flow (0 <= i < Len) into f, every
// field set as OnFlow would have had it, and returns f. The flow's
// accounting is let go: each flow is taken once. Take may be called on
// many goroutines at once for distinct flows and records.
func (l *LiveFlows) Take(i int, f *Flow) *Flow {
	fl := l.recs[i]
	l.recs[i] = nil
	a := fl.State.a
	fl.State.a = nil
	// The counters are built in f's own: record copies them from c
	// before it sets the rest of f.
	score := l.e.finalCounters(a, fl, &f.Counters)
	return a.record(f, fl, &f.Counters, score)
}

// Finish ends every flow, shares out the tail gaps, explains what is left
// and returns the summary. files are the join's files (for the tails).
func (e *Engine) Finish(files []join.FileInfo) *Summary {
	e.finished = true
	for i := range files {
		if t := files[i].TailTotal(); t > 0 {
			e.tailLost += t
			e.lostN += t
			e.est.tail(float64(t))
			if len(e.tl) > 0 {
				e.tl[len(e.tl)-1].Lost += t
			}
		}
	}
	// Every live flow ends now. The packed TCP states are not needed for
	// that (a packed state has no open hole), nor are the spare unpacked
	// ones: dropped first, their memory (a quarter of the live heap with
	// a million flows) is garbage before Flush allocates, so that the end
	// of the run is not the largest heap. When that is much memory it is
	// collected at once: otherwise a collection that began before the
	// drop (with so large a heap, they follow one another) keeps it, and
	// the flows handed out during the next one's long mark pile up on
	// it (at a million flows that was the peak of gapan parquet, by up to
	// 30 MB; the collection takes some 40 to 100 ms).
	packed := e.packs.slabs()
	e.packs, e.spare, e.stChunk, e.queue = packStore{}, nil, nil, nil
	// The records ahead last found: they would keep their slabs from the
	// collector as the flushed records are handed out.
	e.aheadFlows = [aheadRing]*flowtab.Flow[state]{}
	e.queueHead, e.stale, e.unpacked = 0, 0, 0
	if packed*slabBytes >= collectAtEnd {
		runtime.GC()
	}
	e.tbl.Flush()
	e.round(true)
	s := &e.sum
	s.Totals = e.cap.Finish(files)
	s.Gaps = e.cap.Gaps
	s.FlowStats = e.tbl.Stats()
	s.EstOther = e.est.other
	s.MirrorSessions, s.Mirror = e.mirrorFinish()
	s.DecodeErrors = e.decodeErrs.list()
	for _, d := range s.DecodeErrors {
		s.DecodeFailed += d.Frames
	}
	if n := s.Flows.CaptureLostSegments; n > 0 {
		c := float64(s.Flows.CaptureExplainedSegments) / float64(n)
		s.Consistency = &c
	}
	slices.SortFunc(e.tl, func(a, b Second) int { return int(a.UnixSec - b.UnixSec) })
	s.Timeline = e.tl
	if !e.cfg.KeepFlows && e.cfg.KeepTop > 0 {
		s.List, s.TopOnly = e.top.Values(), true
	}
	slices.SortFunc(s.List, func(a, b *Flow) int {
		if a.FlowID < b.FlowID {
			return -1
		}
		if a.FlowID > b.FlowID {
			return 1
		}
		return 0
	})
	return s
}
