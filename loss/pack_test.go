package loss

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/gapan/gapan/decode"
)

// stateFrom fills a tcpState from b, field by field (zeros once b runs
// out), so that any bytes make a state: the fuzzer's way into every field.
func stateFrom(b []byte) (st tcpState, firstNs int64) {
	next := func(n int) uint64 {
		var buf [8]byte
		k := copy(buf[:n], b)
		b = b[k:]
		return binary.LittleEndian.Uint64(buf[:])
	}
	firstNs = int64(next(8))
	for k := range st.d {
		d := &st.d[k]
		d.next, d.lastAbs, d.acked, d.avgPay = int64(next(8)), int64(next(8)), int64(next(8)), uint32(next(8))
		d.lastRaw, d.isn, d.maxPay, d.winMax = uint32(next(4)), uint32(next(4)), int32(next(4)), int32(next(4))
		d.ipIDSeq, d.rings, d.ws, d.bits = int8(next(1)), uint8(next(1)), uint8(next(1)), dirBits(next(1))
		d.lastIPID, d.mss = uint16(next(2)), uint16(next(2))
		for i := range d.recent {
			d.recentSeq[i], d.tops[i] = uint32(next(4)), uint32(next(4))
			r := &d.recent[i]
			r.ack, r.tsVal, r.length = uint32(next(4)), uint32(next(4)), int32(next(4))
			r.ipID, r.flags, r.ns = uint16(next(2)), decode.TCPFlags(next(2)), int64(next(8))
		}
	}
	return st, firstNs
}

// roundTripState packs st and requires unpacking to give it back.
func roundTripState(t *testing.T, st *tcpState, firstNs int64) int {
	t.Helper()
	var c stateCodec
	b := c.pack(nil, st, firstNs)
	if len(b) > maxPackedLen {
		t.Fatalf("packed state of %d bytes, at most %d expected", len(b), maxPackedLen)
	}
	var s packStore
	ref := s.alloc(b, new(acct))
	var got tcpState
	var c2 stateCodec
	c2.unpack(&got, s.bytes(ref), firstNs)
	if got != *st {
		t.Fatalf("unpacked state differs:\n got %+v\nwant %+v", got, *st)
	}
	return len(b)
}

// TestPackRoundTrip packs states of every kind, from typical to extreme
// values in every field, and requires each to come back unchanged.
func TestPackRoundTrip(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	pick := func() uint64 {
		switch r.IntN(6) {
		case 0:
			return 0
		case 1:
			return uint64(r.IntN(1000))
		case 2:
			return -uint64(r.IntN(1000))
		case 3:
			return math.MaxUint64 >> r.IntN(64)
		case 4:
			return 1 << 63
		}
		return r.Uint64()
	}
	for range 20000 {
		var b [512]byte
		for i := 0; i < len(b); i += 8 {
			binary.LittleEndian.PutUint64(b[i:], pick())
		}
		st, firstNs := stateFrom(b[:r.IntN(len(b))])
		roundTripState(t, &st, firstNs)
	}
	var zero tcpState
	if n := roundTripState(t, &zero, 0); n != 2 {
		t.Errorf("the zero state packs into %d bytes, want 2", n)
	}
}

// TestPackedSize checks that the state of a typical short flow packs small:
// the bench's flow of two data segments and an acknowledgement.
func TestPackedSize(t *testing.T) {
	st, first := typicalState()
	n := roundTripState(t, &st, first)
	if n > 64 {
		t.Errorf("a flow of three segments packs into %d bytes, want at most 64", n)
	}
	t.Logf("packed: %d bytes (unpacked %d)", n, 384)
}

// FuzzPackRoundTrip: any state packs and unpacks to itself.
func FuzzPackRoundTrip(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 255, 255, 255, 255, 255, 255, 255, 127})
	f.Fuzz(func(t *testing.T, b []byte) {
		st, firstNs := stateFrom(b)
		roundTripState(t, &st, firstNs)
	})
}

