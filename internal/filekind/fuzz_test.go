package filekind

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzOfFile: any bytes give a kind without panic or error, and what the
// first bytes alone tell (a capture, a sidecar) OfFile tells the same;
// compressed data is a capture only if it starts with a gzip or zstd
// magic.
func FuzzOfFile(f *testing.F) {
	for _, p := range []string{"../../testdata/demo/demo.pcap.gaps", "../../testdata/corpus/zeek-echo-connections.pcap", "../../testdata/corpus/zeek-pcapng-multi-interface.pcapng"} {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b[:min(len(b), 256)])
	}
	f.Add([]byte("\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03"))
	f.Add([]byte("\x28\xb5\x2f\xfd\x00\x58"))
	f.Add([]byte("# gapan-sidecar-text 1\n"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, b []byte) {
		p := filepath.Join(dir, "x")
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		k, err := OfFile(p)
		if err != nil {
			t.Fatalf("OfFile: %v", err)
		}
		switch head := Of(b[:min(len(b), PrefixLen)]); head {
		case Gzip, Zstd:
			if k != head && !k.IsCapture() {
				t.Fatalf("compressed %v read as %v", head, k)
			}
		default:
			if k != head {
				t.Fatalf("OfFile %v, Of %v", k, head)
			}
		}
	})
}
