package sidecar_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

var testHeader = sidecar.Header{
	Source:    sidecar.SourceKernel,
	Identity:  sidecar.Identity{Known: true, LinkType: 1, SnapLen: 262144, FirstFrameNs: 1_700_000_000_123_456_789, FirstFrameCRC: 0xdeadbeef},
	CreatedNs: 1_700_000_001_000_000_000,
	Tool:      "gapan-record 0.1",
}

// encode writes recs and, if t is not nil, the trailer; blockRecords > 0
// sets the block size.
func encode(t testing.TB, h sidecar.Header, recs []sidecar.Record, tr *sidecar.Trailer, blockRecords int) []byte {
	t.Helper()
	var b bytes.Buffer
	w, err := sidecar.NewWriter(&b, h)
	if err != nil {
		t.Fatal(err)
	}
	if blockRecords > 0 {
		w.SetBlockRecords(blockRecords)
	}
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if tr != nil {
		if err := w.Close(*tr); err != nil {
			t.Fatal(err)
		}
	} else if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func decode(data []byte) (*sidecar.File, error) {
	r, err := sidecar.NewReaderName(bytes.NewReader(data), "test.gaps")
	if err != nil {
		return nil, err
	}
	return sidecar.ReadAll(r)
}

func TestRoundTrip(t *testing.T) {
	many := make([]sidecar.Record, 10000)
	rng := rand.New(rand.NewPCG(1, 2))
	var f uint64
	for i := range many {
		f += 1 + rng.Uint64N(300)
		many[i] = sidecar.Record{Frame: f, Gap: 1 + rng.Uint64N(1000)}
	}
	tests := []struct {
		name   string
		hdr    sidecar.Header
		recs   []sidecar.Record
		tr     sidecar.Trailer
		blocks int
	}{
		{name: "empty", hdr: sidecar.Header{}, tr: sidecar.Trailer{}},
		{name: "one", hdr: testHeader, recs: []sidecar.Record{{Frame: 1, Gap: 3}}, tr: sidecar.Trailer{Frames: 1}},
		{name: "extremes", hdr: sidecar.Header{Source: 200, Identity: sidecar.Identity{LinkType: math.MaxUint32, SnapLen: math.MaxUint32, FirstFrameNs: math.MinInt64, FirstFrameCRC: math.MaxUint32}, CreatedNs: -1, Tool: strings.Repeat("é", sidecar.MaxToolLen/2)},
			recs: []sidecar.Record{{Frame: 1, Gap: sidecar.MaxLost - 2}, {Frame: math.MaxUint64 - 1, Gap: 1}, {Frame: math.MaxUint64, Gap: 1}},
			tr:   sidecar.Trailer{Frames: math.MaxUint64, Tail: []sidecar.InterfaceGap{{0, 0}, {7, sidecar.MaxLost - 1}, {math.MaxUint32, 1}}, HasKernel: true, KernelPackets: sidecar.MaxLost, KernelDrops: sidecar.MaxLost}},
		{name: "many one block each", hdr: testHeader, recs: many[:50], tr: sidecar.Trailer{Frames: many[49].Frame + 5, Tail: []sidecar.InterfaceGap{{0, 12}}}, blocks: 1},
		{name: "many blocks of 7", hdr: testHeader, recs: many, tr: sidecar.Trailer{Frames: many[len(many)-1].Frame, HasKernel: true, KernelPackets: 123456, KernelDrops: 789}, blocks: 7},
		{name: "many default blocks", hdr: testHeader, recs: many, tr: sidecar.Trailer{Frames: 0, Tail: []sidecar.InterfaceGap{{1, 2}, {3, 4}}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			data := encode(t, tc.hdr, tc.recs, &tc.tr, tc.blocks)
			got, err := decode(data)
			if err != nil {
				t.Fatal(err)
			}
			if got.Header != tc.hdr {
				t.Errorf("header = %+v, want %+v", got.Header, tc.hdr)
			}
			if len(got.Records) != len(tc.recs) || (len(tc.recs) > 0 && !reflect.DeepEqual(got.Records, tc.recs)) {
				t.Errorf("got %d records, want %d (or contents differ)", len(got.Records), len(tc.recs))
			}
			if !got.HasTrailer || !reflect.DeepEqual(got.Trailer, tc.tr) {
				t.Errorf("trailer = %+v (has %v), want %+v", got.Trailer, got.HasTrailer, tc.tr)
			}
		})
	}
}

func TestTrailerOnlyAfterEOF(t *testing.T) {
	data := encode(t, testHeader, []sidecar.Record{{Frame: 2, Gap: 1}}, &sidecar.Trailer{Frames: 9}, 0)
	r, err := sidecar.NewReader(bytes.NewReader(data))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := r.Trailer(); ok {
		t.Fatal("trailer reported before the records were read")
	}
	if rec, err := r.Next(); err != nil || rec != (sidecar.Record{Frame: 2, Gap: 1}) {
		t.Fatalf("Next = %v, %v", rec, err)
	}
	for range 3 { // io.EOF is sticky
		if _, err := r.Next(); err != io.EOF {
			t.Fatalf("Next = %v, want io.EOF", err)
		}
	}
	if tr, ok := r.Trailer(); !ok || tr.Frames != 9 {
		t.Fatalf("Trailer = %+v, %v", tr, ok)
	}
	if r.Offset() != int64(len(data)) {
		t.Errorf("Offset = %d, want %d", r.Offset(), len(data))
	}
}

// TestLayout assembles a small file byte by byte from docs/sidecar.md,
// independently of the Writer, and checks that the Writer produces exactly
// those bytes.
func TestLayout(t *testing.T) {
	h := sidecar.Header{Source: sidecar.SourceSimulated, Identity: sidecar.Identity{Known: true, LinkType: 1, SnapLen: 65535, FirstFrameNs: 1000, FirstFrameCRC: 0x01020304}, CreatedNs: 2000, Tool: "t"}
	recs := []sidecar.Record{{Frame: 5, Gap: 2}, {Frame: 300, Gap: 1}}
	tr := sidecar.Trailer{Frames: 400, Tail: []sidecar.InterfaceGap{{Interface: 0, Lost: 3}}, HasKernel: true, KernelPackets: 406, KernelDrops: 6}
	got := encode(t, h, recs, &tr, 0)

	le := binary.LittleEndian
	var want []byte
	want = append(want, 0x89, 'G', 'A', 'P', '\r', '\n', 0x1a, '\n')
	want = le.AppendUint16(want, 1)  // version
	want = le.AppendUint16(want, 53) // header length: 48 + 1 + 4
	want = append(want, 3, 1)        // source simulated, flags identity known
	want = le.AppendUint16(want, 1)  // tool length
	want = le.AppendUint32(want, 1)
	want = le.AppendUint32(want, 65535)
	want = le.AppendUint64(want, 1000)
	want = le.AppendUint32(want, 0x01020304)
	want = le.AppendUint32(want, 0)
	want = le.AppendUint64(want, 2000)
	want = append(want, 't')
	want = le.AppendUint32(want, sidecar.Checksum(want))
	block := func(typ byte, payload []byte) {
		head := []byte{typ}
		head = le.AppendUint32(head, uint32(len(payload)))
		head = le.AppendUint32(head, sidecar.Checksum(head))
		want = append(want, head...)
		want = append(want, payload...)
		want = le.AppendUint32(want, sidecar.Checksum(payload))
	}
	// records: count 2; (5-0, 2) (300-5=295 → 0xa7 0x02, 1)
	block(0x01, []byte{2, 0, 0, 0, 5, 2, 0xa7, 0x02, 1})
	// trailer: frames 400 (0x90 0x03), records 2, lost 3, flags 1, packets 406 (0x96 0x03), drops 6, ntail 1, (0, 3)
	block(0x02, []byte{0x90, 0x03, 2, 3, 1, 0x96, 0x03, 6, 1, 0, 3})
	if !bytes.Equal(got, want) {
		t.Fatalf("writer bytes differ from the documented layout:\n got %x\nwant %x", got, want)
	}
	if len(got) != 53+13+9+13+11 {
		t.Errorf("size %d", len(got))
	}
}

// realistic returns n records with frame deltas and gaps drawn from a
// bursty distribution: mostly small gaps a few dozen frames apart.
func realistic(n int, seed uint64) []sidecar.Record {
	rng := rand.New(rand.NewPCG(seed, seed))
	recs := make([]sidecar.Record, n)
	var f uint64
	for i := range recs {
		f += 1 + uint64(rng.ExpFloat64()*40)
		recs[i] = sidecar.Record{Frame: f, Gap: 1 + uint64(rng.ExpFloat64()*8)}
	}
	return recs
}

func TestMillionRecordsSize(t *testing.T) {
	if testing.Short() {
		t.Skip("-short")
	}
	recs := realistic(1_000_000, 7)
	data := encode(t, testHeader, recs, &sidecar.Trailer{Frames: recs[len(recs)-1].Frame}, 0)
	perRecord := float64(len(data)) / float64(len(recs))
	t.Logf("1e6 records: %d bytes, %.3f bytes/record", len(data), perRecord)
	if perRecord > 2.2 {
		t.Errorf("%.3f bytes/record, want ≤ 2.2 for deltas < 128 and gaps < 128", perRecord)
	}
	got, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Records, recs) {
		t.Fatal("million records did not round-trip")
	}
	// Worst case for a million-frame-scale capture: deltas and gaps up to
	// 2^21 still fit in 3 bytes each, so a million records stay under 7 MB.
	rng := rand.New(rand.NewPCG(3, 3))
	var f uint64
	for i := range recs {
		f += 1 + rng.Uint64N(1<<21-1)
		recs[i] = sidecar.Record{Frame: f, Gap: 1 + rng.Uint64N(1<<21-1)}
	}
	data = encode(t, testHeader, recs, &sidecar.Trailer{}, 0)
	if n := float64(len(data)) / 1e6; n > 6.01 {
		t.Errorf("large deltas: %.3f bytes/record, want ≤ 6.01", n)
	}
}

