package loss

import (
	"testing"
	"unsafe"

	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/flowtab"
)

// TestTCPStateSize holds the per-flow accounting state to the size
// docs/performance.md states: it is the memory of a run with a million
// live flows.
func TestTCPStateSize(t *testing.T) {
	// tcpDir.rings packs the ring positions for rings of four.
	if bracketDepth != 4 || len(tcpDir{}.recent) != 4 || len(tcpDir{}.recentSeq) != 4 {
		t.Errorf("rings of %d and %d entries, want 4", bracketDepth, len(tcpDir{}.recent))
	}
	if got := unsafe.Sizeof(tcpDir{}); got != 192 {
		t.Errorf("tcpDir is %d bytes, want 192", got)
	}
	// 49 to 64 bytes: the 64-byte size class, one aligned cache line.
	if got := unsafe.Sizeof(acct{}); got <= 48 || got > 64 {
		t.Errorf("acct is %d bytes, want 49 to 64", got)
	}
	if got := unsafe.Sizeof(tcpState{}); got != 384 {
		t.Errorf("tcpState is %d bytes, want 384", got)
	}
	if got := unsafe.Sizeof(flowtab.Flow[state]{}); got != 128 {
		t.Errorf("the flow record is %d bytes, want 128 (two cache lines)", got)
	}
	if got := unsafe.Offsetof(tcpDir{}.recentSeq); got != 64 {
		t.Errorf("the first cache line of tcpDir ends at %d, want 64", got)
	}
}

// TestBatchFrameLayout holds a batch's frame to the layout batchFrame's
// comment gives: whole cache lines, each frame starting on one, and what
// the accounting of a TCP segment reads in three of them.
func TestBatchFrameLayout(t *testing.T) {
	var f batchFrame
	if got := unsafe.Sizeof(f); got%64 != 0 || got > 576 {
		t.Errorf("batchFrame is %d bytes, want a multiple of 64 (adjust its padding), at most 576", got)
	}
	if got := unsafe.Offsetof(f.rf) + unsafe.Offsetof(f.rf.OrigLen) + 8; got > 64 {
		t.Errorf("the Frame fields the accounting reads end at %d, want within the first line", got)
	}
	if got := unsafe.Offsetof(f.jf) + unsafe.Sizeof(f.jf); got > unsafe.Offsetof(f.rf) {
		t.Errorf("join.Frame ends at %d, after rf", got)
	}
	if got := unsafe.Offsetof(f.pkt); got != 128 {
		t.Errorf("pkt starts at %d, want 128 (the third line)", got)
	}
	hot := unsafe.Offsetof(f.pkt.TCP) + unsafe.Offsetof(f.pkt.TCP.SACK)
	if hot > 128 || unsafe.Offsetof(f.pkt.Mirror) > 128-unsafe.Sizeof(f.pkt.Mirror) || unsafe.Offsetof(f.pkt.PayloadLen) > 120 {
		t.Errorf("the Packet fields a TCP segment's accounting reads end at %d, want within its first 128 bytes", hot)
	}
	b := NewEngine(Config{}).NewBatch(1024)
	if a := uintptr(unsafe.Pointer(&b.frames[0])); a%64 != 0 {
		t.Errorf("a batch's frames start at %#x, not on a cache line", a)
	}
}

// TestBracketRingFallback checks that the bracket ring, kept as 32-bit
// offsets from the flow's first frame, gives the same bracket starts as a
// ring of whole frame numbers, also for a flow that outlives 2^32 frames
// (its ring moves to Engine.bigTops) and after the flow ends.
func TestBracketRingFallback(t *testing.T) {
	for _, tc := range []struct {
		name  string
		first uint64
		steps []uint64 // increments between pushes
	}{
		{"short", 7, []uint64{0, 1, 1, 5, 2, 9, 1}},
		{"long: the saturating count wraps", 3, []uint64{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20}},
		{"offset just fits", 1, []uint64{0, 3, 1<<32 - 5, 1, 2, 1}},
		{"crosses 2^32 at first push after a few", 100, []uint64{0, 10, 20, 1 << 32, 1, 1, 1, 1 << 33}},
		{"crosses before the ring is full", 1, []uint64{0, 1 << 32, 4, 4, 4, 4}},
		{"first push already far", 5, []uint64{1<<32 + 7, 1, 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := NewEngine(Config{})
			a := &acct{firstFrame: tc.first, st: e.newState()}
			e.unpacked++ // as Engine.unpack counts it
			d := &a.st.d[1]
			var ref []uint64
			want := func() uint64 {
				if len(ref) == 0 {
					return 0
				}
				return ref[max(0, len(ref)-bracketDepth)]
			}
			if got := e.bracketStart(a, d); got != 0 {
				t.Fatalf("empty ring: bracket start %d, want 0", got)
			}
			gi := tc.first
			for i, s := range tc.steps {
				gi += s
				e.pushTop(a, d, gi)
				ref = append(ref, gi)
				if got := e.bracketStart(a, d); got != want() {
					t.Fatalf("after push %d (frame %d): bracket start %d, want %d", i, gi, got, want())
				}
				if got := e.lastTop(a, d); got != gi {
					t.Fatalf("after push %d: last top %d, want %d", i, got, gi)
				}
			}
			big := gi-tc.first > 1<<32-1
			if d.is(bitBigTops) != big || (e.bigTops[d] != nil) != big {
				t.Errorf("fallback used %v (map entry %v), want %v", d.is(bitBigTops), e.bigTops[d] != nil, big)
			}
			e.flowEnded(&flowtab.Flow[state]{State: state{a: a}, Reason: flow.ReasonIdle})
			if len(e.bigTops) != 0 {
				t.Errorf("%d bigTops entries left after the flow ended", len(e.bigTops))
			}
			if e.unpacked != 0 || a.st != nil {
				t.Errorf("after the flow ended: %d states unpacked, state %p, want 0 and none", e.unpacked, a.st)
			}
		})
	}
}
