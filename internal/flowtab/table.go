package flowtab

import (
	"cmp"
	"iter"
	"net/netip"
	"slices"
	"time"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/hugepage"
	"github.com/gopacket/gopacket/layers"
)

// DefaultMaxFlows is the live-flow cap used when Options.MaxFlows is 0.
const DefaultMaxFlows = 1 << 20

// Flow is one flow's record. The table owns it: the pointer returned by
// Lookup stays valid until the flow ends (OnEnd returns), after which the
// record is reused for another flow.
type Flow[S any] struct {
	// ID numbers flows from 0 in the order of their first frame, across all
	// protocols (unlike Wireshark's tcp.stream and udp.stream, which number
	// each protocol separately). The JSON, CSV and Parquet outputs share it.
	ID uint64
	// Key is the flow's canonical key.
	Key flow.Key
	// Reason is flow.ReasonActive while the flow is live, then why it ended.
	Reason flow.Reason

	initiatorIsA bool
	// baseSet says, per endpoint (index 0 = A, 1 = B), that the table's
	// bases holds the endpoint's base sequence number (the port-reuse
	// rule, see tcpBase).
	baseSet [2]bool

	// LastNs is the capture timestamp of the flow's latest frame (it never
	// decreases).
	LastNs int64
	// Packets and Bytes (frame lengths on the wire) per flow.Direction.
	Packets [2]uint64
	Bytes   [2]uint64

	// State is the caller's per-flow state, stored inline so attaching it
	// costs no allocation. It is zero when the flow starts. It comes last
	// so that a caller who reads its key, its counts and its state has
	// touched every cache line of the record (see the loss accounting's prefetch).
	//
	// With a 32-byte S (the loss accounting's) the record is 128 bytes, two
	// cache lines, aligned: what every frame reads or writes and nothing
	// else. What only some frames need is kept per slot apart: the
	// activity list's links (a frame moves its flow to the list's end,
	// which writes the links of two random flows: together they stay in
	// cache), the TCP base sequence numbers (read by a SYN), the key's
	// hash (computed again when the flow ends). The first frame's
	// timestamp is the caller's to keep.
	State S
}

// tcpBase is what the port-reuse rule needs of a flow: per endpoint
// (index 0 = A, 1 = B) the base sequence number as Wireshark's
// tcp_analyze_seq sets it (valid when Flow.baseSet says so).
type tcpBase [2]uint32

// Frames returns the flow's frame count in both directions. It is 1 right
// after the Lookup that created the flow.
func (f *Flow[S]) Frames() uint64 { return f.Packets[0] + f.Packets[1] }

// Dir returns the direction of a frame of the flow sent by the key's
// side A (fromA) or side B, as Lookup returns it.
func (f *Flow[S]) Dir(fromA bool) flow.Direction {
	if fromA == f.initiatorIsA {
		return flow.Forward
	}
	return flow.Reverse
}

// Initiator returns the address and port of the endpoint that sent the
// flow's first frame (invalid address for a non-IP flow).
func (f *Flow[S]) Initiator() netip.AddrPort {
	if f.initiatorIsA {
		return netip.AddrPortFrom(f.Key.AddrA(), f.Key.PortA)
	}
	return netip.AddrPortFrom(f.Key.AddrB(), f.Key.PortB)
}

// Responder returns the other endpoint.
func (f *Flow[S]) Responder() netip.AddrPort {
	if f.initiatorIsA {
		return netip.AddrPortFrom(f.Key.AddrB(), f.Key.PortB)
	}
	return netip.AddrPortFrom(f.Key.AddrA(), f.Key.PortA)
}

// Options configures a Table.
type Options[S any] struct {
	// IdleTimeout ends a flow that has had no frame for longer than this,
	// measured in capture time. 0 disables idle expiry.
	IdleTimeout time.Duration
	// MaxFlows caps the number of live flows; when a new flow would exceed
	// it, the least recently active flow is evicted. 0 means DefaultMaxFlows.
	MaxFlows int
	// OnEnd, if set, is called once for every flow when it ends, with
	// Reason set. The record is reused after OnEnd returns.
	OnEnd func(*Flow[S])
}

// link is a flow's place in the activity list: the slots of the flows
// active just before and just after it (none at the ends).
type link struct{ prev, next int32 }

const (
	chunkShift = 10
	chunkSize  = 1 << chunkShift
	// maxSlab is the most chunks allocated at once: 8 MiB of loss
	// records, at least three whole huge pages wherever they start.
	maxSlab = 64
	// maxHugeChunks bounds the chunks asked for in huge pages: 32 MiB of
	// loss records, 262,144 flows. Beyond, the records stay in small
	// pages: hugepage.Slice makes a slab's huge pages resident at once,
	// before their records are used (up to 8 MiB ahead of the need),
	// which a run with a million flows, at its memory bound, cannot
	// spare.
	maxHugeChunks = 256
	none          = int32(-1)
)

