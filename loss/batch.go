package loss

import (
	"unsafe"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gapan/gapan/internal/prefetch"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
)

// Batch is a run of frames decoded ahead of their accounting, possibly on
// another goroutine than the Engine's: Batch.Add decodes a frame and keeps
// what the accounting reads of it (not its bytes), and Engine.AddBatch
// accounts the batch, with the cache misses of its frames' flow state
// overlapped instead of taken one after the other. The figures are those
// of Engine.Add, frame for frame. A Batch is reused: Reset empties it.
type Batch struct {
	frames []batchFrame
	keys   []flowKey
	errs   []error // what Decode returned for each frame
	n      int
	hs     flowtab.Hasher
}

// batchFrame is one frame of a Batch: what the join said of it, decoded,
// without its bytes but for the head of its payload, which the RTP
// accounting reads, and the headers of the MPEG-TS packets in it.
//
// The accounting of a TCP segment reads three of its nine cache lines,
// each a transfer from the core that filled it: the first (jf and the
// first 32 bytes of rf: reader.Frame's fields the accounting reads) and
// the third and fourth (pkt's first 128 bytes; see decode.Packet). The
// padding makes it a whole number of lines, so that every frame of the
// batch (whose array starts on a page) starts on one: 520 bytes would
// put the same fields on four or five lines as often as on three
// (TestBatchFrameLayout holds the layout).
type batchFrame struct {
	jf   join.Frame
	rf   reader.Frame
	pkt  decode.Packet
	head [rtpHeadLen]byte
	ts   mp2tHead
	_    [56]byte
}

// NewBatch returns an empty Batch of at most size frames for e.
func (e *Engine) NewBatch(size int) *Batch {
	return &Batch{frames: make([]batchFrame, size), keys: make([]flowKey, size), errs: make([]error, size), hs: e.tbl.Hasher()}
}

// Reset empties b.
func (b *Batch) Reset() { b.n = 0 }

// Len returns the number of frames in b.
func (b *Batch) Len() int { return b.n }

// Full reports whether b holds as many frames as it can.
func (b *Batch) Full() bool { return b.n == len(b.frames) }

// Add decodes f with dec (one Decoder for the whole stream, used only by
// the goroutine that fills the batches) and appends it to b, which must
// not be full. f and its bytes may be reused once Add returns.
func (b *Batch) Add(f *join.Frame, dec *decode.Decoder) {
	// The slots of a frame further on were last read by the accounting
	// on the other core: ask for them owned now, so that filling them
	// does not wait for that core to give them up.
	if k := b.n + addAhead; k < len(b.frames) {
		prefetch.LinesForWrite(unsafe.Pointer(&b.frames[k]), frameLines)
		prefetch.LinesForWrite(unsafe.Pointer(&b.keys[k]), 2)
	}
	d := &b.frames[b.n]
	d.rf = *f.Frame
	d.rf.Data = nil
	d.jf = *f // every field the join gives, with the frame copied
	d.jf.Frame = &d.rf
	b.errs[b.n] = dec.Decode(f.LinkType, f.Data, &d.pkt)
	d.pkt.OrigLen = f.OrigLen
	d.ts.scan(&d.pkt)
	if d.pkt.Payload != nil {
		d.pkt.Payload = d.head[:copy(d.head[:], d.pkt.Payload)]
	}
	b.keys[b.n].compute(&d.pkt, b.hs)
	b.n++
}

// addAhead is how many frames ahead of the one it fills Batch.Add asks for
// a frame's slot, and frameLines how many cache lines the slot spans (it
// starts on a line).
const (
	addAhead   = 2
	frameLines = int(unsafe.Sizeof(batchFrame{})) / 64
)

// prefetchLen is how many frames prefetchFrames reads at once.
const prefetchLen = 64

// AddBatch accounts b's frames in order, as Add would, calling frame, if
// not nil, after each with what the Engine learned about it. The
// join.Frame's Data is nil (its bytes are gone); FrameInfo.Packet holds
// what was decoded from them.
//
// While it accounts frame i it prefetches what frames i+4 to i+16 will
// touch, a step of the chain of dependent addresses at each distance (see
// ahead): the lines of a frame's flow state are in cache, or on their
// way, by the time the frame is accounted, and the misses of a dozen
// frames are in flight at once.
func (e *Engine) AddBatch(b *Batch, frame func(*join.Frame, *FrameInfo)) {
	ks := b.keys[:b.n]
	for i := -aheadIndex; i < len(ks); i++ {
		e.ahead(ks, i)
		if i < 0 {
			continue
		}
		if i%prefetchLen == 0 {
			e.prefetchFrames(b.frames[i:min(i+prefetchLen, b.n)])
		}
		d := &b.frames[i]
		if err := b.errs[i]; err != nil {
			e.decodeErrs.add(err, d.pkt.ErrLayer)
		}
		info := e.addKeyed(&d.jf, &d.pkt, &ks[i], &d.ts, e.aheadSlots[i%aheadRing])
		if frame != nil {
			frame(&d.jf, info)
		}
	}
}

