package loss

import (
	"bytes"
	"fmt"
	"io"
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/flow"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
)

// benchFrames generates a capture of the bench/run.sh kind (flows visited
// in order, round-robin or at random; data, data, ACK) and returns its
// frames decoded, with their join records, ready for the accounting.
func benchFrames(b *testing.B, flows, frames int, order synth.Order) ([]join.Frame, []decode.Packet, int64) {
	b.Helper()
	var buf bytes.Buffer
	if _, err := synth.Generate(&buf, synth.Config{Flows: flows, Frames: frames, Payload: 500, AckEvery: 2, StartNs: 1e18, Order: order, Seed: 1}, false); err != nil {
		b.Fatal(err)
	}
	size := int64(buf.Len())
	r, err := reader.NewReader(&buf, "bench")
	if err != nil {
		b.Fatal(err)
	}
	dec := decode.NewDecoder()
	rfs := make([]reader.Frame, 0, frames)
	pkts := make([]decode.Packet, 0, frames)
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		var p decode.Packet
		dec.Decode(f.LinkType, f.Data, &p)
		p.OrigLen = f.OrigLen
		p.Payload = nil // TCP only: the accounting reads no TCP payload byte
		rf := *f
		rf.Data = nil
		rfs = append(rfs, rf)
		pkts = append(pkts, p)
	}
	jfs := make([]join.Frame, len(rfs))
	for i := range rfs {
		jfs[i] = join.Frame{Frame: &rfs[i]}
	}
	return jfs, pkts, size
}

