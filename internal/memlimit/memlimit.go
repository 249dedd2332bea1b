// Package memlimit keeps a soft memory limit (runtime/debug.SetMemoryLimit)
// that follows the live heap.
//
// A fixed soft limit makes the collector return short-lived garbage before
// the heap doubles, which keeps a run's peak near its live set; but once
// the live set itself reaches the limit, the collector runs without end
// (up to the runtime's cap of about half the CPU) and the run slows down
// several times. Follow sets the limit to the larger of a base and a
// multiple of the live heap, raising it as the live heap grows and
// lowering it again (not below the base) as the live heap shrinks: a run
// whose largest live heap comes before a phase that makes much garbage
// (gapan's: a million flows live until the end of the capture, then
// written out) would otherwise fill the limit set at that largest live
// heap with the garbage, and peak above it.
//
//	stop := memlimit.Follow(384<<20, 1.5, 100*time.Millisecond)
//	defer stop()
package memlimit

import (
	"math"
	"os"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"time"
)

const liveHeap = "/gc/heap/live:bytes"

// window holds the last readings of the live heap.
type window struct {
	last [5]uint64
	n    int
}

// add takes a reading and returns the least of the last ones.
func (w *window) add(live uint64) uint64 {
	w.last[w.n%len(w.last)] = live
	w.n++
	for _, r := range w.last[:min(w.n, len(w.last))] {
		live = min(live, r)
	}
	return live
}

// Limit returns the soft memory limit for a live heap of live bytes: the
// larger of base and headroom times live.
func Limit(base int64, headroom float64, live uint64) int64 {
	l := float64(live) * headroom
	if l >= math.MaxInt64 {
		return math.MaxInt64
	}
	return max(base, int64(l))
}

// Follow sets the soft memory limit to Limit(base, headroom, live heap)
// now and then every interval, up or down, until the returned function is
// called; that function stops the updates and restores the limit in force
// before Follow. The live heap it follows is the least of its last five
// readings (each the live heap as the last collection measured it): a
// collection whose mark is long (on a loaded machine) counts as live what
// was allocated during it, and following that one reading would raise the
// limit for nothing (at a million flows, by 1.07 times 15 MB, which the
// heap then filled).
func Follow(base int64, headroom float64, interval time.Duration) (stop func()) {
	prev := debug.SetMemoryLimit(-1)
	sample := []metrics.Sample{{Name: liveHeap}}
	var set int64
	var w window
	update := func() {
		metrics.Read(sample)
		var live uint64
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = sample[0].Value.Uint64()
		}
		if l := Limit(base, headroom, w.add(live)); l != set {
			set = l
			debug.SetMemoryLimit(l)
		}
	}
	update()
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-t.C:
				update()
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			close(done)
			wg.Wait()
			debug.SetMemoryLimit(prev)
		})
	}
}

// FollowUnlessSet is Follow every 100 ms unless the GOMEMLIMIT environment
// variable is set: the user's limit then wins, and stop does nothing.
func FollowUnlessSet(base int64, headroom float64) (stop func()) {
	if os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	return Follow(base, headroom, 100*time.Millisecond)
}
