package sidecar_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"reflect"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// block returns one block with correct checksums.
func block(typ byte, payload []byte) []byte {
	le := binary.LittleEndian
	b := []byte{typ}
	b = le.AppendUint32(b, uint32(len(payload)))
	b = le.AppendUint32(b, sidecar.Checksum(b))
	b = append(b, payload...)
	return le.AppendUint32(b, sidecar.Checksum(payload))
}

func header(t *testing.T) []byte {
	t.Helper()
	var b bytes.Buffer
	if _, err := sidecar.NewWriter(&b, testHeader); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestCorrupt(t *testing.T) {
	hdr := header(t)
	h := int64(len(hdr))
	// A valid file: 3 records in blocks of 2 → blocks at h (2 records) and
	// h+13+6 (1 record), trailer at h+19+13+5.
	recs := []sidecar.Record{{Frame: 1, Gap: 1}, {Frame: 3, Gap: 2}, {Frame: 4, Gap: 5}}
	good := encode(t, testHeader, recs, &sidecar.Trailer{Frames: 4, Tail: []sidecar.InterfaceGap{{0, 2}}}, 2)
	b1, b2, tr := h, h+13+4+4, h+13+4+4+13+4+2
	if int64(len(good)) != tr+13+7 {
		t.Fatalf("layout assumption broken: len %d", len(good))
	}
	flip := func(off int64) []byte {
		b := bytes.Clone(good)
		b[off] ^= 0x40
		return b
	}
	withVersion := bytes.Clone(hdr)
	binary.LittleEndian.PutUint16(withVersion[8:], 2)
	withVersion = cat(withVersion[:len(withVersion)-4], binary.LittleEndian.AppendUint32(nil, sidecar.Checksum(withVersion[:len(withVersion)-4])))
	rec := func(count uint32, pairs ...byte) []byte {
		return block(0x01, cat(binary.LittleEndian.AppendUint32(nil, count), pairs))
	}
	trailer := func(records, lost byte) []byte { return block(0x02, []byte{0, records, lost, 0, 0}) }

	tests := []struct {
		name    string
		data    []byte
		wantErr []error // all must match (errors.Is)
		notErr  []error
		offset  int64
		records int // records returned before the error (= FormatError.Record)
	}{
		{"flipped header byte", flip(20), []error{sidecar.ErrChecksum}, nil, 0, 0},
		{"flipped block head", flip(b2 + 2), []error{sidecar.ErrChecksum}, nil, b2, 2},
		{"flipped record byte", flip(b1 + 9 + 5), []error{sidecar.ErrChecksum}, nil, b1, 0},
		{"flipped block crc", flip(b2 + 13 + 2), []error{sidecar.ErrChecksum}, nil, b2, 2},
		{"flipped trailer byte", flip(tr + 10), []error{sidecar.ErrChecksum}, nil, tr, 3},
		{"cut mid-header", good[:30], []error{sidecar.ErrTruncated}, []error{sidecar.ErrChecksum}, 0, 0},
		{"empty file", nil, []error{sidecar.ErrTruncated}, nil, 0, 0},
		{"cut in block head", good[:b2+4], []error{sidecar.ErrTruncated, sidecar.ErrNoTrailer}, nil, b2, 2},
		{"cut mid-record", good[:b2+9+5], []error{sidecar.ErrTruncated, sidecar.ErrNoTrailer}, nil, b2, 2},
		{"cut before block crc", good[:b2+9+6], []error{sidecar.ErrTruncated, sidecar.ErrNoTrailer}, nil, b2, 2},
		{"cut in trailer", good[:len(good)-1], []error{sidecar.ErrTruncated, sidecar.ErrNoTrailer}, nil, tr, 3},
		{"missing trailer", good[:tr], []error{sidecar.ErrNoTrailer}, []error{sidecar.ErrTruncated}, tr, 3},
		{"header only", hdr, []error{sidecar.ErrNoTrailer}, []error{sidecar.ErrTruncated}, h, 0},
		{"unsorted records", cat(hdr, rec(3, 5, 1, 2, 1, 0, 1), trailer(3, 3)), []error{sidecar.ErrUnsorted}, nil, h + 9 + 4 + 4, 2},
		{"frame 0", cat(hdr, rec(1, 0, 1)), []error{sidecar.ErrUnsorted}, nil, h + 9 + 4, 0},
		{"zero gap", cat(hdr, rec(2, 5, 1, 2, 0), trailer(2, 1)), []error{sidecar.ErrZeroGap}, nil, h + 9 + 4 + 2, 1},
		{"unsorted across blocks", cat(hdr, rec(1, 5, 1), rec(1, 0, 1)), []error{sidecar.ErrUnsorted}, nil, h + 15 + 13 + 4, 1},
		{"bad magic", cat([]byte("GAPSIDE\x00"), hdr[8:]), []error{sidecar.ErrBadMagic}, nil, 0, 0},
		{"text is not binary", []byte("12 3\n"), []error{sidecar.ErrBadMagic}, nil, 0, 0},
		{"future version", withVersion, []error{sidecar.ErrVersion}, nil, 8, 0},
		{"unknown critical block", cat(hdr, block(0x03, []byte{1})), []error{sidecar.ErrVersion}, nil, h, 0},
		{"oversized block", cat(hdr, func() []byte {
			b := []byte{0x01}
			b = binary.LittleEndian.AppendUint32(b, sidecar.MaxBlockPayload+1)
			return binary.LittleEndian.AppendUint32(b, sidecar.Checksum(b))
		}()), []error{sidecar.ErrMalformed}, nil, h, 0},
		{"count too large", cat(hdr, rec(3, 1, 1)), []error{sidecar.ErrMalformed}, nil, h, 0},
		{"bytes after last record", cat(hdr, rec(1, 1, 1, 7)), []error{sidecar.ErrMalformed}, nil, h + 9 + 6, 1},
		{"bad varint", cat(hdr, rec(1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01, 1)), []error{sidecar.ErrMalformed}, nil, h + 9 + 4, 0},
		{"block removed", cat(hdr, rec(1, 1, 1), trailer(2, 2)), []error{sidecar.ErrMalformed}, nil, h + 19, 1},
		{"data after trailer", cat(good, []byte{0}), []error{sidecar.ErrMalformed}, nil, int64(len(good)), 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := sidecar.NewReaderName(bytes.NewReader(tc.data), "bad.gaps")
			var n int
			if err == nil {
				for {
					var rec sidecar.Record
					rec, err = r.Next()
					if err != nil {
						break
					}
					if n < len(recs) && tc.data[4] == good[4] && rec != recs[n] && bytes.HasPrefix(tc.data, good[:b2]) {
						t.Errorf("record %d = %v, want %v", n, rec, recs[n])
					}
					n++
				}
			}
			if err == io.EOF || err == nil {
				t.Fatalf("no error after %d records", n)
			}
			for _, want := range tc.wantErr {
				if !errors.Is(err, want) {
					t.Errorf("error %q does not wrap %q", err, want)
				}
			}
			for _, not := range tc.notErr {
				if errors.Is(err, not) {
					t.Errorf("error %q wraps %q", err, not)
				}
			}
			var fe *sidecar.FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T is not a *FormatError", err)
			}
			if fe.Offset != tc.offset || fe.Record != uint64(tc.records) || n != tc.records || fe.File != "bad.gaps" {
				t.Errorf("FormatError{Offset %d, Record %d, File %q} after %d records, want offset %d after %d", fe.Offset, fe.Record, fe.File, n, tc.offset, tc.records)
			}
			if r != nil {
				if _, again := r.Next(); again != err {
					t.Errorf("error not sticky: %v then %v", err, again)
				}
				if _, ok := r.Trailer(); ok {
					t.Error("Trailer reported for a damaged file")
				}
			}
		})
	}
}

