package filekind

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/klauspost/compress/zstd"
)

// TestCorpus: every corpus capture is the kind its name (given by the
// project it comes from) says, and so is its gzip and zstd compression;
// the demo sidecar is a sidecar, MANIFEST.tsv is none of them.
func TestCorpus(t *testing.T) {
	dir := "../../testdata/corpus"
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	n := 0
	for _, e := range ents {
		want := map[string]Kind{".pcap": Pcap, ".pcapng": Pcapng, ".tsv": Unknown}[filepath.Ext(e.Name())]
		p := filepath.Join(dir, e.Name())
		if k, err := OfFile(p); err != nil || k != want {
			t.Errorf("%s: %v, %v; want %v", e.Name(), k, err, want)
		}
		if want == Unknown {
			continue
		}
		b, _ := os.ReadFile(p)
		b = b[:min(len(b), 4096)] // the start is what tells the kind
		var gz, zs bytes.Buffer
		gw := gzip.NewWriter(&gz)
		gw.Write(b)
		gw.Close()
		zw, _ := zstd.NewWriter(&zs)
		zw.Write(b)
		zw.Close()
		for ext, data := range map[string][]byte{".gz": gz.Bytes(), ".zst": zs.Bytes()} {
			c := filepath.Join(tmp, e.Name()+ext)
			os.WriteFile(c, data, 0o644)
			if k, err := OfFile(c); err != nil || k != want {
				t.Errorf("%s: %v, %v; want %v", c, k, err, want)
			}
		}
		n++
	}
	if n < 20 {
		t.Fatalf("only %d corpus captures", n)
	}
	if k, err := OfFile("../../testdata/demo/demo.pcap.gaps"); err != nil || k != Sidecar {
		t.Errorf("demo sidecar: %v, %v", k, err)
	}
}

func TestOf(t *testing.T) {
	for in, want := range map[string]Kind{
		"":                          Unknown,
		"\xd4\xc3":                  Unknown, // too short to tell
		"# gapan-sidecar-text 1\n":  SidecarText,
		"# frame gap\n3 1\n":        Unknown, // a text sidecar of another recorder: nothing tells it
		"\x89GAP\r\n\x1a\n\x01\x00": Sidecar,
		"\x1f\x8b\x08":              Gzip,
		"hello":                     Unknown,
	} {
		if got := Of([]byte(in)); got != want {
			t.Errorf("Of(%q) = %v, want %v", in, got, want)
		}
	}
	// Compressed text stays compressed: it is no capture.
	var gz bytes.Buffer
	gw := gzip.NewWriter(&gz)
	gw.Write([]byte(strings.Repeat("text ", 10)))
	gw.Close()
	p := filepath.Join(t.TempDir(), "x.gz")
	os.WriteFile(p, gz.Bytes(), 0o644)
	if k, err := OfFile(p); err != nil || k != Gzip {
		t.Errorf("gzip text: %v, %v", k, err)
	}
}
