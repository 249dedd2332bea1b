package loss

import (
	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
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
// accounting reads.
type batchFrame struct {
	jf   join.Frame
	rf   reader.Frame
	pkt  decode.Packet
	head [rtpHeadLen]byte
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
	d := &b.frames[b.n]
	d.rf = *f.Frame
	d.rf.Data = nil
	d.jf = *f // every field the join gives, with the frame copied
	d.jf.Frame = &d.rf
	b.errs[b.n] = dec.Decode(f.LinkType, f.Data, &d.pkt)
	d.pkt.OrigLen = f.OrigLen
	if d.pkt.Payload != nil {
		d.pkt.Payload = d.head[:copy(d.head[:], d.pkt.Payload)]
	}
	b.keys[b.n].compute(&d.pkt, b.hs)
	b.n++
}

// prefetchLen is how many frames' flow state is prefetched at once.
const prefetchLen = 64

// AddBatch accounts b's frames in order, as Add would, calling frame, if
// not nil, after each with what the Engine learned about it. The
// join.Frame's Data is nil (its bytes are gone); FrameInfo.Packet holds
// what was decoded from them.
func (e *Engine) AddBatch(b *Batch, frame func(*join.Frame, *FrameInfo)) {
	for lo := 0; lo < b.n; lo += prefetchLen {
		hi := min(lo+prefetchLen, b.n)
		e.prefetchFrames(b.frames[lo:hi])
		e.prefetch(b.keys[lo:hi])
		for i := lo; i < hi; i++ {
			d := &b.frames[i]
			if err := b.errs[i]; err != nil {
				e.decodeErrs.add(err, d.pkt.ErrLayer)
			}
			info := e.addKeyed(&d.jf, &d.pkt, &b.keys[i])
			if frame != nil {
				frame(&d.jf, info)
			}
		}
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
		sink += d.jf.GapBefore + uint64(d.rf.TimestampNs) + uint64(d.rf.InterfaceID) + uint64(d.pkt.Flags) +
			uint64(d.pkt.IPID) + uint64(d.pkt.PayloadLen) + uint64(d.pkt.TCP.Seq) + uint64(d.pkt.TCP.SACK[3].Right)
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
	k.Key, k.FromA = flow.KeyOf(p)
	k.Hash = h.Hash(&k.Key)
}

// pfAcct and pfState are what prefetch's passes hand to the next: a
// flow's accounting (or TCP state) and the direction of its frame.
type (
	pfAcct struct {
		a   *acct
		dir flow.Direction
	}
	pfState struct {
		st  *tcpState
		dir flow.Direction
	}
)

// prefetchMax bounds the keys one prefetch call handles.
const prefetchMax = 512

// prefetch reads, and discards, the flow table entries, flow records and
// accounting state that the frames with keys ks will most likely touch.
// It changes nothing; calling it for a batch of frames before accounting
// them lets the batch's cache misses overlap instead of coming one after
// the other, which is most of the cost of a frame when flows are many.
func (e *Engine) prefetch(ks []flowKey) {
	ks = ks[:min(len(ks), prefetchMax)]
	// Four passes, each of independent reads: index entries, records,
	// accounting, TCP state.
	if e.pfH == nil {
		e.pfH, e.pfS = make([]uint32, prefetchMax), make([]uint64, prefetchMax)
	}
	hs, slots := e.pfH, e.pfS
	for i := range ks {
		hs[i] = ks[i].Hash
	}
	e.tbl.PeekSlots(hs[:len(ks)], slots[:len(ks)])
	var sink uint64
	as := e.pf[:0]
	for i, sl := range slots[:len(ks)] {
		if fl := e.tbl.PeekFlow(sl); fl != nil {
			// The record is two cache lines: its key, then its
			// counts and state.
			sink += fl.ID + fl.Packets[0] + fl.State.lastFrame
			if fl.State.a != nil {
				as = append(as, pfAcct{fl.State.a, fl.Dir(ks[i].FromA)})
			}
		}
	}
	// The accounting state: the flows' acct, then the lines of the TCP
	// state a segment reads or writes (or the packed state): those of
	// its own direction, and the first of its peer's, which its
	// acknowledgement reads.
	sts := e.pfT[:0]
	for _, x := range as {
		if st := x.a.st; st != nil {
			sts = append(sts, pfState{st, x.dir})
		} else if x.a.packed != 0 {
			sink += uint64(e.packs.bytes(x.a.packed)[0])
		}
	}
	for _, x := range sts {
		d := &x.st.d[x.dir]
		sink += uint64(d.next) + uint64(d.recentSeq[0]) + uint64(d.tops[bracketDepth-1]) + uint64(d.recent[d.recentN()].ns) +
			uint64(x.st.d[1-x.dir].next)
	}
	clear(sts)
	e.pfT = sts[:0]
	clear(as)
	e.pf = as[:0]
	e.sink += sink
}
