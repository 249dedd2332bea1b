package flowtab

import (
	"encoding/binary"
	"math/bits"
	"math/rand/v2"
	"unsafe"

	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/hugepage"
	"github.com/gapan/gapan/internal/prefetch"
)

// index maps flow keys to slots of the Table's records: open addressing
// with linear probing over a power-of-two array, at most half full. Each
// entry packs the low 32 bits of the key's hash (its home position and a
// fingerprint) with the record's slot + 1 (0: empty), so a probe reads
// 8 bytes per entry and compares a record's key only on a fingerprint
// match. Deletion shifts later entries of the cluster back, so no
// tombstones accumulate. Compared with a Go map keyed by the 44-byte Key
// it hashes with a few multiplications instead of a generic hash of the
// bytes, never stores the key twice (the record holds it), and takes 8
// bytes per entry.
//
// The hash is seeded at random per table: a crafted capture cannot aim
// its flows at one cluster. Nothing is ever iterated in index order, so
// the seed does not change any output.
type index struct {
	slots []uint64
	mask  uint64
	n     int
	hs    Hasher
}

func (x *index) hashKey(k *flow.Key) uint32 { return x.hs.Hash(k) }

func newIndex(capacity int) index {
	size := 16
	for size < 2*capacity {
		size <<= 1
	}
	return index{slots: make([]uint64, size), mask: uint64(size - 1), hs: Hasher{rand.Uint64() | 1}}
}

// mix is one round of the multiply-fold hash (wyhash's mum).
func mix(a, b uint64) uint64 {
	hi, lo := bits.Mul64(a, b)
	return hi ^ lo
}

// Hasher hashes flow keys as one Table's index does. It is a plain value:
// safe to use from any goroutine, so the hashing can run ahead of the
// table (see Table.LookupKey).
type Hasher struct{ seed uint64 }

// Hash returns k's hash.
func (hs Hasher) Hash(k *flow.Key) uint32 {
	const (
		p0 = 0xa0761d6478bd642f
		p1 = 0xe7037ed1a0b428db
		p2 = 0x8ebc6af09c88c6e3
	)
	a0 := binary.LittleEndian.Uint64(k.A[0:8])
	a1 := binary.LittleEndian.Uint64(k.A[8:16])
	b0 := binary.LittleEndian.Uint64(k.B[0:8])
	b1 := binary.LittleEndian.Uint64(k.B[8:16])
	// The fields are combined with ^, not |, which gives the same value
	// (their bits do not overlap) but keeps the compiler from merging
	// their loads into one 8-byte load: flow.Key.Set has just written
	// them one by one, and a load wider than the stores it reads cannot
	// be forwarded from them; it waits until they are written to cache.
	t := uint64(k.PortA) ^ uint64(k.PortB)<<16 ^ uint64(k.VLAN[0])<<32 ^ uint64(k.VLAN[1])<<48
	u := uint64(k.EtherType) ^ uint64(k.Proto)<<16 ^ uint64(k.IPVersion)<<24
	h := mix(a0^p0^hs.seed, a1^p1)
	h = mix(h^b0^p2, b1^p0)
	h = mix(h^t^p1, u^p2)
	return uint32(h ^ h>>32)
}

// find returns the slot of the record with key k, or -1.
func find[S any](t *Table[S], k *flow.Key, h uint32) int32 {
	x := &t.idx
	for i := uint64(h) & x.mask; ; i = (i + 1) & x.mask {
		var s int32
		if i, s = x.match(i, h); s == none || t.at(s).Key == *k {
			return s
		}
	}
}

// match returns the first entry at or after position i of the probe for
// hash h whose fingerprint is h: its position and slot, or the slot -1 if
// an empty entry comes first.
func (x *index) match(i uint64, h uint32) (uint64, int32) {
	for ; ; i = (i + 1) & x.mask {
		e := x.slots[i]
		if e == 0 {
			return i, none
		}
		if uint32(e>>32) == h {
			return i, int32(uint32(e) - 1)
		}
	}
}

// insert adds slot s under hash h; the key must not be present.
func (x *index) insert(h uint32, s int32) {
	if 2*(x.n+1) > len(x.slots) {
		x.grow()
	}
	x.put(uint64(h)<<32 | uint64(uint32(s)+1))
	x.n++
}

func (x *index) put(e uint64) {
	for i := (e >> 32) & x.mask; ; i = (i + 1) & x.mask {
		if x.slots[i] == 0 {
			x.slots[i] = e
			return
		}
	}
}

func (x *index) grow() {
	old := x.slots
	x.slots = hugepage.Slice[uint64](2 * len(old)) // probed at random, as the records are
	x.mask = uint64(len(x.slots) - 1)
	for _, e := range old {
		if e != 0 {
			x.put(e)
		}
	}
}

// remove deletes the entry of slot s under hash h (which must be present)
// and shifts the rest of its cluster back over the hole.
func (x *index) remove(h uint32, s int32) {
	want := uint64(h)<<32 | uint64(uint32(s)+1)
	i := uint64(h) & x.mask
	for x.slots[i] != want {
		i = (i + 1) & x.mask
	}
	x.n--
	for j := (i + 1) & x.mask; ; j = (j + 1) & x.mask {
		e := x.slots[j]
		if e == 0 {
			break
		}
		home := (e >> 32) & x.mask
		// e may move to i when i lies cyclically in [home, j).
		if (j-home)&x.mask >= (j-i)&x.mask {
			x.slots[i] = e
			i = j
		}
	}
	x.slots[i] = 0
}

// PrefetchSlot asks for the index entry at which the probe for hash h
// starts to be brought into cache, without waiting for it: the first step
// of a prefetch for a lookup to come. It changes nothing.
func (t *Table[S]) PrefetchSlot(h uint32) {
	prefetch.Line(unsafe.Pointer(&t.idx.slots[uint64(h)&t.idx.mask]))
}

// PeekSlot is the second step: the slot of the first entry on the probe
// for hash h whose fingerprint is h, or -1 if the probe reaches an empty
// entry first. It is the slot Lookup would find for a key of hash h unless
// two live keys share all 32 bits of it (the record then tells them
// apart; a prefetch may take the wrong one). It reads the index (the
// entries of the probe: nearly always the line PrefetchSlot asked for)
// and changes nothing. Stopping at the first entry, as a prefetch used to,
// led to another flow's record whenever the flow's entry was not at its
// home position: with 50,000 flows in the index of 131,072 entries, 19 %
// of the flows (a simulation of the inserts), a quarter at the index's
// highest load.
func (t *Table[S]) PeekSlot(h uint32) int32 {
	_, s := t.idx.match(uint64(h)&t.idx.mask, h)
	return s
}

// PeekFlow is the third step: the record of slot s as PeekSlot found it,
// or nil for -1. The record may have ended and been reused since (the
// slot is never out of the table's memory): a prefetch through it then
// brings lines that go unused. It changes nothing.
func (t *Table[S]) PeekFlow(s int32) *Flow[S] {
	if s < 0 || s >= t.used {
		return nil
	}
	return t.at(s)
}
