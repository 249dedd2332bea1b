package memlimit

import (
	"math"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestLimit(t *testing.T) {
	for _, tc := range []struct {
		base     int64
		headroom float64
		live     uint64
		want     int64
	}{
		{384 << 20, 1.5, 0, 384 << 20},
		{384 << 20, 1.5, 100 << 20, 384 << 20},
		{384 << 20, 1.5, 300 << 20, 450 << 20},
		{0, 2, math.MaxUint64, math.MaxInt64},
	} {
		if got := Limit(tc.base, tc.headroom, tc.live); got != tc.want {
			t.Errorf("Limit(%d, %v, %d) = %d, want %d", tc.base, tc.headroom, tc.live, got, tc.want)
		}
	}
}

// TestFollow holds a live heap above the base and requires the limit to
// follow it, to come down once the heap is freed, then to go back to what
// it was when stopped.
func TestFollow(t *testing.T) {
	before := debug.SetMemoryLimit(-1)
	const base = 8 << 20
	stop := Follow(base, 2, 10*time.Millisecond)
	if got := debug.SetMemoryLimit(-1); got < base {
		t.Fatalf("limit %d right after Follow, want at least %d", got, base)
	}
	live := make([][]byte, 0, 64)
	for range 64 {
		live = append(live, make([]byte, 1<<20)) // 64 MiB, 8 times the base
	}
	runtime.GC() // the live heap is measured by a collection
	deadline := time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) < 2*(64<<20) {
		if time.Now().After(deadline) {
			t.Fatalf("limit %d after 5 s with 64 MiB live, want at least 128 MiB", debug.SetMemoryLimit(-1))
		}
		time.Sleep(10 * time.Millisecond)
	}
	runtime.KeepAlive(live)
	// The live heap shrinks: the limit comes back down to the base.
	live = nil
	runtime.GC()
	deadline = time.Now().Add(5 * time.Second)
	for debug.SetMemoryLimit(-1) >= 64<<20 {
		if time.Now().After(deadline) {
			t.Fatalf("limit %d after 5 s with the 64 MiB freed, want it back under 64 MiB", debug.SetMemoryLimit(-1))
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	stop() // idempotent
	if got := debug.SetMemoryLimit(-1); got != before {
		t.Errorf("limit %d after stop, want %d back", got, before)
	}
}

// TestFollowUnlessSet: with GOMEMLIMIT set the limit in force stays; without
// it the limit is the base (the test's live heap is far below it) until
// stop restores the one before.
func TestFollowUnlessSet(t *testing.T) {
	const before, base = 3 << 40, 5 << 40
	prev := debug.SetMemoryLimit(before)
	defer debug.SetMemoryLimit(prev)
	t.Setenv("GOMEMLIMIT", "1GiB")
	stop := FollowUnlessSet(base, 1.5)
	if l := debug.SetMemoryLimit(-1); l != before {
		t.Errorf("GOMEMLIMIT set: limit %d, want %d", l, before)
	}
	stop()
	t.Setenv("GOMEMLIMIT", "")
	stop = FollowUnlessSet(base, 1.5)
	if l := debug.SetMemoryLimit(-1); l != base {
		t.Errorf("GOMEMLIMIT unset: limit %d, want %d", l, base)
	}
	stop()
	if l := debug.SetMemoryLimit(-1); l != before {
		t.Errorf("after stop: limit %d, want %d", l, before)
	}
}
