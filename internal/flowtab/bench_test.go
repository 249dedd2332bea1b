package flowtab_test

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/internal/flowtab"
	"github.com/gopacket/gopacket/pcapgo"
)

type tsPacket struct {
	p  decode.Packet
	ts int64
}

func decodeAll(b *testing.B, name string) ([]tsPacket, int64) {
	f, err := os.Open(filepath.Join(corpusDir, name))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	d := decode.NewDecoder()
	var out []tsPacket
	var bytes int64
	for {
		data, ci, err := r.ReadPacketData()
		if errors.Is(err, io.EOF) {
			return out, bytes
		}
		if err != nil {
			b.Fatal(err)
		}
		var tp tsPacket
		_ = d.Decode(r.LinkType(), data, &tp.p)
		tp.ts = ci.Timestamp.UnixNano()
		out = append(out, tp)
		bytes += int64(len(data))
	}
}

// lossState stands in for the per-flow state the loss accounting attaches.
type lossState struct {
	nextSeq [2]uint32
	holes   [8]uint64
}

// BenchmarkLookup runs the decoded frames of real captures through a flow
// table (state inline) over and over; the table keeps its flows across
// passes, so this measures the steady state of lookups on live flows.
func BenchmarkLookup(b *testing.B) {
	for _, name := range []string{"tls-subjectaltname.pcap", "zeek-echo-connections.pcap"} {
		b.Run(name, func(b *testing.B) {
			pkts, n := decodeAll(b, name)
			tab := flowtab.NewTable(flowtab.Options[lossState]{})
			b.SetBytes(n / int64(len(pkts)))
			b.ReportAllocs()
			for i := range pkts { // create the flows
				tab.Lookup(&pkts[i].p, pkts[i].ts)
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				tp := &pkts[i%len(pkts)]
				f, dir := tab.Lookup(&tp.p, tp.ts)
				f.State.nextSeq[dir] = tp.p.TCP.Seq
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
		})
	}
}

// BenchmarkDecodeAndLookup is the per-frame cost of decode plus flow
// lookup together, from frame bytes.
func BenchmarkDecodeAndLookup(b *testing.B) {
	f, err := os.Open(filepath.Join(corpusDir, "tls-subjectaltname.pcap"))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	var frames [][]byte
	var ts []int64
	var n int64
	for {
		data, ci, err := r.ReadPacketData()
		if err != nil {
			break
		}
		frames = append(frames, data)
		ts = append(ts, ci.Timestamp.UnixNano())
		n += int64(len(data))
	}
	d := decode.NewDecoder()
	tab := flowtab.NewTable(flowtab.Options[lossState]{IdleTimeout: 0})
	var p decode.Packet
	b.SetBytes(n / int64(len(frames)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		j := i % len(frames)
		_ = d.Decode(r.LinkType(), frames[j], &p)
		tab.Lookup(&p, ts[j])
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