// Table is a bounded table of bidirectional flows with per-flow state S.
// Memory grows with the number of live flows (at most MaxFlows), never with
// the number of frames. Lookup is O(1) amortised and allocates nothing once
// the table has grown to its working size. A Table is not safe for
// concurrent use.
type Table[S any] struct {
	opt    Options[S]
	idleNs int64
	max    int
	idx    index
	chunks [][]Flow[S]
	links  []link    // per slot: the activity list, least recently active first
	bases  []tcpBase // per slot: the TCP base sequence numbers
	used   int32     // slots handed out so far
	free   []int32   // slots of ended flows
	head   int32     // least recently active live flow
	tail   int32     // most recently active live flow
	nowNs  int64
	nextID uint64
	stats  flow.Stats
	// flushed are the records Flush ended, in flow-id order, not yet
	// handed out by Flushed.
	flushed []*Flow[S]
}

// NewTable returns an empty Table.
func NewTable[S any](opt Options[S]) *Table[S] {
	t := &Table[S]{opt: opt, idleNs: int64(opt.IdleTimeout), max: opt.MaxFlows, head: none, tail: none}
	if t.max <= 0 {
		t.max = DefaultMaxFlows
	}
	t.idx = newIndex(min(t.max, 1024))
	return t
}

func (t *Table[S]) at(i int32) *Flow[S] {
	return &t.chunks[i>>chunkShift][i&(chunkSize-1)]
}

// Stats returns the table's counters.
func (t *Table[S]) Stats() flow.Stats {
	s := t.stats
	s.Live = t.idx.n
	return s
}

// Len returns the number of live flows.
func (t *Table[S]) Len() int { return t.idx.n }

// Lookup finds or creates the flow of packet p, seen at capture time tsNs,
// counts the frame (p.WireLen() bytes) in it and returns it with the
// frame's direction. Before that it ends the flows idle for longer than
// IdleTimeout at tsNs.
//
// A TCP SYN without ACK whose sequence number differs from the base
// sequence number of its sender in the existing flow ends that flow
// (flow.ReasonPortReuse) and starts a new one, as Wireshark starts a new
// tcp.stream; a retransmitted SYN (same sequence number) stays in its flow.
func (t *Table[S]) Lookup(p *decode.Packet, tsNs int64) (*Flow[S], flow.Direction) {
	k, fromA := flow.KeyOf(p)
	return t.LookupKey(p, &k, fromA, t.idx.hashKey(&k), none, tsNs)
}

// Hasher returns the hasher of the table's index, for LookupKey.
func (t *Table[S]) Hasher() Hasher { return t.idx.hs }

// LookupKey is Lookup with p's key, direction and hash already computed:
// k, fromA = flow.KeyOf(p) and h = t.Hasher().Hash(k), which can be done on
// another goroutine. hint is a slot PeekSlot gave for h a while before
// (or -1): if it still holds the live flow of key k, the index is not
// probed again.
func (t *Table[S]) LookupKey(p *decode.Packet, k *flow.Key, fromA bool, h uint32, hint int32, tsNs int64) (*Flow[S], flow.Direction) {
	if tsNs > t.nowNs {
		t.nowNs = tsNs
	}
	if t.idleNs > 0 {
		for t.head != none && t.nowNs-t.at(t.head).LastNs > t.idleNs {
			t.end(t.head, flow.ReasonIdle)
		}
	}
	side := 1 // index of the sending endpoint in baseSet and bases
	if fromA {
		side = 0
	}
	i := none
	if hint >= 0 && hint < t.used {
		// A record is zero from its flow's end until the slot is reused,
		// and a live flow has counted at least one frame; no two live
		// flows share a key.
		if f := t.at(hint); (f.Packets[0] != 0 || f.Packets[1] != 0) && f.Key == *k {
			i = hint
		}
	}
	if i == none {
		i = find(t, k, h)
	}
	ok := i != none
	if ok && p.Flags&decode.FlagTCP != 0 && k.Proto == uint8(layers.IPProtocolTCP) &&
		p.TCP.Flags&(decode.TCPSyn|decode.TCPAck) == decode.TCPSyn {
		if t.at(i).baseSet[side] && t.bases[i][side] != p.TCP.Seq {
			t.end(i, flow.ReasonPortReuse)
			ok = false
		}
	}
	var f *Flow[S]
	if ok {
		f = t.at(i)
		t.touch(i)
	} else {
		if t.idx.n >= t.max {
			t.end(t.head, flow.ReasonEvicted)
		}
		i = t.alloc()
		f = t.at(i)
		f.ID = t.nextID
		t.nextID++
		f.Key = *k
		f.LastNs = tsNs
		f.initiatorIsA = fromA
		t.idx.insert(h, i)
		t.pushTail(i)
		t.stats.Flows++
		if n := t.idx.n; n > t.stats.PeakLive {
			t.stats.PeakLive = n
		}
	}
	// Wireshark sets a direction's base sequence number from the first
	// segment with a complete header: the ISN for a SYN, seq-1 otherwise.
	if p.Flags&decode.FlagTCP != 0 && !f.baseSet[side] && p.Flags&decode.FlagFragment == 0 {
		f.baseSet[side] = true
		t.bases[i][side] = p.TCP.Seq
		if p.TCP.Flags&decode.TCPSyn == 0 {
			t.bases[i][side]--
		}
	}
	dir := f.Dir(fromA)
	if tsNs > f.LastNs {
		f.LastNs = tsNs
	}
	f.Packets[dir]++
	f.Bytes[dir] += uint64(p.WireLen())
	return f, dir
}