// BenchmarkAccount measures the accounting stage alone (flow table, TCP
// evidence, estimate) on decoded frames, one b.N per frame: 50,000
// concurrent flows as in bench/run.sh. Frames repeat once the capture is
// used up, and the Engine is renewed then, so every pass starts clean.
// It reports frames/s and allocs per frame (0 once the flows exist: a pass
// allocates only the 50,000 flows' state).
func BenchmarkAccount(b *testing.B) {
	for _, bc := range []struct {
		name     string
		prefetch bool
	}{{"sequential", false}, {"prefetched", true}} {
		b.Run(bc.name, func(b *testing.B) {
			const flows, n = 50000, 600000
			jfs, pkts, size := benchFrames(b, flows, n, synth.RoundRobin)
			b.SetBytes(size / n)
			b.ReportAllocs()
			var e *Engine
			keys := make([]flowKey, n)
			i := n
			b.ResetTimer()
			for b.Loop() {
				if i == n {
					b.StopTimer()
					e = NewEngine(Config{})
					for k := range pkts {
						keys[k].compute(&pkts[k], e.tbl.Hasher())
					}
					i = 0
					b.StartTimer()
				}
				if bc.prefetch {
					prefetchAhead(e, keys, i)
				}
				e.addKeyed(&jfs[i], &pkts[i], &keys[i], nil, -1)
				i++
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// prefetchAhead prefetches, before frame i of keys is accounted, what
// AddBatch prefetches then (and, before the first, what it prefetches
// before its first).
func prefetchAhead(e *Engine, keys []flowKey, i int) {
	if i == 0 {
		for j := -aheadIndex; j < 0; j++ {
			e.ahead(keys, j)
		}
	}
	e.ahead(keys, i)
}

// nextPass shifts frames to follow themselves in time and sequence space:
// each TCP direction's sequence numbers move on by the payload it sent in
// one pass (the peer's acknowledgements with them), and the timestamps by
// the pass's span, so that a pass over the same frames looks like the
// capture going on rather than every segment being sent again.
func nextPass(jfs []join.Frame, pkts []decode.Packet, keys []flowKey) {
	type dir struct {
		k     flow.Key
		fromA bool
	}
	adv := map[dir]uint32{}
	for i := range pkts {
		adv[dir{keys[i].Key, keys[i].FromA}] += uint32(pkts[i].PayloadLen)
	}
	span := jfs[len(jfs)-1].TimestampNs - jfs[0].TimestampNs + 1000
	for i := range pkts {
		pkts[i].TCP.Seq += adv[dir{keys[i].Key, keys[i].FromA}]
		pkts[i].TCP.Ack += adv[dir{keys[i].Key, !keys[i].FromA}]
		jfs[i].TimestampNs += span
	}
}

// BenchmarkAccountWarm is BenchmarkAccount on flows that already exist:
// the steady state of a long capture, where nothing is allocated. Each
// pass over the frames follows the previous one (nextPass), so every frame
// is new data or its acknowledgement, as in the capture. The uniform
// variants draw each frame's flow at random, as bench/run.sh's primary
// capture does: the flows' state is then visited in no order the hardware
// prefetcher follows.
func BenchmarkAccountWarm(b *testing.B) {
	for _, bc := range []struct {
		name     string
		prefetch bool
		order    synth.Order
	}{{"sequential", false, synth.RoundRobin}, {"prefetched", true, synth.RoundRobin},
		{"uniform-sequential", false, synth.Uniform}, {"uniform-prefetched", true, synth.Uniform}} {
		b.Run(bc.name, func(b *testing.B) {
			const flows, n = 50000, 600000
			jfs, pkts, size := benchFrames(b, flows, n, bc.order)
			e := NewEngine(Config{})
			keys := make([]flowKey, n)
			for k := range pkts {
				keys[k].compute(&pkts[k], e.tbl.Hasher())
			}
			for i := range n { // warm up: every flow exists
				e.addKeyed(&jfs[i], &pkts[i], &keys[i], nil, -1)
			}
			live := uint64(e.tbl.Len()) // a uniform order may leave a flow out
			nextPass(jfs, pkts, keys)
			b.SetBytes(size / n)
			b.ReportAllocs()
			i := 0
			for b.Loop() {
				if bc.prefetch {
					prefetchAhead(e, keys, i)
				}
				e.addKeyed(&jfs[i], &pkts[i], &keys[i], nil, -1)
				i++
				if i == n {
					b.StopTimer()
					nextPass(jfs, pkts, keys)
					i = 0
					b.StartTimer()
				}
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
			b.StopTimer()
			if s := e.Finish(nil); s.Flows.Retransmission != 0 || s.Flows.Duplicates != 0 || s.Flows.HoleEvents != 0 || s.FlowCount != live {
				b.Fatalf("not a steady state: %d retransmissions, %d duplicates, %d holes, %d flows", s.Flows.Retransmission, s.Flows.Duplicates, s.Flows.HoleEvents, s.FlowCount)
			}
		})
	}
}

// BenchmarkAddBatch is BenchmarkAccountWarm/uniform through AddBatch, the
// pipelined run's path: batches of 256 frames (filled outside the timer),
// their flow state prefetched ahead of the accounting.
//
// With 500 flows every flow's state stays in the core's caches: what is
// left is the accounting's own work, the floor under the 50,000 flows'
// figure, whose difference from it is the wait on memory.
func BenchmarkAddBatch(b *testing.B) {
	for _, flows := range []int{50000, 500} {
		b.Run(fmt.Sprintf("flows=%d", flows), func(b *testing.B) { benchAddBatch(b, flows) })
	}
}

func benchAddBatch(b *testing.B, flows int) {
	const n, batchLen = 600000, 256
	jfs, pkts, size := benchFrames(b, flows, n, synth.Uniform)
	e := NewEngine(Config{})
	keys := make([]flowKey, n)
	for k := range pkts {
		keys[k].compute(&pkts[k], e.tbl.Hasher())
	}
	for i := range n {
		e.addKeyed(&jfs[i], &pkts[i], &keys[i], nil, -1)
	}
	live := uint64(e.tbl.Len())
	nextPass(jfs, pkts, keys)
	bt := e.NewBatch(batchLen)
	b.SetBytes(size / n)
	b.ReportAllocs()
	b.ResetTimer()
	i := 0
	for done := 0; done < b.N; {
		b.StopTimer()
		if i == n {
			nextPass(jfs, pkts, keys)
			i = 0
		}
		bt.Reset()
		for ; !bt.Full() && i < n && done+bt.n < b.N; i++ {
			d := &bt.frames[bt.n]
			d.rf = *jfs[i].Frame
			d.jf = jfs[i]
			d.jf.Frame = &d.rf
			d.pkt = pkts[i]
			bt.errs[bt.n] = nil
			bt.keys[bt.n] = keys[i]
			bt.n++
		}
		b.StartTimer()
		e.AddBatch(bt, nil)
		done += bt.n
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
	b.StopTimer()
	if s := e.Finish(nil); s.Flows.Retransmission != 0 || s.Flows.Duplicates != 0 || s.Flows.HoleEvents != 0 || s.FlowCount != live {
		b.Fatalf("not a steady state: %d retransmissions, %d duplicates, %d holes, %d flows", s.Flows.Retransmission, s.Flows.Duplicates, s.Flows.HoleEvents, s.FlowCount)
	}
}
