package loss

import (
	"encoding/binary"
	"math/bits"

	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gapan/gapan/internal/hugepage"
)

// The TCP state of idle flows is kept packed.
//
// With a million live flows the accounting state is most of a run's
// memory, and most flows are idle at any moment. Only the TCP states of the
// flows with the most recent frames (at most Config.Unpacked of them, by a
// CLOCK approximation of least recently used) are kept as tcpState
// structs; the others are packed, losslessly, into a few dozen bytes of a
// packStore and unpacked when the flow's next segment comes. Each field is
// stored as the varint of its difference (zigzag; XOR for bytes of flags)
// from a value the decoder already has: the direction's latest raw
// sequence number, the next-newer ring entry, the peer's next sequence
// number, the flow's first timestamp, ... Zero differences are left out
// under a presence mask. Packing changes no figure: the unpacked state is
// the packed one, field for field (TestPackRoundTrip,
// TestPackDifferential, TestPackedMatchesUnpacked). A state with open
// holes (which the explanation refers to) or with its bracket ring in
// Engine.bigTops is not packed.

// tcpState is the sequence-space state of both directions of a TCP flow,
// indexed by flow.Direction.
type tcpState struct {
	d [2]tcpDir
}

// DefaultUnpacked is the default of Config.Unpacked.
const DefaultUnpacked = 1 << 16

// Field layout of a packed state: per direction, dirFields values in the
// order stateCodec.walk visits them.
const (
	// bits, lastRaw, lastIPID, rings and the ring's entries in use; per
	// entry its time and 6 fields; 10 more fields; the bracket ring.
	dirFields    = 5 + 4*(1+6) + 10 + 4
	packFields   = 2 * dirFields
	packGroups   = (packFields + 7) / 8
	maxPackedLen = 2 + packGroups + packFields*binary.MaxVarintLen64
)

func zigzag(x int64) uint64   { return uint64(x<<1) ^ uint64(x>>63) }
func unzigzag(u uint64) int64 { return int64(u>>1) ^ -int64(u&1) }

// stateCodec turns a tcpState into packFields numbers and back. walk
// visits the fields in one fixed order for both ways, each with a
// reference value computed from fields visited before it, so that decoding
// can compute the same reference: the number stored is the field's
// difference from its reference, which for most fields of a typical flow
// is 0 or small.
type stateCodec struct {
	dec bool
	n   int
	v   [packGroups * 8]uint64
}

func (c *stateCodec) i64(x *int64, ref int64) {
	if c.dec {
		*x = ref + unzigzag(c.v[c.n])
	} else {
		c.v[c.n] = zigzag(*x - ref)
	}
	c.n++
}

func (c *stateCodec) i32(x *int32, ref int32) {
	if c.dec {
		*x = int32(int64(ref) + unzigzag(c.v[c.n]))
	} else {
		c.v[c.n] = zigzag(int64(*x) - int64(ref))
	}
	c.n++
}

// u32 stores the difference modulo 2^32, as the nearest signed value.
func (c *stateCodec) u32(x *uint32, ref uint32) {
	if c.dec {
		*x = ref + uint32(unzigzag(c.v[c.n]))
	} else {
		c.v[c.n] = zigzag(int64(int32(*x - ref)))
	}
	c.n++
}

func (c *stateCodec) u16(x *uint16, ref uint16) {
	if c.dec {
		*x = ref + uint16(unzigzag(c.v[c.n]))
	} else {
		c.v[c.n] = zigzag(int64(int16(*x - ref)))
	}
	c.n++
}

func (c *stateCodec) i8(x *int8) {
	if c.dec {
		*x = int8(unzigzag(c.v[c.n]))
	} else {
		c.v[c.n] = zigzag(int64(*x))
	}
	c.n++
}

func (c *stateCodec) u8(x *uint8, ref uint8) {
	if c.dec {
		*x = ref ^ uint8(c.v[c.n])
	} else {
		c.v[c.n] = uint64(*x ^ ref)
	}
	c.n++
}

