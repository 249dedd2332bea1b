package sidecar_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestCandidates: the capture's own name first, then for a compressed
// capture the uncompressed name's sidecar.
func TestCandidates(t *testing.T) {
	for in, want := range map[string][]string{
		"d.pcap":          {"d.pcap.gaps"},
		"d.pcap.gz":       {"d.pcap.gz.gaps", "d.pcap.gaps"},
		"/a/d.pcapng.zst": {"/a/d.pcapng.zst.gaps", "/a/d.pcapng.gaps"},
		"d.pcap.zstd":     {"d.pcap.zstd.gaps", "d.pcap.gaps"},
		".gz":             {".gz.gaps"},
		"-":               {"-.gaps"},
	} {
		if got := sidecar.Candidates(in); !slices.Equal(got, want) {
			t.Errorf("Candidates(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestFind: the first candidate that exists; PathFor when none does.
func TestFind(t *testing.T) {
	dir := t.TempDir()
	c := filepath.Join(dir, "d.pcap.gz")
	if p, ok := sidecar.Find(c); ok || p != c+".gaps" {
		t.Errorf("none: %q, %v", p, ok)
	}
	os.WriteFile(filepath.Join(dir, "d.pcap.gaps"), nil, 0o644)
	if p, ok := sidecar.Find(c); !ok || p != filepath.Join(dir, "d.pcap.gaps") {
		t.Errorf("uncompressed name: %q, %v", p, ok)
	}
	os.WriteFile(c+".gaps", nil, 0o644)
	if p, ok := sidecar.Find(c); !ok || p != c+".gaps" {
		t.Errorf("both: %q, %v", p, ok)
	}
}

// TestCaptureGiven: a capture read as a sidecar says so, and names its
// sidecar when it has one, instead of "malformed: want frame gap".
func TestCaptureGiven(t *testing.T) {
	demo := "../testdata/demo/demo.pcap"
	for _, tc := range []struct {
		name, file string
		data       []byte
		kind, sc   string
	}{
		{"pcap with sidecar", demo, nil, "pcap capture", demo + ".gaps"},
		{"pcapng", "x.pcapng", []byte{0x0a, 0x0d, 0x0d, 0x0a, 0x1c, 0, 0, 0}, "pcapng capture", ""},
		{"nanosecond pcap, big-endian", "x.pcap", []byte{0xa1, 0xb2, 0x3c, 0x4d, 0, 2}, "pcap capture", ""},
		{"gzip", "x.pcap.gz", []byte{0x1f, 0x8b, 8, 0}, "gzip-compressed file", ""},
		{"zstd", "x.pcap.zst", []byte{0x28, 0xb5, 0x2f, 0xfd, 0}, "zstd-compressed file", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			data := tc.data
			if data == nil {
				var err error
				if data, err = os.ReadFile(tc.file); err != nil {
					t.Fatal(err)
				}
			}
			for _, open := range []func() error{
				func() error { _, err := sidecar.NewAutoReader(bytes.NewReader(data), tc.file); return err },
				func() error { _, err := sidecar.NewTextReader(bytes.NewReader(data), tc.file); return err },
				func() error { _, err := sidecar.ReadText(bytes.NewReader(data), tc.file); return err },
			} {
				err := open()
				var cg *sidecar.CaptureGivenError
				if !errors.As(err, &cg) || !errors.Is(err, sidecar.ErrIsCapture) || cg.Kind != tc.kind || cg.Sidecar != tc.sc {
					t.Fatalf("err = %v (%+v), want a %s with sidecar %q", err, cg, tc.kind, tc.sc)
				}
				want := tc.file + " is a " + tc.kind + ", not a gap sidecar"
				if tc.sc != "" {
					want += "; its sidecar is " + tc.sc
				}
				if err.Error() != want {
					t.Errorf("message %q, want %q", err, want)
				}
			}
		})
	}
	// A text sidecar is still one.
	if _, err := sidecar.NewAutoReader(strings.NewReader("3 1\n"), "t.txt"); err != nil {
		t.Errorf("text sidecar: %v", err)
	}
}

// TestCutMessage: a sidecar cut inside a block says "sidecar" once and
// matches both ErrTruncated and ErrNoTrailer.
func TestCutMessage(t *testing.T) {
	var buf bytes.Buffer
	w, err := sidecar.NewWriter(&buf, sidecar.Header{Source: sidecar.SourceKernel, Tool: "t"})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(sidecar.Record{Frame: 2, Gap: 1})
	w.Flush()
	b := buf.Bytes()[:buf.Len()-2]
	r, err := sidecar.NewReaderName(bytes.NewReader(b), "c.gaps")
	if err != nil {
		t.Fatal(err)
	}
	_, err = r.Next()
	if !errors.Is(err, sidecar.ErrTruncated) || !errors.Is(err, sidecar.ErrNoTrailer) {
		t.Fatalf("err = %v", err)
	}
	if n := strings.Count(err.Error(), "sidecar:"); n != 1 || !strings.Contains(err.Error(), "sidecar: truncated, missing trailer (writer did not close cleanly): block of ") {
		t.Errorf("message %q", err)
	}
}

// TestMessagesSayItOnce: an identity mismatch says "sidecar" once, and a
// damaged header does not count the records before it.
func TestMessagesSayItOnce(t *testing.T) {
	a := sidecar.Identity{Known: true, LinkType: 1, SnapLen: 262144}
	b := a
	b.SnapLen = 65535
	err := a.Check(b)
	var ie *sidecar.IdentityError
	if !errors.As(err, &ie) || !errors.Is(err, sidecar.ErrIdentity) || err.Error() != "sidecar belongs to a different capture: snaplen 262144, capture has 65535" || ie.Detail != "snaplen 262144, capture has 65535" {
		t.Errorf("identity: %v", err)
	}
	_, err = sidecar.NewReaderName(strings.NewReader("\x89GAPxxxx"), "b.gaps")
	if err == nil || err.Error() != "b.gaps: at byte 0 (0x0): sidecar: not a gap sidecar (bad magic)" {
		t.Errorf("bad magic: %v", err)
	}
}
