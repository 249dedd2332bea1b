package sidecar_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// FuzzReader feeds arbitrary bytes to the binary reader. It must never
// panic, must report every problem as a *FormatError, and whatever it
// accepts must be written back by the Writer to a file that reads the same.
func FuzzReader(f *testing.F) {
	// More seeds live in testdata/fuzz/FuzzReader.
	f.Add(encode(f, testHeader, []sidecar.Record{{1, 1}, {300, 70000}}, &sidecar.Trailer{Frames: 301, Tail: []sidecar.InterfaceGap{{0, 2}}, HasKernel: true, KernelPackets: 9, KernelDrops: 1}, 1))
	f.Add(encode(f, sidecar.Header{}, nil, nil, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := sidecar.NewReaderName(bytes.NewReader(data), "fuzz")
		if err != nil {
			var fe *sidecar.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("header error %T %v is not a *FormatError", err, err)
			}
			return
		}
		file, err := sidecar.ReadAll(r)
		if err != nil {
			var fe *sidecar.FormatError
			if !errors.As(err, &fe) || fe.Offset > int64(len(data)) || fe.Record != uint64(len(file.Records)) {
				t.Fatalf("bad error %v (%d records)", err, len(file.Records))
			}
		}
		for i := 1; i < len(file.Records); i++ {
			if file.Records[i].Frame <= file.Records[i-1].Frame || file.Records[i].Gap == 0 {
				t.Fatalf("reader returned invalid records %v", file.Records[i-1:i+1])
			}
		}
		var tr *sidecar.Trailer
		if file.HasTrailer {
			tr = &file.Trailer
		}
		var b bytes.Buffer
		w, werr := sidecar.NewWriter(&b, file.Header)
		if werr != nil {
			t.Fatalf("writer rejects a header the reader accepted: %v", werr)
		}
		for _, rec := range file.Records {
			if err := w.Add(rec); err != nil {
				t.Fatal(err)
			}
		}
		if tr != nil {
			if err := w.Close(*tr); err != nil {
				t.Fatalf("writer rejects a trailer the reader accepted: %v", err)
			}
		} else if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		again, err2 := decode(b.Bytes())
		if (err2 == nil) != (tr != nil) || !reflect.DeepEqual(again.Header, file.Header) || !reflect.DeepEqual(again.Records, file.Records) || !reflect.DeepEqual(again.Trailer, file.Trailer) {
			t.Fatalf("rewrite differs: %v", err2)
		}
	})
}

// FuzzText feeds arbitrary text to the text reader: no panic, errors carry
// a line number, and what it accepts round-trips through WriteText.
func FuzzText(f *testing.F) {
	for _, s := range []string{
		"12 3\n40 1\n# tail 5\n",
		"# gapan-sidecar-text 1\n# source kernel\n# identity linktype=1 snaplen=2 first_ns=-3 first_crc=0x4\n# created_ns 5\n# tool x y\n1 1\n# frames 9\n# tail iface=0 1\n# tail iface=7 2\n# kernel packets=1 drops=2\n",
		"# identity unknown linktype=3\n\r\n 1\t1 \r\n",
		"5 0\n", "3 1\n2 1\n", "# frames 1\n1 1\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		file, err := sidecar.ReadText(strings.NewReader(in), "fuzz.txt")
		if err != nil {
			var fe *sidecar.FormatError
			if !errors.As(err, &fe) || fe.Line < 1 {
				t.Fatalf("error without line: %v", err)
			}
			if !errors.Is(err, sidecar.ErrNoTrailer) {
				return
			}
		}
		var tr *sidecar.Trailer
		if file.HasTrailer {
			tr = &file.Trailer
		}
		var b bytes.Buffer
		if err := sidecar.WriteText(&b, file.Header, sidecar.Records(file.Records), tr); err != nil {
			t.Fatalf("WriteText rejects what ReadText accepted: %v", err)
		}
		again, err := sidecar.ReadText(&b, "again.txt")
		if (err == nil) != (tr != nil) {
			t.Fatalf("re-read: %v", err)
		}
		if !reflect.DeepEqual(again, file) {
			t.Fatalf("text round trip differs:\n%+v\n%+v", file, again)
		}
	})
}

// FuzzRoundTrip derives a header, records and a trailer from the fuzz bytes,
// writes them with random block sizes and flushes, and checks the reader
// returns exactly them.
func FuzzRoundTrip(f *testing.F) {
	f.Add([]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, uint8(3), "tool")
	f.Add(bytes.Repeat([]byte{0xff}, 64), uint8(1), "")
	f.Fuzz(func(t *testing.T, data []byte, blockRecords uint8, tool string) {
		h := sidecar.Header{Source: sidecar.SourceInferred, Tool: tool}
		if len(data) >= 8 {
			h.CreatedNs = int64(binary.LittleEndian.Uint64(data))
			h.Identity = sidecar.IdentityOf(uint32(data[0]), uint32(data[1])<<8, h.CreatedNs/3, data[2:8])
		}
		var recs []sidecar.Record
		var frame uint64
		for i := 0; i+1 < len(data); i += 2 {
			delta := uint64(data[i]) << (data[i] % 50)
			gap := uint64(data[i+1])<<(data[i+1]%57) + 1
			if delta == 0 || frame+delta < frame {
				continue
			}
			frame += delta
			recs = append(recs, sidecar.Record{Frame: frame, Gap: gap})
		}
		tr := sidecar.Trailer{Frames: frame + uint64(len(data)%3)}
		if len(data)%2 == 0 { // kernel totals are stored only when known
			tr.HasKernel, tr.KernelPackets, tr.KernelDrops = true, uint64(len(data)), frame%(sidecar.MaxLost+1)
		}
		if frame+uint64(len(data)%3) < frame {
			tr.Frames = frame
		}
		for i := range len(data) % 4 {
			tr.Tail = append(tr.Tail, sidecar.InterfaceGap{Interface: uint32(i * 3), Lost: uint64(i)})
		}
		var b bytes.Buffer
		w, err := sidecar.NewWriter(&b, h)
		if err != nil {
			if errors.Is(err, sidecar.ErrMalformed) {
				return // tool string not allowed
			}
			t.Fatal(err)
		}
		w.SetBlockRecords(int(blockRecords))
		var sum uint64
		for i, r := range recs {
			// A gap, or the sum of the gaps, beyond MaxLost is refused
			// (it could wrap every sum downstream); the file stays whole
			// up to the record before.
			over := r.Gap > sidecar.MaxLost || sum+r.Gap > sidecar.MaxLost
			sum += r.Gap
			err := w.Add(r)
			if over {
				if !errors.Is(err, sidecar.ErrImplausible) {
					t.Fatalf("record %v after %d lost: err = %v, want ErrImplausible", r, sum-r.Gap, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if i%5 == 4 {
				if err := w.Flush(); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := w.Close(tr); err != nil {
			t.Fatal(err)
		}
		got, err := decode(b.Bytes())
		if err != nil {
			t.Fatal(err)
		}
		if got.Header != h || !isPrefix(got.Records, recs) || len(got.Records) != len(recs) || !got.HasTrailer || !reflect.DeepEqual(got.Trailer, tr) {
			t.Fatalf("round trip differs")
		}
	})
}
