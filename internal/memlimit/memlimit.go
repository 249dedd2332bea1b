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

// ReportBase and ReportHeadroom are gapan report's soft memory limit: the
// base, and the multiple of the live heap above it. The outputs that list
// every flow (json, csv, ndjson, html) turn each into a record and its
// bytes, garbage the collector leaves to pile up to twice the live heap
// (GOGC): the limit keeps the peak near the live set. A million live
// flows hold about 330 MB (the limit is then 1.1 times that); once they
// are handed out the limit comes back down to the base
// (docs/performance.md, issue 21).
const (
	ReportBase     = 320 << 20
	ReportHeadroom = 1.1
)

// ParquetBase is gapan parquet's soft memory limit while the live heap is
// below ParquetBase/ParquetHeadroom; above, the limit is ParquetHeadroom
// times the live heap. The encoders' buffers come and go a row group at a
// time: the limit makes the collector return them before the heap doubles
// (GOGC), keeping the peak near the live set. At a million live flows the
// accounting holds about 330 MB and the writer about 15 MB: 1.07 keeps
// the peak under 400 MB (1.1 gave 405 MB) for some more collections
// (docs/performance.md, issue 21).
const (
	ParquetBase     = 360 << 20
	ParquetHeadroom = 1.07
)

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
// now and then every interval (the live heap as the last collection
// measured it), up or down, until the returned function is called; that
// function stops the updates and restores the limit in force before
// Follow.
func Follow(base int64, headroom float64, interval time.Duration) (stop func()) {
	prev := debug.SetMemoryLimit(-1)
	sample := []metrics.Sample{{Name: liveHeap}}
	var set int64
	update := func() {
		metrics.Read(sample)
		var live uint64
		if sample[0].Value.Kind() == metrics.KindUint64 {
			live = sample[0].Value.Uint64()
		}
		if l := Limit(base, headroom, live); l != set {
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