// walk visits every field of st. firstNs is the flow's first timestamp,
// which the caller has both when packing and when unpacking. A reference
// may only use fields visited before: the forward direction (k 0) is
// visited first and whole, so the reverse one may refer to it.
func (c *stateCodec) walk(st *tcpState, firstNs int64) {
	c.n = 0
	for k := range st.d {
		d := &st.d[k]
		// Guesses from the forward direction for the reverse one: its
		// newest acknowledgement is most likely this side's next
		// sequence number, and both sides may share a timestamp clock.
		var lastRawRef, ackRef, tsRef uint32
		if k == 1 {
			fw := &st.d[0]
			if nw := fw.newestEntry(); nw >= 0 {
				lastRawRef, tsRef = fw.recent[nw].ack, fw.recent[nw].tsVal
			}
			ackRef = fw.lastRaw + uint32(fw.next-fw.lastAbs)
		}
		c.u8((*uint8)(&d.bits), 0)
		isInit := d.is(bitInit) // known from here on, both ways
		c.u32(&d.lastRaw, lastRawRef)
		c.u16(&d.lastIPID, 0)
		c.u8(&d.rings, 0)
		var set uint8 // which entries of the duplicate ring are in use
		if !c.dec {
			for i := range d.recent {
				if d.entrySet(i) {
					set |= 1 << i
				}
			}
		}
		c.u8(&set, 0)
		// The duplicate ring's entries: their times oldest first, each
		// from the one before (the first from the flow's start)...
		start := d.recentN()
		prevNs := firstNs
		newest := -1
		for j := range uint8(4) {
			i := (start + j) & 3
			if set&(1<<i) != 0 {
				c.i64(&d.recent[i].ns, prevNs)
				prevNs = d.recent[i].ns
				newest = int(i)
			}
		}
		// ... the rest newest first, each from the entry after it.
		var nx *segSig
		var nxSeq uint32
		for j := range uint8(4) {
			i := (start + 3 - j) & 3
			if set&(1<<i) == 0 {
				continue
			}
			r := &d.recent[i]
			if nx == nil {
				c.i32(&r.length, 0)
				c.u32(&d.recentSeq[i], d.lastRaw)
				c.u32(&r.ack, ackRef)
				c.u32(&r.tsVal, tsRef)
				c.u16(&r.ipID, d.lastIPID)
				c.u16((*uint16)(&r.flags), 0)
			} else {
				c.i32(&r.length, nx.length)
				c.u32(&d.recentSeq[i], nxSeq-uint32(r.length))
				c.u32(&r.ack, nx.ack)
				c.u32(&r.tsVal, nx.tsVal)
				c.u16(&r.ipID, nx.ipID-1)
				c.u16((*uint16)(&r.flags), uint16(nx.flags))
			}
			nx, nxSeq = r, d.recentSeq[i]
		}
		var newestLen, maxLen int32
		if newest >= 0 {
			newestLen = d.recent[newest].length
			for i := range d.recent {
				if set&(1<<i) != 0 {
					maxLen = max(maxLen, d.recent[i].length)
				}
			}
		}
		c.u32(&d.avgPay, uint32(newestLen)<<4)
		var absRef, ackedRef int64
		var isnRef uint32
		var winRef int32
		if isInit {
			// Without the handshake the window's scale is unknown and
			// taken as unknownScale (scale).
			absRef, winRef = 1<<32, 65535<<unknownScale
			if d.is(bitSynSeen) {
				winRef = 65535
			}
		}
		c.i64(&d.lastAbs, absRef)
		c.i64(&d.next, d.lastAbs+int64(newestLen))
		if d.is(bitAckSeen) {
			ackedRef = d.next
		}
		c.i64(&d.acked, ackedRef)
		if d.is(bitSynSeen) {
			isnRef = d.lastRaw
		}
		c.u32(&d.isn, isnRef)
		c.i32(&d.maxPay, maxLen)
		c.i32(&d.winMax, winRef)
		c.i8(&d.ipIDSeq)
		c.u8(&d.ws, 0)
		c.u16(&d.mss, 0)
		for i := range d.tops {
			c.u32(&d.tops[i], 0)
		}
	}
}

