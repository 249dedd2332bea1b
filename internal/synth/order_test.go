package synth

import (
	"bytes"
	"io"
	"sort"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// flowStats reads a generated capture with gopacket (not with this
// package) and returns, per flow keyed by the server's and client's
// ports, the frames seen, and checks on the way that every flow's data
// is in order without holes and every ACK acknowledges all data sent
// before it: what the generator promises whatever the flow order.
func flowStats(t *testing.T, capture []byte, payload int) (perFlow map[[2]uint16]int, order [][2]uint16) {
	t.Helper()
	r, err := pcapgo.NewReader(bytes.NewReader(capture))
	if err != nil {
		t.Fatal(err)
	}
	type state struct{ nextSeq, sent uint32 }
	st := map[[2]uint16]*state{}
	perFlow = map[[2]uint16]int{}
	for n := 1; ; n++ {
		data, _, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := gopacket.NewPacket(data, layers.LayerTypeEthernet, gopacket.Default)
		tcp, _ := p.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if tcp == nil {
			t.Fatalf("frame %d: no TCP layer", n)
		}
		k := [2]uint16{uint16(tcp.SrcPort), uint16(tcp.DstPort)}
		if len(tcp.Payload) == 0 { // client's ACK: ports the other way
			k = [2]uint16{uint16(tcp.DstPort), uint16(tcp.SrcPort)}
		}
		s := st[k]
		if s == nil {
			s = &state{}
			st[k] = s
		}
		if len(tcp.Payload) > 0 {
			if len(tcp.Payload) != payload {
				t.Fatalf("frame %d: payload %d bytes, want %d", n, len(tcp.Payload), payload)
			}
			if s.nextSeq != 0 && tcp.Seq != s.nextSeq {
				t.Fatalf("frame %d: flow %v seq %d, want %d (a hole or a reordering)", n, k, tcp.Seq, s.nextSeq)
			}
			s.nextSeq = tcp.Seq + uint32(payload)
		} else if s.nextSeq != 0 && tcp.Ack != s.nextSeq {
			t.Fatalf("frame %d: flow %v acks %d, want %d", n, k, tcp.Ack, s.nextSeq)
		}
		perFlow[k]++
		order = append(order, k)
	}
	return perFlow, order
}

func generate(t *testing.T, cfg Config) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := Generate(&b, cfg, false); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestOrderRoundRobin(t *testing.T) {
	const flows = 37
	_, order := flowStats(t, generate(t, Config{Flows: flows, Frames: 3000, Payload: 200, Seed: 1}), 200)
	for n, k := range order {
		if k != order[n%flows] {
			t.Fatalf("frame %d belongs to flow %v, want frame %d's flow %v", n+1, k, n%flows+1, order[n%flows])
		}
	}
}

func TestOrderUniform(t *testing.T) {
	const flows, frames = 200, 60000
	perFlow, order := flowStats(t, generate(t, Config{Flows: flows, Frames: frames, Payload: 100, Seed: 2, Order: Uniform}), 100)
	if len(perFlow) != flows {
		t.Fatalf("%d flows seen, want %d", len(perFlow), flows)
	}
	// Each flow's count is Binomial(60000, 1/200): mean 300, sd 17.3. Six
	// sd either side holds every flow with overwhelming probability.
	for k, c := range perFlow {
		if c < 300-104 || c > 300+104 {
			t.Errorf("flow %v has %d frames, want 300 ± 104", k, c)
		}
	}
	// Not round-robin: consecutive frames repeat a flow about 1 time in 200,
	// and the sequence of flows is not periodic.
	periodic := 0
	for n := flows; n < len(order); n++ {
		if order[n] == order[n-flows] {
			periodic++
		}
	}
	if periodic > frames/50 {
		t.Errorf("%d of %d frames repeat the flow %d frames earlier: still round-robin", periodic, frames, flows)
	}
}

func TestOrderZipf(t *testing.T) {
	const flows, frames = 10000, 100000
	perFlow, _ := flowStats(t, generate(t, Config{Flows: flows, Frames: frames, Payload: 100, Seed: 3, Order: Zipf}), 100)
	counts := make([]int, 0, len(perFlow))
	for _, c := range perFlow {
		counts = append(counts, c)
	}
	sort.Sort(sort.Reverse(sort.IntSlice(counts)))
	top := 0
	for _, c := range counts[:flows/100] {
		top += c
	}
	// Heavy-tailed: with s = 1.2 over 10,000 flows, P(k) ∝ (k+1)^-1.2 puts
	// 75.1% of frames in the largest 1% of flows (the sum over k < 100 of
	// (k+1)^-1.2 against the sum over all 10,000), where a uniform order
	// puts about 1%. Most flows carry a handful of frames.
	if share := float64(top) / frames; share < 0.70 || share > 0.80 {
		t.Errorf("the largest 1%% of flows carry %.0f%% of frames, want about 75%%", share*100)
	}
	if median := counts[len(counts)/2]; median > 5 {
		t.Errorf("median flow has %d frames, want a handful (≤ 5)", median)
	}
}

func TestParseOrder(t *testing.T) {
	for _, o := range []Order{RoundRobin, Uniform, Zipf} {
		got, err := ParseOrder(o.String())
		if err != nil || got != o {
			t.Errorf("ParseOrder(%q) = %v, %v", o.String(), got, err)
		}
	}
	if _, err := ParseOrder("random"); err == nil {
		t.Error("ParseOrder(random) gave no error")
	}
}