// TestAncillarySkipped checks that unknown blocks with the high type bit set
// are verified and skipped, so later versions can add optional blocks.
func TestAncillarySkipped(t *testing.T) {
	hdr := header(t)
	data := cat(hdr, block(0x01, []byte{1, 0, 0, 0, 7, 2}), block(0x9a, []byte("future")), block(0x02, []byte{9, 1, 2, 0, 0}))
	f, err := decode(data)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(f.Records, []sidecar.Record{{Frame: 7, Gap: 2}}) || f.Trailer.Frames != 9 {
		t.Fatalf("got %+v", f)
	}
	bad := bytes.Clone(data)
	bad[len(hdr)+15+9] ^= 1 // inside the ancillary payload
	if _, err := decode(bad); !errors.Is(err, sidecar.ErrChecksum) {
		t.Fatalf("damaged ancillary block: %v, want ErrChecksum", err)
	}
}

// TestEveryFlipDetected flips each byte of a small valid file in turn: the
// reader must report an error every time, at or before the flipped byte,
// and never return a record that differs from the original.
func TestEveryFlipDetected(t *testing.T) {
	recs := []sidecar.Record{{Frame: 2, Gap: 1}, {Frame: 200, Gap: 30}, {Frame: 70000, Gap: 1}}
	good := encode(t, testHeader, recs, &sidecar.Trailer{Frames: 70001, Tail: []sidecar.InterfaceGap{{0, 1}}, HasKernel: true, KernelPackets: 70033, KernelDrops: 32}, 2)
	for i := range good {
		for _, mask := range []byte{0x01, 0x80, 0xff} {
			b := bytes.Clone(good)
			b[i] ^= mask
			f, err := decode(b)
			if err == nil {
				t.Fatalf("flip %#02x at byte %d not detected", mask, i)
			}
			var fe *sidecar.FormatError
			if !errors.As(err, &fe) || fe.Offset > int64(i) {
				t.Fatalf("flip at byte %d reported as %v", i, err)
			}
			if f != nil && !isPrefix(f.Records, recs) {
				t.Fatalf("flip at byte %d returned wrong records %v", i, f.Records)
			}
			if errors.Is(err, sidecar.ErrNoTrailer) {
				t.Fatalf("flip at byte %d reported as a mere missing trailer: %v", i, err)
			}
		}
	}
}

// TestEveryCut cuts a valid file at every length: the reader returns a
// prefix of the records and then an error wrapping ErrNoTrailer (or
// ErrTruncated inside the header), never io.EOF.
func TestEveryCut(t *testing.T) {
	recs := realistic(50, 9)
	good := encode(t, testHeader, recs, &sidecar.Trailer{Frames: recs[49].Frame}, 8)
	hlen := len(header(t))
	for n := range len(good) {
		f, err := decode(good[:n])
		switch {
		case n < hlen:
			if !errors.Is(err, sidecar.ErrTruncated) {
				t.Fatalf("cut at %d: %v, want ErrTruncated", n, err)
			}
			continue
		case !errors.Is(err, sidecar.ErrNoTrailer):
			t.Fatalf("cut at %d: %v, want ErrNoTrailer", n, err)
		}
		if !isPrefix(f.Records, recs) {
			t.Fatalf("cut at %d: records are not a prefix", n)
		}
		var fe *sidecar.FormatError
		if errors.As(err, &fe); fe.Offset > int64(n) {
			t.Fatalf("cut at %d: offset %d beyond the end", n, fe.Offset)
		}
	}
}

func isPrefix(got, all []sidecar.Record) bool {
	return len(got) <= len(all) && (len(got) == 0 || reflect.DeepEqual(got, all[:len(got)]))
}