// Flush ends every live flow with flow.ReasonEndOfCapture, calling OnEnd in
// flow-id order. Call it once at the end of the capture: the table must
// not be used after it, but for Stats, Len and Flushed. Unlike the records
// of flows that end earlier, the records Flush ends stay valid (and
// unchanged) as long as the caller or the table holds them, so an OnEnd
// that needs a flow's figures after it returns can take them from Flushed
// instead of copying the record: with a million live flows at the end, a
// copy of each would double the table's memory.
func (t *Table[S]) Flush() {
	live := make([]*Flow[S], 0, t.idx.n)
	for i := t.head; i != none; i = t.links[i].next {
		live = append(live, t.at(i))
	}
	slices.SortFunc(live, func(a, b *Flow[S]) int { return cmp.Compare(a.ID, b.ID) })
	// The table ends here: what only live flows need (the index, the
	// links, the base sequence numbers, the free slots) goes now, not
	// with the table, and the records are held by the list Flushed hands
	// out, one by one: with a million flows at the end, some 170 MB that
	// the caller's handling of the ended flows can reuse as it goes.
	t.idx.slots, t.idx.n, t.links, t.bases, t.free, t.chunks = nil, 0, nil, nil, nil, nil
	t.head, t.tail = none, none
	for _, f := range live {
		f.Reason = flow.ReasonEndOfCapture
		t.stats.EndOfInput++
		if t.opt.OnEnd != nil {
			t.opt.OnEnd(f)
		}
	}
	t.flushed = live
}

// Flushed returns the records Flush ended, in its (flow-id) order, so that
// an OnEnd that hands the flows on later need not list them again. It
// yields each record once: the table lets go of a record as it yields it
// (it stays valid while the caller holds it), so that the records' memory
// is freed as the caller goes.
func (t *Table[S]) Flushed() iter.Seq[*Flow[S]] {
	return func(yield func(*Flow[S]) bool) {
		for i, f := range t.flushed {
			t.flushed[i] = nil
			if !yield(f) {
				t.flushed = t.flushed[i+1:]
				return
			}
		}
		t.flushed = nil
	}
}

func (t *Table[S]) alloc() int32 {
	if n := len(t.free); n > 0 {
		i := t.free[n-1]
		t.free = t.free[:n-1]
		return i
	}
	i := t.used
	if int(i>>chunkShift) == len(t.chunks) {
		// The chunks come in slabs that double up to maxSlab chunks,
		// which hold whole huge pages (see internal/hugepage): with the
		// frames of many flows in random order, the translation of a
		// record's address would otherwise miss as often as its lines.
		n := min(max(len(t.chunks), 1), maxSlab)
		var slab []Flow[S]
		if len(t.chunks) < maxHugeChunks {
			slab = hugepage.Slice[Flow[S]](n * chunkSize)
		} else {
			slab = make([]Flow[S], n*chunkSize)
		}
		for k := range n {
			t.chunks = append(t.chunks, slab[k*chunkSize:(k+1)*chunkSize:(k+1)*chunkSize])
		}
		t.links = append(t.links, make([]link, n*chunkSize)...)
		t.bases = append(t.bases, make([]tcpBase, n*chunkSize)...)
	}
	t.used++
	return i
}

// end ends a flow before the end of the capture (Flush ends the others).
func (t *Table[S]) end(i int32, r flow.Reason) {
	f := t.at(i)
	f.Reason = r
	switch r {
	case flow.ReasonIdle:
		t.stats.Idle++
	case flow.ReasonEvicted:
		t.stats.Evicted++
	case flow.ReasonPortReuse:
		t.stats.PortReuse++
	}
	t.unlink(i)
	t.idx.remove(t.idx.hashKey(&f.Key), i)
	if t.opt.OnEnd != nil {
		t.opt.OnEnd(f)
	}
	*f = Flow[S]{} // the slot is reused (Flush ends flows its own way)
	t.free = append(t.free, i)
}

func (t *Table[S]) unlink(i int32) {
	l := &t.links[i]
	if l.prev != none {
		t.links[l.prev].next = l.next
	} else {
		t.head = l.next
	}
	if l.next != none {
		t.links[l.next].prev = l.prev
	} else {
		t.tail = l.prev
	}
	l.prev, l.next = none, none
}

func (t *Table[S]) pushTail(i int32) {
	t.links[i] = link{prev: t.tail, next: none}
	if t.tail != none {
		t.links[t.tail].next = i
	} else {
		t.head = i
	}
	t.tail = i
}

func (t *Table[S]) touch(i int32) {
	if t.tail == i {
		return
	}
	t.unlink(i)
	t.pushTail(i)
}
