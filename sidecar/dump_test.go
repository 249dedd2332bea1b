package sidecar_test

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"io"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

var dumpRecords = []sidecar.Record{{Frame: 7, Gap: 3}, {Frame: 17, Gap: 1}, {Frame: 1 << 40, Gap: 125}}

func reader(t *testing.T, data []byte) sidecar.RecordReader {
	t.Helper()
	r, err := sidecar.NewReaderName(bytes.NewReader(data), "dump.gaps")
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// TestWriteCSV: the CSV parses (encoding/csv) into the header frame,gap
// and the records written, nothing else; a cut sidecar gives its records
// and the reader's error.
func TestWriteCSV(t *testing.T) {
	data := encode(t, testHeader, dumpRecords, &sidecar.Trailer{Frames: 1 << 41, Tail: []sidecar.InterfaceGap{{Interface: 0, Lost: 4}}}, 0)
	for _, cut := range []bool{false, true} {
		in := data
		if cut {
			in = encode(t, testHeader, dumpRecords, nil, 0)
		}
		var b bytes.Buffer
		err := sidecar.WriteCSV(&b, reader(t, in))
		if cut != errors.Is(err, sidecar.ErrNoTrailer) || !cut && err != nil {
			t.Fatalf("cut %v: err %v", cut, err)
		}
		rows, err := csv.NewReader(&b).ReadAll()
		if err != nil {
			t.Fatal(err)
		}
		want := [][]string{{"frame", "gap"}}
		for _, r := range dumpRecords {
			want = append(want, []string{strconv.FormatUint(r.Frame, 10), strconv.FormatUint(r.Gap, 10)})
		}
		if !reflect.DeepEqual(rows, want) {
			t.Errorf("cut %v: rows %q, want %q", cut, rows, want)
		}
	}
}

// dumpJSON is WriteJSON's output as encoding/json reads it.
type dumpJSON struct {
	Header struct {
		CreatedNs int64 `json:"created_ns"`
		Identity  *struct {
			LinkType      uint32 `json:"link_type"`
			SnapLen       uint32 `json:"snaplen"`
			FirstFrameNs  int64  `json:"first_frame_ns"`
			FirstFrameCRC string `json:"first_frame_crc32c"`
		} `json:"identity"`
		Source string `json:"source"`
		Tool   string `json:"tool"`
	} `json:"header"`
	Records []sidecar.Record `json:"records"` // frame, gap: encoding/json matches the names case-insensitively
	Trailer *struct {
		Frames        uint64              `json:"frames"`
		KernelDrops   *uint64             `json:"kernel_drops"`
		KernelPackets *uint64             `json:"kernel_packets"`
		Tail          []map[string]uint64 `json:"tail"`
		TailGap       uint64              `json:"tail_gap"`
	} `json:"trailer"`
	Error *string `json:"error"`
}

// TestWriteJSON: the JSON holds the header, records and trailer written,
// the kernel counters only when the trailer has them, a null identity when
// it is unknown, and for a cut sidecar a null trailer and the error.
func TestWriteJSON(t *testing.T) {
	tr := sidecar.Trailer{Frames: 1 << 41, Tail: []sidecar.InterfaceGap{{Interface: 0, Lost: 4}, {Interface: 2, Lost: 5}}, HasKernel: true, KernelPackets: 1000, KernelDrops: 0}
	unknown := testHeader
	unknown.Identity = sidecar.Identity{}
	for _, tc := range []struct {
		name string
		h    sidecar.Header
		tr   *sidecar.Trailer
	}{
		{"kernel counters", testHeader, &tr},
		{"no kernel counters, no identity", unknown, &sidecar.Trailer{Frames: 1 << 41}},
		{"cut", testHeader, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := sidecar.WriteJSON(&b, reader(t, encode(t, tc.h, dumpRecords, tc.tr, 0)))
			if (tc.tr == nil) != errors.Is(err, sidecar.ErrNoTrailer) {
				t.Fatalf("err %v", err)
			}
			var got dumpJSON
			dec := json.NewDecoder(&b)
			dec.DisallowUnknownFields()
			if err := dec.Decode(&got); err != nil {
				t.Fatalf("%v:\n%s", err, b.String())
			}
			h := got.Header
			if h.CreatedNs != tc.h.CreatedNs || h.Source != tc.h.Source.String() || h.Tool != tc.h.Tool {
				t.Errorf("header %+v, want %+v", h, tc.h)
			}
			if id := h.Identity; tc.h.Identity.Known != (id != nil) || id != nil && (id.LinkType != 1 || id.SnapLen != 262144 || id.FirstFrameNs != tc.h.Identity.FirstFrameNs || id.FirstFrameCRC != "deadbeef") {
				t.Errorf("identity %+v, want %+v", id, tc.h.Identity)
			}
			if !reflect.DeepEqual(got.Records, dumpRecords) {
				t.Errorf("records %v", got.Records)
			}
			if tc.tr == nil {
				if got.Trailer != nil || got.Error == nil || *got.Error != err.Error() {
					t.Errorf("cut: trailer %+v, error %v", got.Trailer, got.Error)
				}
				return
			}
			gt := got.Trailer
			if gt == nil || got.Error != nil || gt.Frames != tc.tr.Frames || gt.TailGap != tc.tr.TailTotal() || len(gt.Tail) != len(tc.tr.Tail) {
				t.Fatalf("trailer %+v, error %v; want %+v", gt, got.Error, tc.tr)
			}
			for i, g := range tc.tr.Tail {
				if gt.Tail[i]["interface"] != uint64(g.Interface) || gt.Tail[i]["lost"] != g.Lost {
					t.Errorf("tail %v, want %v", gt.Tail, tc.tr.Tail)
				}
			}
			if tc.tr.HasKernel != (gt.KernelPackets != nil && gt.KernelDrops != nil) || tc.tr.HasKernel && (*gt.KernelPackets != 1000 || *gt.KernelDrops != 0) {
				t.Errorf("kernel counters %v %v, want %v", gt.KernelPackets, gt.KernelDrops, tc.tr)
			}
		})
	}
}

