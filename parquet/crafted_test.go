package parquet_test

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/netip"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/parquet"
	"github.com/gapan/gapan/reader"
	"github.com/gopacket/gopacket/layers"
)

// crafted is a frame made up for a test: what the join and the decoder
// would have produced.
type crafted struct {
	num             uint64
	ns              int64
	capLen, origLen int
	gap             uint64
	ifc             int
	p               decode.Packet
}

// writeCrafted runs frames through a real loss.Engine (so flow ids and
// directions are real) into a Writer in dir, and returns the rows the
// frames table must hold.
func writeCrafted(t testing.TB, dir string, opt parquet.WriterOptions, frames []crafted) []map[string]any {
	t.Helper()
	w := newWriter(t, dir, opt)
	e := loss.NewEngine(loss.Config{OnFlow: w.Flow})
	var want []map[string]any
	for i := range frames {
		c := &frames[i]
		jf := &join.Frame{Frame: &reader.Frame{Number: c.num, TimestampNs: c.ns, CapLen: c.capLen, OrigLen: c.origLen, InterfaceID: c.ifc}, GapBefore: c.gap}
		p := c.p
		p.OrigLen = c.origLen
		info := e.AddDecoded(jf, &p, nil)
		want = append(want, expectedFrame(jf, info))
		w.Frame(jf, info)
	}
	e.Finish(nil)
	if err := w.Finish(&analyze.Result{}); err != nil {
		t.Fatal(err)
	}
	return want
}

// genMixed makes n frames over k flows: IPv4 TCP both ways, IPv6 UDP
// (some with v4-mapped addresses), ICMP (no ports), one address at both
// ends, ARP (not IP), some VLAN tags.
func genMixed(r *rand.Rand, n, k int) []crafted {
	out := make([]crafted, 0, n)
	ns := int64(1_700_000_000_000_000_000)
	for i := 0; i < n; i++ {
		ns += int64(r.IntN(100000))
		c := crafted{num: uint64(i + 1), ns: ns, capLen: 60 + r.IntN(1400), ifc: r.IntN(3)}
		c.origLen = c.capLen + r.IntN(3)
		if r.IntN(50) == 0 {
			c.gap = uint64(r.IntN(10))
		}
		p := &c.p
		fl := r.IntN(k)
		a := netip.AddrFrom4([4]byte{10, byte(fl >> 16), byte(fl >> 8), byte(fl)})
		b := netip.AddrFrom4([4]byte{192, 168, byte(fl >> 8), byte(fl)})
		switch x := r.IntN(20); {
		case x < 12:
			p.Flags = decode.FlagIP | decode.FlagPorts | decode.FlagTCP
			p.IPVersion, p.Proto = 4, layers.IPProtocolTCP
			p.Src, p.Dst, p.SrcPort, p.DstPort = a, b, uint16(1024+fl%50000), 443
			if r.IntN(2) == 0 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = b, a, 443, uint16(1024+fl%50000)
			}
			p.TCP.Seq, p.TCP.Ack, p.TCP.Flags = r.Uint32(), r.Uint32(), decode.TCPAck
			p.PayloadLen = r.IntN(1400)
		case x < 14:
			p.Flags = decode.FlagIP | decode.FlagPorts
			p.IPVersion, p.Proto = 6, layers.IPProtocolUDP
			a6, b6 := netip.AddrFrom16(a.As16()), netip.MustParseAddr("2001:db8::1")
			if r.IntN(2) == 0 {
				a6 = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: byte(fl)})
			}
			p.Src, p.Dst, p.SrcPort, p.DstPort = a6, b6, 53, uint16(fl)
			if r.IntN(2) == 0 {
				p.Src, p.Dst, p.SrcPort, p.DstPort = b6, a6, uint16(fl), 53
			}
		case x < 15:
			p.Flags = decode.FlagIP
			p.IPVersion, p.Proto = 4, layers.IPProtocolICMPv4
			p.Src, p.Dst = a, b
			if r.IntN(2) == 0 {
				p.Src, p.Dst = b, a
			}
		case x < 17:
			p.Flags = decode.FlagIP | decode.FlagPorts
			p.IPVersion, p.Proto = 4, layers.IPProtocolUDP
			p.Src, p.Dst, p.SrcPort, p.DstPort = a, a, 1000, 2000
			if r.IntN(2) == 0 {
				p.SrcPort, p.DstPort = 2000, 1000
			}
		default:
			p.EtherType = layers.EthernetTypeARP
		}
		if r.IntN(10) == 0 {
			p.VLANCount, p.VLAN = 1, [2]uint16{uint16(r.IntN(4095)), 0}
		}
		out = append(out, c)
	}
	return out
}

func compareRows(t testing.TB, got rows, want []map[string]any) {
	t.Helper()
	if len(got.rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(got.rows), len(want))
	}
	bad := 0
	for i := range want {
		if !reflect.DeepEqual(got.rows[i], want[i]) {
			if bad < 5 {
				t.Errorf("row %d:\n got %v\nwant %v", i, got.rows[i], want[i])
			}
			bad++
		}
	}
	if bad > 0 {
		t.Errorf("%d bad rows of %d", bad, len(want))
	}
}