// TestPackStore allocates and releases blocks of random sizes at random
// and checks every live block's contents through its owner's reference,
// which follows the block when it moves, and that the store gives its
// slabs back as sizes empty.
func TestPackStore(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	var s packStore
	type live struct {
		a    *acct
		want []byte
	}
	var ls []live
	check := func() {
		t.Helper()
		for _, l := range ls {
			got := s.bytes(l.a.packed)[:len(l.want)]
			if string(got) != string(l.want) {
				t.Fatalf("block of owner %p: %x, want %x", l.a, got, l.want)
			}
		}
	}
	for step := range 200000 {
		grow := step < 100000
		if len(ls) == 0 || (grow && r.IntN(3) > 0) || (!grow && r.IntN(3) == 0) {
			n := 2 + r.IntN(100)
			if r.IntN(50) == 0 {
				n = maxPackedLen
			}
			b := make([]byte, n)
			for i := range b {
				b[i] = byte(r.Uint32())
			}
			a := new(acct)
			a.packed = s.alloc(b, a)
			ls = append(ls, live{a, b})
		} else {
			i := r.IntN(len(ls))
			s.release(ls[i].a.packed)
			ls[i] = ls[len(ls)-1]
			ls = ls[:len(ls)-1]
		}
		if step%9973 == 0 {
			check()
		}
	}
	check()
	for _, l := range ls {
		s.release(l.a.packed)
	}
	for k := range s.cls {
		if pc := &s.cls[k]; pc.n != 0 || len(pc.slabs) > 1 {
			t.Errorf("size class %d: %d blocks, %d slabs left after releasing all", k, pc.n, len(pc.slabs))
		}
	}
	if len(s.free) != int(s.nOwn) {
		t.Errorf("%d owner slots free of %d", len(s.free), s.nOwn)
	}
}

// BenchmarkPack measures packing and unpacking the state of a typical short
// flow (TestPackedSize's).
func BenchmarkPack(b *testing.B) {
	st, first := typicalState()
	var c stateCodec
	buf := c.pack(nil, &st, first)
	b.Run("pack", func(b *testing.B) {
		for range b.N {
			buf = c.pack(buf[:0], &st, first)
		}
	})
	b.Run("unpack", func(b *testing.B) {
		var got tcpState
		for range b.N {
			got = tcpState{}
			c.unpack(&got, buf, first)
		}
	})
}

// typicalState is the state of the bench's flows at the end: two data
// segments one way, an acknowledgement the other, no handshake.
func typicalState() (st tcpState, first int64) {
	first = 1_700_000_000_000_000_000
	d, b := &st.d[0], &st.d[1]
	d.lastRaw, d.lastAbs, d.next, d.acked, d.avgPay = 1_000_500, 1<<32+500, 1<<32+1000, 1<<32+1000, 500<<4
	d.maxPay, d.winMax, d.ipIDSeq, d.lastIPID = 500, 65535<<unknownScale, 1, 40001
	d.bits = bitInit | bitAckSeen | bitAckFlag
	d.recentSeq[0], d.recentSeq[1] = 1_000_000, 1_000_500
	d.recent[0] = segSig{ack: 7_000_000, tsVal: 123456, length: 500, ipID: 40000, flags: 0x18, ns: first}
	d.recent[1] = segSig{ack: 7_000_000, tsVal: 124456, length: 500, ipID: 40001, flags: 0x18, ns: first + 1e9}
	d.tops[1] = 1_000_000
	d.rings = 2 | 2<<3
	b.lastRaw, b.lastAbs, b.next = 7_000_000, 1<<32, 1<<32
	b.winMax, b.lastIPID, b.bits = 65535<<unknownScale, 9, bitInit|bitAckFlag
	b.recentSeq[0] = 7_000_000
	b.recent[0] = segSig{ack: 1_001_000, tsVal: 125456, ipID: 9, flags: 0x10, ns: first + 2e9}
	b.tops[0] = 2_000_000
	b.rings = 1 | 1<<3
	return st, first
}