// How many frames ahead of the one being accounted each step of the flow
// state's prefetch is taken: the index entry (from the frame's hash), the
// flow record (from the entry, in cache by then), the accounting (from
// the record), the TCP state (from the accounting). A step finds the
// lines of the one before it in cache if the accounting of the four
// frames between them took longer than a miss.
const (
	aheadIndex  = 16
	aheadRecord = 12
	aheadAcct   = 8
	aheadState  = 4
)

// aheadRing is the length of Engine.aheadSlots: a power of two larger
// than aheadRecord - aheadState, the frames whose slot is kept.
const aheadRing = 16

// ahead prefetches, while frame i of ks is accounted, the index entry of
// frame i+aheadIndex, the record of frame i+aheadRecord, the accounting
// of frame i+aheadAcct and the TCP state lines of frame i+aheadState that
// their accounting will read. It changes nothing the accounting reads.
// The record step finds the frame's slot in the index (PeekSlot: the
// first entry with the hash's fingerprint) and keeps it in
// e.aheadSlots, and its record in e.aheadFlows, for the two later steps
// and for the frame's lookup (its hint). The flow found may be another
// one than the frame's (a flow that ended since and whose record was
// reused, or one that a frame before it will create): then the frame
// misses in cache as it would have without, and its lookup probes the
// index.
func (e *Engine) ahead(ks []flowKey, i int) {
	if j := i + aheadIndex; j < len(ks) {
		e.tbl.PrefetchSlot(ks[j].Hash)
	}
	if j := i + aheadRecord; j >= 0 && j < len(ks) {
		s := e.tbl.PeekSlot(ks[j].Hash)
		fl := e.tbl.PeekFlow(s)
		e.aheadSlots[j%aheadRing], e.aheadFlows[j%aheadRing] = s, fl
		if fl != nil {
			prefetch.Lines(unsafe.Pointer(fl), 2)
		}
	}
	if j := i + aheadAcct; j >= 0 && j < len(ks) {
		if fl := e.aheadFlows[j%aheadRing]; fl != nil && fl.State.a != nil {
			prefetch.Line(unsafe.Pointer(fl.State.a))
		}
	}
	if j := i + aheadState; j >= 0 && j < len(ks) {
		fl := e.aheadFlows[j%aheadRing]
		if fl == nil || fl.State.a == nil {
			return
		}
		a := fl.State.a
		st := a.st
		if st == nil {
			if a.packed != 0 {
				prefetch.Line(unsafe.Pointer(&e.packs.bytes(a.packed)[0]))
			}
			return
		}
		// Both addresses are taken before the first call: after it the
		// compiler would load a.st again and check it for nil with a
		// load from the state itself, a miss that waits for the very
		// lines being prefetched (a sixth of the run's samples in perf,
		// docs/performance.md, round 5).
		dir := fl.Dir(ks[j].FromA)
		own := unsafe.Pointer(&st.d[dir])
		peer := unsafe.Pointer(&st.d[1-dir])
		prefetch.Lines(own, 3)
		prefetch.Line(peer)
	}
}

// prefetchFrames reads, and discards, the parts of the batch's frames the
// accounting reads: another goroutine wrote them, on another core, and
// each of their cache lines comes from there. Read in one pass of
// independent loads, the transfers overlap.
func (e *Engine) prefetchFrames(fs []batchFrame) {
	var sink uint64
	for i := range fs {
		d := &fs[i]
		// One field of each of the three lines (see batchFrame).
		sink += d.jf.GapBefore + uint64(d.pkt.Flags) + uint64(d.pkt.TCP.Seq)
	}
	e.sink += sink
}

// flowKey is a frame's flow key, its direction and its hash in an
// Engine's flow table, computed ahead of the accounting (possibly on
// another goroutine) with the Engine's flowtab.Hasher.
type flowKey struct {
	Key   flow.Key
	FromA bool
	Hash  uint32
}

// compute sets k from p. h is the Engine's flowtab.Hasher.
func (k *flowKey) compute(p *decode.Packet, h flowtab.Hasher) {
	k.FromA = k.Key.Set(p)
	k.Hash = h.Hash(&k.Key)
}
