package loss_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
)

// BenchmarkBatchMP2T measures the pipelined run's two stages, Batch.Add
// (decode, key, read the TS headers) and AddBatch, on an MPEG transport
// stream over UDP (7 TS packets a datagram), one b.N per frame, each
// frame's bytes copied into a buffer first as the reader copies them.
func BenchmarkBatchMP2T(b *testing.B) {
	var buf bytes.Buffer
	if _, err := synth.MP2T(&buf, synth.MP2TConfig{Datagrams: 20000, AFOnlyEvery: 9}); err != nil {
		b.Fatal(err)
	}
	size := int64(buf.Len())
	r, err := reader.NewReader(&buf, "bench")
	if err != nil {
		b.Fatal(err)
	}
	var jfs []join.Frame
	for {
		f, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		rf := *f
		rf.Data = append([]byte(nil), f.Data...)
		jfs = append(jfs, join.Frame{Frame: &rf})
	}
	b.SetBytes(size / int64(len(jfs)))
	b.ReportAllocs()
	var e *loss.Engine
	var bt *loss.Batch
	dec := decode.NewDecoder()
	frame := make([]byte, 2048)
	i := len(jfs)
	for b.Loop() {
		if i == len(jfs) {
			e = loss.NewEngine(loss.Config{})
			bt = e.NewBatch(256)
			i = 0
		}
		// As the reader does: the frame's bytes copied into its buffer
		// just before, so in the cache as in a real run.
		f := jfs[i]
		rf := *f.Frame
		rf.Data = frame[:copy(frame, f.Data)]
		f.Frame = &rf
		bt.Add(&f, dec)
		if bt.Full() {
			e.AddBatch(bt, nil)
			bt.Reset()
		}
		i++
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