// TestWrite: Write gives back, through the Reader, the File it was given,
// with or without its trailer.
func TestWrite(t *testing.T) {
	for _, f := range []*sidecar.File{
		{Header: testHeader, Records: dumpRecords, Trailer: sidecar.Trailer{Frames: 1 << 41, Tail: []sidecar.InterfaceGap{{Interface: 1, Lost: 9}}, HasKernel: true, KernelPackets: 5, KernelDrops: 2}, HasTrailer: true},
		{Header: testHeader, Records: dumpRecords},
	} {
		var b bytes.Buffer
		if err := sidecar.Write(&b, f); err != nil {
			t.Fatal(err)
		}
		got, err := decode(b.Bytes())
		if f.HasTrailer == errors.Is(err, sidecar.ErrNoTrailer) || f.HasTrailer && err != nil {
			t.Fatalf("trailer %v: err %v", f.HasTrailer, err)
		}
		if !reflect.DeepEqual(got, f) {
			t.Errorf("read back %+v, want %+v", got, f)
		}
	}
	bad := &sidecar.File{Header: testHeader, Records: []sidecar.Record{{Frame: 5, Gap: 1}, {Frame: 5, Gap: 1}}}
	if err := sidecar.Write(&bytes.Buffer{}, bad); !errors.Is(err, sidecar.ErrUnsorted) {
		t.Errorf("unsorted records: %v", err)
	}
}

// TestDump: each of DumpFormats writes its form (the CSV header, a JSON
// object with the records, the text form's frame gap lines); another
// format is an error.
func TestDump(t *testing.T) {
	data := encode(t, testHeader, dumpRecords, &sidecar.Trailer{Frames: 1 << 41}, 0)
	want := map[string]func(string) bool{
		"csv": func(s string) bool { return strings.HasPrefix(s, "frame,gap\n7,3\n17,1\n") },
		"json": func(s string) bool {
			var d dumpJSON
			return json.Unmarshal([]byte(s), &d) == nil && reflect.DeepEqual(d.Records, dumpRecords)
		},
		"text": func(s string) bool { return strings.Contains(s, "\n7 3\n17 1\n") && !strings.Contains(s, ",") },
	}
	for _, f := range sidecar.DumpFormats {
		var b bytes.Buffer
		if err := sidecar.Dump(&b, reader(t, data), f); err != nil || want[f] == nil || !want[f](b.String()) {
			t.Errorf("format %s: %v\n%s", f, err, b.String())
		}
	}
	if err := sidecar.Dump(io.Discard, reader(t, data), "xml"); err == nil {
		t.Error("format xml: no error")
	}
}