// entrySet reports whether entry i of the duplicate ring holds anything.
// An entry that is all zeros is left out of a packed state and comes back
// as zeros: the same.
func (d *tcpDir) entrySet(i int) bool {
	return d.recentSeq[i] != 0 || d.recent[i] != (segSig{})
}

// newestEntry returns the index of the newest entry of the duplicate ring
// in use, or -1.
func (d *tcpDir) newestEntry() int {
	n := int(d.recentN())
	for j := 1; j <= 4; j++ {
		if i := (n - j) & 3; d.entrySet(i) {
			return i
		}
	}
	return -1
}

// pack appends the packed form of st to dst: a mask of which groups of
// eight fields have a non-zero value, a mask of those per such group, then
// the non-zero values as varints.
func (c *stateCodec) pack(dst []byte, st *tcpState, firstNs int64) []byte {
	c.dec = false
	c.walk(st, firstNs)
	var m [packGroups]uint8
	for i, v := range c.v[:c.n] {
		if v != 0 {
			m[i>>3] |= 1 << (i & 7)
		}
	}
	var groups uint16
	for g, mg := range m {
		if mg != 0 {
			groups |= 1 << g
		}
	}
	dst = append(dst, byte(groups), byte(groups>>8))
	for _, mg := range m {
		if mg != 0 {
			dst = append(dst, mg)
		}
	}
	for _, v := range c.v[:c.n] {
		if v != 0 {
			dst = binary.AppendUvarint(dst, v)
		}
	}
	return dst
}

// unpack sets st, which must be zero, from b, the packed form of a state
// of a flow whose first timestamp is firstNs, possibly followed by
// padding. b was written by pack: a malformed b is a bug, which unpack
// does not try to detect beyond a varint that does not end.
func (c *stateCodec) unpack(st *tcpState, b []byte, firstNs int64) {
	c.v = [packGroups * 8]uint64{}
	groups := binary.LittleEndian.Uint16(b)
	masks := b[2:]
	vals := masks[bits.OnesCount16(groups):]
	for groups != 0 {
		g := bits.TrailingZeros16(groups)
		groups &= groups - 1
		m := masks[0]
		masks = masks[1:]
		for m != 0 {
			j := bits.TrailingZeros8(m)
			m &= m - 1
			v, n := binary.Uvarint(vals)
			if n <= 0 {
				panic("loss: malformed packed TCP state")
			}
			c.v[g*8+j] = v
			vals = vals[n:]
		}
	}
	c.dec = true
	c.walk(st, firstNs)
}

// packStore holds packed states, each in a block of a multiple of 8
// bytes. The blocks of one size are kept dense: releasing a block moves the
// size's last block into its place, so the store holds no free block
// however the states grow from one size to the next. The blocks sit in
// slabs of slabBytes that hold no pointers (the collector does not scan
// them); a slab that its size no longer needs goes to a pool that every
// size draws from, so states moving from one size to another make no
// garbage. A block starts with the index of its owner in owners, so that
// the owner's reference can follow the block when it moves. A reference
// is the block's size class (its size / 8, from 1) shifted left by 32 bits
// plus its index; 0 is no block.
type packStore struct {
	cls    [(maxPackedLen+4)/8 + 2]packClass
	pool   [][]byte  // slabs not in use
	owners [][]*acct // the accounting whose packed refers to each block, in chunks of ownerChunk
	nOwn   uint32    // owner indexes handed out so far
	free   []uint32  // unused owner indexes
}

// ownerChunk is the length of a chunk of packStore.owners: chunks, not one
// slice, so that growing leaves no garbage.
const ownerChunk = 4096

func (s *packStore) owner(o uint32) **acct { return &s.owners[o/ownerChunk][o%ownerChunk] }

// slabs returns the number of slabs the store holds.
func (s *packStore) slabs() int {
	n := len(s.pool)
	for i := range s.cls {
		n += len(s.cls[i].slabs)
	}
	return n
}

// collectAtEnd is the memory of packed states (about 450,000 flows') from
// which Finish collects the garbage once it has dropped them.
const collectAtEnd = 32 << 20

type packClass struct {
	slabs [][]byte
	n     uint32 // blocks in use: indexes 0..n-1
}

// slabBytes is the size of a slab: it holds at least one of the largest
// blocks.
const slabBytes = 64 << 10

