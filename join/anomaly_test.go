package join_test

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
)

// rawPcap writes a little-endian nanosecond pcap with the given snap
// length and records (sub-second field, captured length, original length).
func rawPcap(t *testing.T, snap uint32, recs [][3]uint32) string {
	t.Helper()
	b := binary.LittleEndian.AppendUint32(nil, 0xa1b23c4d)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = append(b, make([]byte, 8)...)
	b = binary.LittleEndian.AppendUint32(b, snap)
	b = binary.LittleEndian.AppendUint32(b, 1)
	for i, r := range recs {
		b = binary.LittleEndian.AppendUint32(b, uint32(1_700_000_000+i))
		b = binary.LittleEndian.AppendUint32(b, r[0])
		b = binary.LittleEndian.AppendUint32(b, r[1])
		b = binary.LittleEndian.AppendUint32(b, r[2])
		b = append(b, make([]byte, r[1])...)
	}
	p := filepath.Join(t.TempDir(), "a.pcap")
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJoinAnomalies: snap length 0, captured length above the snap length
// or the original length and a sub-second field of a second or more are
// read (as libpcap and Wireshark read them) with one warning per kind and
// capture naming the count and the first frame; Strict makes them errors.
func TestJoinAnomalies(t *testing.T) {
	ok := [3]uint32{5, 60, 60}
	tests := []struct {
		name  string
		snap  uint32
		recs  [][3]uint32
		kind  reader.AnomalyKind
		count uint64
		first uint64
	}{
		{"snaplen 0", 0, [][3]uint32{ok, ok}, reader.SnapLenZero, 1, 0},
		{"caplen > snaplen", 100, [][3]uint32{ok, {5, 120, 120}, ok, {5, 101, 200}}, reader.CapLenOverSnapLen, 2, 2},
		{"caplen > origlen", 65535, [][3]uint32{ok, ok, {5, 60, 59}, {5, 60, 0}}, reader.CapLenOverOrigLen, 2, 3},
		{"fraction >= 1e9", 65535, [][3]uint32{ok, {999_999_999, 60, 60}, {1_000_000_000, 60, 60}, {4_000_000_000, 60, 60}}, reader.FractionOverflow, 2, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := rawPcap(t, tc.snap, tc.recs)
			r, err := joinAll([]string{p}, join.Options{})
			if err != nil {
				t.Fatal(err)
			}
			if r.frames != uint64(len(tc.recs)) {
				t.Fatalf("%d frames read, want %d", r.frames, len(tc.recs))
			}
			as := r.files[0].Anomalies
			if len(as) != 1 || as[0].Kind != tc.kind || as[0].Count != tc.count || as[0].First != tc.first {
				t.Fatalf("anomalies %+v, want one %v: %d, first %d", as, tc.kind, tc.count, tc.first)
			}
			if len(r.warnings) != 1 || r.warnings[0].Frame != tc.first {
				t.Errorf("warnings %v, want one at frame %d", r.warnings, tc.first)
			}
			if _, err := joinAll([]string{p}, join.Options{Strict: true}); !errors.Is(err, join.ErrAnomaly) {
				t.Errorf("Strict: err = %v, want ErrAnomaly", err)
			}
		})
	}
	// A clean capture has none, and Strict reads it.
	p := rawPcap(t, 65535, [][3]uint32{ok, ok})
	if r, err := joinAll([]string{p}, join.Options{Strict: true}); err != nil || len(r.files[0].Anomalies) != 0 || len(r.warnings) != 0 {
		t.Fatalf("clean capture: %v, %+v, %v", err, r.files[0].Anomalies, r.warnings)
	}
}
