package sidecar_test

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

var update = flag.Bool("update", false, "rewrite golden files in testdata/")

func TestTextGolden(t *testing.T) {
	recs := []sidecar.Record{{Frame: 12, Gap: 3}, {Frame: 40, Gap: 1}, {Frame: 18446744073709551615, Gap: sidecar.MaxLost - 4}}
	tr := sidecar.Trailer{Frames: 18446744073709551615, Tail: []sidecar.InterfaceGap{{0, 12}, {3, 1}}, HasKernel: true, KernelPackets: 1016, KernelDrops: 16}
	var b bytes.Buffer
	if err := sidecar.WriteText(&b, testHeader, sidecar.Records(recs), &tr); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "text.golden")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("text form differs from %s (run with -update after review):\n%s", golden, b.Bytes())
	}
	f, err := sidecar.ReadText(bytes.NewReader(want), golden)
	if err != nil {
		t.Fatal(err)
	}
	if f.Header != testHeader || !reflect.DeepEqual(f.Records, recs) || !f.HasTrailer || !reflect.DeepEqual(f.Trailer, tr) {
		t.Fatalf("text round trip: %+v", f)
	}
}

// TestTextBinaryConversion converts binary → text → binary and checks both
// the bytes and the values survive.
func TestTextBinaryConversion(t *testing.T) {
	recs := realistic(5000, 11)
	tr := sidecar.Trailer{Frames: recs[len(recs)-1].Frame + 3, Tail: []sidecar.InterfaceGap{{0, 4}}}
	bin := encode(t, testHeader, recs, &tr, 0)
	r, err := sidecar.NewAutoReader(bytes.NewReader(bin), "x.gaps")
	if err != nil {
		t.Fatal(err)
	}
	var txt bytes.Buffer
	if err := sidecar.ConvertToText(&txt, r); err != nil {
		t.Fatal(err)
	}
	tr2, err := sidecar.NewAutoReader(bytes.NewReader(txt.Bytes()), "x.txt")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := tr2.(*sidecar.TextReader); !ok {
		t.Fatalf("NewAutoReader on text gave %T", tr2)
	}
	var back bytes.Buffer
	w, err := sidecar.NewWriter(&back, tr2.Header())
	if err != nil {
		t.Fatal(err)
	}
	if err := sidecar.Convert(w, tr2); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Bytes(), bin) {
		t.Fatal("binary → text → binary changed the bytes")
	}
	// A cut binary file converts its valid prefix and reports the cut.
	small := encode(t, testHeader, recs, &tr, 100)
	r, _ = sidecar.NewAutoReader(bytes.NewReader(small[:len(small)/2]), "cut.gaps")
	txt.Reset()
	if err := sidecar.ConvertToText(&txt, r); !errors.Is(err, sidecar.ErrNoTrailer) {
		t.Fatalf("cut file: %v, want ErrNoTrailer", err)
	}
	f, err := sidecar.ReadText(bytes.NewReader(txt.Bytes()), "cut.txt")
	if !errors.Is(err, sidecar.ErrNoTrailer) || len(f.Records) == 0 || !isPrefix(f.Records, recs) || f.HasTrailer {
		t.Fatalf("prefix of a cut file: %d records, %v", len(f.Records), err)
	}
}

func TestTextThirdParty(t *testing.T) {
	in := "# written by someone else\r\n\r\n  5 1\r\n7\t2  \r\n# this comment mentions a tail but does not start with it\n# tail 4\n"
	f, err := sidecar.ReadText(strings.NewReader(in), "other.txt")
	if err != nil {
		t.Fatal(err)
	}
	want := &sidecar.File{
		Header:     sidecar.Header{Source: sidecar.SourceImported},
		Records:    []sidecar.Record{{Frame: 5, Gap: 1}, {Frame: 7, Gap: 2}},
		Trailer:    sidecar.Trailer{Tail: []sidecar.InterfaceGap{{0, 4}}},
		HasTrailer: true,
	}
	if !reflect.DeepEqual(f, want) {
		t.Fatalf("got %+v\nwant %+v", f, want)
	}
	// No trailer lines: records, then ErrNoTrailer after the last line.
	f, err = sidecar.ReadText(strings.NewReader("1 1\n2 1\n"), "n.txt")
	var fe *sidecar.FormatError
	if !errors.Is(err, sidecar.ErrNoTrailer) || !errors.As(err, &fe) || fe.Line != 3 || fe.Offset != 8 || len(f.Records) != 2 {
		t.Fatalf("no trailer: %v, %+v", err, f)
	}
	// Empty input: no records, no trailer.
	if f, err := sidecar.ReadText(strings.NewReader(""), "e.txt"); !errors.Is(err, sidecar.ErrNoTrailer) || len(f.Records) != 0 {
		t.Fatalf("empty: %v", err)
	}
}