func TestWriterRejects(t *testing.T) {
	var b bytes.Buffer
	w, err := sidecar.NewWriter(&b, testHeader)
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Add(sidecar.Record{Frame: 0, Gap: 1}); !errors.Is(err, sidecar.ErrUnsorted) {
		t.Errorf("frame 0: %v, want ErrUnsorted", err)
	}
	if err := w.Add(sidecar.Record{Frame: 10, Gap: 0}); !errors.Is(err, sidecar.ErrZeroGap) {
		t.Errorf("gap 0: %v, want ErrZeroGap", err)
	}
	if err := w.Add(sidecar.Record{Frame: 10, Gap: 1}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []uint64{10, 9} {
		if err := w.Add(sidecar.Record{Frame: f, Gap: 1}); !errors.Is(err, sidecar.ErrUnsorted) {
			t.Errorf("frame %d after 10: %v, want ErrUnsorted", f, err)
		}
	}
	if err := w.Close(sidecar.Trailer{Tail: []sidecar.InterfaceGap{{2, 1}, {2, 1}}}); !errors.Is(err, sidecar.ErrUnsorted) {
		t.Errorf("duplicate tail interface: %v, want ErrUnsorted", err)
	}
	if err := w.Close(sidecar.Trailer{Frames: 9}); !errors.Is(err, sidecar.ErrMalformed) {
		t.Errorf("frames 9 < last record 10: %v, want ErrMalformed", err)
	}
	if err := w.Close(sidecar.Trailer{Frames: 10}); err != nil {
		t.Fatal(err)
	}
	if err := w.Add(sidecar.Record{Frame: 11, Gap: 1}); !errors.Is(err, sidecar.ErrClosed) {
		t.Errorf("Add after Close: %v", err)
	}
	got, err := decode(b.Bytes())
	if err != nil || len(got.Records) != 1 || got.Records[0] != (sidecar.Record{Frame: 10, Gap: 1}) {
		t.Fatalf("rejected records leaked into the file: %+v, %v", got, err)
	}
	for _, tool := range []string{"a\nb", " lead", "bad\xffutf8", strings.Repeat("x", sidecar.MaxToolLen+1)} {
		if _, err := sidecar.NewWriter(io.Discard, sidecar.Header{Tool: tool}); !errors.Is(err, sidecar.ErrMalformed) {
			t.Errorf("tool %q: %v, want ErrMalformed", tool, err)
		}
	}
}

// TestFlushPolicy checks when bytes reach the file, that the before-write
// hook runs before every block, and that a crash after Flush leaves exactly
// the flushed records readable.
func TestFlushPolicy(t *testing.T) {
	var b bytes.Buffer
	w, err := sidecar.NewWriter(&b, testHeader)
	if err != nil {
		t.Fatal(err)
	}
	hdrLen := b.Len()
	var hookLens []int
	w.SetBeforeWrite(func() error { hookLens = append(hookLens, b.Len()); return nil })
	w.SetBlockRecords(3)
	add := func(f uint64) {
		t.Helper()
		if err := w.Add(sidecar.Record{Frame: f, Gap: 1}); err != nil {
			t.Fatal(err)
		}
	}
	add(1)
	add(2)
	if b.Len() != hdrLen {
		t.Fatalf("Add wrote %d bytes before the block was full", b.Len()-hdrLen)
	}
	add(3) // third record fills the block
	if len(hookLens) != 1 || b.Len() == hdrLen {
		t.Fatalf("full block not emitted (hook calls %d)", len(hookLens))
	}
	add(4)
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil || len(hookLens) != 2 {
		t.Fatalf("Flush with nothing pending must write nothing: hook calls %d, %v", len(hookLens), err)
	}
	add(5) // pending, never flushed: lost in the "crash"
	crashed := append([]byte(nil), b.Bytes()...)
	got, err := decode(crashed)
	if !errors.Is(err, sidecar.ErrNoTrailer) || errors.Is(err, sidecar.ErrTruncated) {
		t.Fatalf("crash at block boundary: %v, want ErrNoTrailer without ErrTruncated", err)
	}
	var fe *sidecar.FormatError
	if !errors.As(err, &fe) || fe.Offset != int64(len(crashed)) || fe.Record != 4 || fe.File != "test.gaps" {
		t.Fatalf("error %#v, want offset %d after 4 records", fe, len(crashed))
	}
	if len(got.Records) != 4 || got.Records[3].Frame != 4 {
		t.Fatalf("valid prefix: %+v", got.Records)
	}
	hookErr := errors.New("pcap flush failed")
	w.SetBeforeWrite(func() error { return hookErr })
	if err := w.Close(sidecar.Trailer{}); !errors.Is(err, hookErr) {
		t.Fatalf("Close with failing hook: %v", err)
	}
	if b.Len() != len(crashed) {
		t.Fatal("block written although the before-write hook failed")
	}
}

func TestIdentityCheck(t *testing.T) {
	a := sidecar.IdentityOf(1, 65535, 1000, []byte("frame one"))
	if a.FirstFrameCRC != sidecar.Checksum([]byte("frame one")) || !a.Known {
		t.Fatalf("IdentityOf = %+v", a)
	}
	if err := a.Check(a); err != nil {
		t.Fatal(err)
	}
	if err := a.Check(sidecar.Identity{}); err != nil {
		t.Fatalf("unknown capture identity must not fail: %v", err)
	}
	for name, b := range map[string]sidecar.Identity{
		"linktype": sidecar.IdentityOf(113, 65535, 1000, []byte("frame one")),
		"snaplen":  sidecar.IdentityOf(1, 262144, 1000, []byte("frame one")),
		"time":     sidecar.IdentityOf(1, 65535, 1001, []byte("frame one")),
		"bytes":    sidecar.IdentityOf(1, 65535, 1000, []byte("frame 1")),
	} {
		if err := a.Check(b); !errors.Is(err, sidecar.ErrIdentity) || !strings.Contains(err.Error(), map[string]string{"linktype": "link type", "snaplen": "snaplen", "time": "ns", "bytes": "CRC"}[name]) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestPathFor(t *testing.T) {
	for in, want := range map[string]string{"capture.pcap": "capture.pcap.gaps", "/a/b.pcapng.gz": "/a/b.pcapng.gz.gaps", "-": "-.gaps"} {
		if got := sidecar.PathFor(in); got != want {
			t.Errorf("PathFor(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSourceNames(t *testing.T) {
	for s := range 256 {
		src := sidecar.Source(s)
		got, err := sidecar.ParseSource(src.String())
		if err != nil || got != src {
			t.Fatalf("ParseSource(%q) = %v, %v", src.String(), got, err)
		}
	}
	if sidecar.SourceKernel.String() != "kernel" || sidecar.SourceImported.String() != "imported" {
		t.Fatal("source names changed")
	}
}