// perSlab is how many blocks of size class k a slab holds.
func perSlab(k int) uint32 { return uint32(slabBytes / (8 * k)) }

// alloc stores b for owner a and returns its reference.
func (s *packStore) alloc(b []byte, a *acct) uint64 {
	k := (len(b) + 4 + 7) / 8
	pc := &s.cls[k]
	i := pc.n
	pc.n++
	per := perSlab(k)
	if int(i/per) == len(pc.slabs) {
		var slab []byte
		if n := len(s.pool); n > 0 {
			slab = s.pool[n-1]
			s.pool[n-1] = nil
			s.pool = s.pool[:n-1]
		} else {
			slab = make([]byte, slabBytes)
		}
		pc.slabs = append(pc.slabs, slab)
	}
	var o uint32
	if n := len(s.free); n > 0 {
		o = s.free[n-1]
		s.free = s.free[:n-1]
	} else {
		o = s.nOwn
		s.nOwn++
		if int(o/ownerChunk) == len(s.owners) {
			s.owners = append(s.owners, make([]*acct, ownerChunk))
		}
	}
	*s.owner(o) = a
	blk := s.block(k, i)
	binary.LittleEndian.PutUint32(blk, o)
	copy(blk[4:], b)
	return uint64(k)<<32 | uint64(i)
}

func (s *packStore) block(k int, i uint32) []byte {
	per := perSlab(k)
	off := int(i%per) * 8 * k
	return s.cls[k].slabs[i/per][off : off+8*k]
}

// bytes returns the packed state of ref, with the padding to the block's
// size; it is valid until the next release.
func (s *packStore) bytes(ref uint64) []byte {
	return s.block(int(ref>>32), uint32(ref))[4:]
}

// release frees the block of ref: the class's last block moves into its
// place (and its owner's packed follows).
func (s *packStore) release(ref uint64) {
	k := int(ref >> 32)
	pc := &s.cls[k]
	i := uint32(ref)
	blk := s.block(k, i)
	o := binary.LittleEndian.Uint32(blk)
	*s.owner(o) = nil
	s.free = append(s.free, o)
	last := pc.n - 1
	if i != last {
		lb := s.block(k, last)
		copy(blk, lb)
		(*s.owner(binary.LittleEndian.Uint32(lb))).packed = uint64(k)<<32 | uint64(i)
	}
	pc.n = last
	// Give the slab beyond the last block back to the pool, keeping one
	// spare so that a class that shrinks and grows by one block does not
	// go back and forth.
	per := perSlab(k)
	if j := len(pc.slabs) - 1; j > 0 && uint32(j-1)*per >= pc.n {
		s.pool = append(s.pool, pc.slabs[j])
		pc.slabs[j] = nil
		pc.slabs = pc.slabs[:j]
	}
}

// liveRef is an entry of the Engine's queue of unpacked states: a flow's
// record and accounting, and the global frame index of the flow's latest
// frame when the entry was queued (or requeued).
type liveRef struct {
	rec *flowtab.Flow[state]
	a   *acct
	at  uint64
}

// maxStateChunk is the most TCP states allocated at once: 6 MiB, at least
// two whole huge pages wherever they start.
const maxStateChunk = 1 << 14

// newState returns a zero tcpState.
func (e *Engine) newState() *tcpState {
	if n := len(e.spare); n > 0 {
		st := e.spare[n-1]
		e.spare[n-1] = nil
		e.spare = e.spare[:n-1]
		return st
	}
	if len(e.stChunk) == 0 {
		// Chunks double from 64 states up to maxStateChunk, so that the
		// states of many flows lie in huge pages (see internal/hugepage).
		// A chunk that would take them beyond DefaultUnpacked states
		// stays in small pages: huge pages are resident at once (see
		// maxHugeChunks in flowtab), and the states beyond the bound are
		// only the few that wait to be packed, or those of a run
		// without a bound.
		e.stChunkLen = min(max(2*e.stChunkLen, 64), maxStateChunk)
		if e.stMade+e.stChunkLen <= DefaultUnpacked {
			e.stChunk = hugepage.Slice[tcpState](e.stChunkLen)
		} else {
			e.stChunk = make([]tcpState, e.stChunkLen)
		}
		e.stMade += e.stChunkLen
	}
	st := &e.stChunk[0]
	e.stChunk = e.stChunk[1:]
	// A chunk made with make (beyond DefaultUnpacked; hugepage.Slice
	// maps its chunks at once, hugepage.Touch) has its pages not mapped
	// yet. The accounting reads a state before it writes it, and a page
	// read first is mapped to the shared zero page, then copied at the
	// first write with a flush of every core's TLB (an interrupt to the
	// reading goroutine's core). Writing both ends of the state now, the
	// values it already has, maps its pages once, writable.
	st.d[0].next = 0
	st.d[1].recent[len(st.d[1].recent)-1].ns = 0
	return st
}