func TestTextErrors(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want error
		line int
	}{
		{"unsorted", "5 1\n5 2\n", sidecar.ErrUnsorted, 2},
		{"decreasing", "# c\n5 1\n9 1\n\n7 2\n", sidecar.ErrUnsorted, 5},
		{"frame 0", "0 1\n", sidecar.ErrUnsorted, 1},
		{"zero gap", "1 1\n2 0\n", sidecar.ErrZeroGap, 2},
		{"three fields", "1 2 3\n", sidecar.ErrMalformed, 1},
		{"one field", "12\n", sidecar.ErrMalformed, 1},
		{"negative", "-1 2\n", sidecar.ErrMalformed, 1},
		{"plus sign", "1 +2\n", sidecar.ErrMalformed, 1},
		{"hex frame", "0x10 2\n", sidecar.ErrMalformed, 1},
		{"overflow", "18446744073709551616 1\n", sidecar.ErrMalformed, 1},
		{"record after tail", "1 1\n# tail 3\n2 1\n", sidecar.ErrMalformed, 3},
		{"header after record", "1 1\n# source kernel\n", sidecar.ErrMalformed, 2},
		{"bad source", "# source martian\n", sidecar.ErrMalformed, 1},
		{"bad identity", "# identity linktype=1 snaplen=2\n", sidecar.ErrMalformed, 1},
		{"identity bad key", "# identity linktype=1 snaplen=2 first_ns=3 colour=4\n", sidecar.ErrMalformed, 1},
		{"duplicate frames", "# frames 3\n# frames 3\n", sidecar.ErrMalformed, 2},
		{"frames below last record", "10 1\n# frames 9\n", sidecar.ErrMalformed, 2},
		{"tail unsorted", "# tail iface=2 1\n# tail iface=1 1\n", sidecar.ErrUnsorted, 2},
		{"tail bad", "# tail many\n", sidecar.ErrMalformed, 1},
		{"kernel bad", "# kernel packets=1\n", sidecar.ErrMalformed, 1},
		{"future version", "# gapan-sidecar-text 2\n", sidecar.ErrVersion, 1},
		{"long line", "1 1\n" + strings.Repeat("#", sidecar.MaxTextLine+1) + "\n", sidecar.ErrMalformed, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := sidecar.ReadText(strings.NewReader(tc.in), "bad.txt")
			var fe *sidecar.FormatError
			if !errors.Is(err, tc.want) || !errors.As(err, &fe) || fe.Line != tc.line || fe.File != "bad.txt" {
				t.Fatalf("error %v, want %v on line %d", err, tc.want, tc.line)
			}
			if !strings.HasPrefix(err.Error(), "bad.txt:"+strconv.Itoa(tc.line)+": ") {
				t.Errorf("message %q does not start with file:line", err)
			}
		})
	}
}

func TestWriteTextRejects(t *testing.T) {
	var b bytes.Buffer
	if err := sidecar.WriteText(&b, sidecar.Header{}, sidecar.Records([]sidecar.Record{{2, 1}, {2, 1}}), nil); !errors.Is(err, sidecar.ErrUnsorted) {
		t.Fatalf("unsorted: %v", err)
	}
	if err := sidecar.WriteText(&b, sidecar.Header{}, sidecar.Records([]sidecar.Record{{2, 0}}), nil); !errors.Is(err, sidecar.ErrZeroGap) {
		t.Fatalf("zero gap: %v", err)
	}
}