// TestFramesMixedRowGroups writes mixed frames with row groups from 1 row
// up, so that some row groups have columns entirely null (a group of
// ARP or ICMP frames has no ports: arrow v15's delta encoder crashed on
// such a write) or no address at all (an empty dictionary), over few
// flows and over more flows than the address cache has slots (its size
// follows the row group's, up to 2^17).
func TestFramesMixedRowGroups(t *testing.T) {
	for _, k := range []int{5, 30000} {
		for _, rg := range []int{1, 2, 3, 7, 100, 5000} {
			// arrow makes a zstd encoder per page (~1 ms), and the flows
			// table's row groups are as small: few frames for small groups
			n := 30000
			switch {
			case rg <= 3:
				n = 100
			case rg <= 7:
				n = 300
			case rg <= 100:
				n = 2000
			}
			t.Run(fmt.Sprintf("flows%d-rowgroup%d", k, rg), func(t *testing.T) {
				dir := t.TempDir()
				want := writeCrafted(t, dir, parquet.WriterOptions{RowGroupRows: rg}, genMixed(rand.New(rand.NewPCG(uint64(k), uint64(rg))), n, k))
				got := readParquet(t, filepath.Join(dir, "frames.parquet"))
				if wg := (n + rg - 1) / rg; got.groups != wg {
					t.Errorf("%d row groups, want %d", got.groups, wg)
				}
				compareRows(t, got, want)
			})
		}
	}
}

// TestFramesWithoutPorts: a capture of ICMP echoes and ARP only (a ping
// capture), in one row group.
func TestFramesWithoutPorts(t *testing.T) {
	var frames []crafted
	a, b := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	for i := 0; i < 40; i++ {
		c := crafted{num: uint64(i + 1), ns: int64(i) * 1e6, capLen: 98, origLen: 98}
		if i%10 == 9 {
			c.p.EtherType = layers.EthernetTypeARP
		} else {
			c.p.Flags = decode.FlagIP
			c.p.IPVersion, c.p.Proto, c.p.Src, c.p.Dst, c.p.PayloadLen = 4, layers.IPProtocolICMPv4, a, b, 64
			if i%2 == 1 {
				c.p.Src, c.p.Dst = b, a
			}
		}
		frames = append(frames, c)
	}
	dir := t.TempDir()
	want := writeCrafted(t, dir, parquet.WriterOptions{}, frames)
	compareRows(t, readParquet(t, filepath.Join(dir, "frames.parquet")), want)
}

// TestFramesMemoryFollowsRows: the row group size bounds the frames
// batches, it does not size them: on a small capture, row groups of 2^26
// rows cost what the default size does (each allocation counted; most of
// it is arrow's zstd encoder per page, the same for both).
func TestFramesMemoryFollowsRows(t *testing.T) {
	frames := genMixed(rand.New(rand.NewPCG(1, 2)), 1000, 50)
	alloc := func(rowGroup int) uint64 {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		writeCrafted(t, t.TempDir(), parquet.WriterOptions{RowGroupRows: rowGroup}, frames)
		runtime.ReadMemStats(&after)
		return after.TotalAlloc - before.TotalAlloc
	}
	def, huge := alloc(0), alloc(1<<26)
	if huge > def+16<<20 {
		t.Errorf("%d MB allocated with row groups of 2^26 rows, %d MB with the default", huge>>20, def>>20)
	}
}

// failAfter is an io.Writer that fails once n bytes were written.
type failAfter struct{ n int }

var errDiskFull = errors.New("disk full")

func (f *failAfter) Write(p []byte) (int, error) {
	if len(p) > f.n {
		n := f.n
		f.n = 0
		return n, errDiskFull
	}
	f.n -= len(p)
	return len(p), nil
}

// TestWriterErrors: a table whose file fails (at once, or after its first
// row groups) makes Finish fail with that error, without a hang or a
// goroutine left behind; Abort after Finish, and a second Finish, do
// nothing.
func TestWriterErrors(t *testing.T) {
	frames := genMixed(rand.New(rand.NewPCG(3, 4)), 3000, 40)
	goroutines := runtime.NumGoroutine()
	for _, tc := range []struct {
		name  string
		table int // 0 frames, 1 gaps, 2 flows
		after int
	}{{"frames-at-once", 0, 0}, {"frames-later", 0, 20000}, {"gaps", 1, 0}, {"flows", 2, 0}} {
		t.Run(tc.name, func(t *testing.T) {
			outs := []io.Writer{io.Discard, io.Discard, io.Discard}
			outs[tc.table] = &failAfter{tc.after}
			w, err := parquet.NewWriter(outs[0], outs[1], outs[2], parquet.WriterOptions{RowGroupRows: 500})
			if err != nil {
				t.Fatal(err)
			}
			e := loss.NewEngine(loss.Config{OnFlow: w.Flow})
			for i := range frames {
				c := &frames[i]
				jf := &join.Frame{Frame: &reader.Frame{Number: c.num, TimestampNs: c.ns, CapLen: c.capLen, OrigLen: c.origLen, InterfaceID: c.ifc}, GapBefore: c.gap}
				p := c.p
				w.Frame(jf, e.AddDecoded(jf, &p, nil))
			}
			e.Finish(nil)
			if err := w.Finish(&analyze.Result{}); !errors.Is(err, errDiskFull) {
				t.Errorf("Finish: %v, want %v", err, errDiskFull)
			}
			w.Abort()
			if err := w.Finish(&analyze.Result{}); !errors.Is(err, errDiskFull) {
				t.Errorf("second Finish: %v", err)
			}
		})
	}
	for deadline := time.Now().Add(5 * time.Second); runtime.NumGoroutine() > goroutines && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Errorf("%d goroutines left, %d before", n, goroutines)
	}
}