// releaseState takes back an unpacked state that no flow uses any more.
func (e *Engine) releaseState(st *tcpState) {
	*st = tcpState{}
	e.spare = append(e.spare, st)
	e.unpacked--
}

// unpack gives flow a, whose record is rec, an unpacked TCP state: its
// packed one, or a new one.
func (e *Engine) unpack(a *acct, rec *flowtab.Flow[state]) {
	st := e.newState()
	if a.packed != 0 {
		e.codec.unpack(st, e.packs.bytes(a.packed), a.firstNs)
		e.packs.release(a.packed)
		a.packed = 0
	}
	a.st = st
	e.unpacked++
	if e.maxUnpacked >= 0 {
		e.queue = append(e.queue, liveRef{rec: rec, a: a, at: e.gi})
	}
}

// packIdle packs the states longest without a frame while there are more
// than maxUnpacked unpacked ones: a CLOCK approximation of least recently
// used. Each unpacked state has one entry in the queue, from when it was
// unpacked; an entry whose flow had a frame since goes back to the end of
// the queue instead, as does one whose state cannot be packed now. The
// queue also holds the entries of flows that ended unpacked (stale), until
// they come up or the queue is compacted (dropStale). Each call looks at a
// few entries only, so a frame's cost stays bounded however many states
// cannot be packed.
func (e *Engine) packIdle() {
	for n := 0; n < 8 && e.unpacked > e.maxUnpacked && e.queueHead < len(e.queue); n++ {
		r := e.queue[e.queueHead]
		e.queue[e.queueHead] = liveRef{}
		e.queueHead++
		if r.a.st == nil {
			e.stale-- // the flow ended
			continue
		}
		if last := r.rec.State.lastFrame; last > r.at {
			r.at = last
			e.queue = append(e.queue, r)
			continue
		}
		if !e.pack(r.a, r.rec) {
			r.at = e.gi
			e.queue = append(e.queue, r)
		}
	}
	if h := e.queueHead; h >= 1024 && 2*h >= len(e.queue) {
		n := copy(e.queue, e.queue[h:])
		clear(e.queue[n:])
		e.queue = e.queue[:n]
		e.queueHead = 0
	}
}

// dropStale compacts the queue when most of it is the entries of flows
// that ended: below the bound packIdle does not run, and without this the
// queue would grow with every TCP flow of the capture.
func (e *Engine) dropStale() {
	q := e.queue[e.queueHead:]
	if e.stale < 1024 || 2*e.stale < len(q) {
		return
	}
	n := 0
	for _, r := range q {
		if r.a.st != nil {
			e.queue[n] = r
			n++
		}
	}
	clear(e.queue[n:])
	e.queue, e.queueHead, e.stale = e.queue[:n], 0, 0
}

// pack packs the TCP state of flow a, whose record is rec, unless the
// state has open holes or keeps its bracket ring in bigTops.
func (e *Engine) pack(a *acct, rec *flowtab.Flow[state]) bool {
	st := a.st
	for i := range st.d {
		if d := &st.d[i]; d.nHoles() > 0 || d.is(bitBigTops) {
			return false
		}
	}
	e.packBuf = e.codec.pack(e.packBuf[:0], st, a.firstNs)
	a.packed = e.packs.alloc(e.packBuf, a)
	a.st = nil
	e.releaseState(st)
	return true
}
