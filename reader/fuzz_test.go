package reader

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"runtime/metrics"
	"strconv"
	"strings"
	"testing"
)

//go:generate go run ./internal/fuzzseeds -corpus ../testdata/corpus -out testdata/fuzz/FuzzReader

// FuzzReader feeds arbitrary bytes to the Reader: it must never panic or
// hang, must end with io.EOF or a *FormatError that is consistent with the
// frames it delivered, and must not allocate for a length field before
// the bytes it announces arrived: reading an uncompressed input allocates
// at most a fixed amount (the read buffers) plus a multiple of its size.
func FuzzReader(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		before := heapAllocs()
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkFuzzErr(t, err, 0)
			return
		}
		defer r.Close()
		defer checkFuzzAlloc(t, r, before, len(data))
		var n uint64
		for {
			fr, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFuzzErr(t, err, n)
				break
			}
			n++
			if fr.Number != n || fr.CapLen != len(fr.Data) || fr.Offset < 0 {
				t.Fatalf("frame %d: Number %d CapLen %d len(Data) %d Offset %d", n, fr.Number, fr.CapLen, len(fr.Data), fr.Offset)
			}
			if r.Compression() == CompressionNone && fr.Offset+int64(fr.CapLen) > int64(len(data)) {
				t.Fatalf("frame %d at offset %d with %d bytes lies outside the %d byte input", n, fr.Offset, fr.CapLen, len(data))
			}
			if fr.InterfaceID < 0 || fr.InterfaceID >= len(r.Interfaces()) {
				t.Fatalf("frame %d on interface %d of %d", n, fr.InterfaceID, len(r.Interfaces()))
			}
		}
		_ = r.Stats()
	})
}

// fuzzAllocFixed bounds what reading any uncompressed input allocates
// besides a multiple of its size: the 1 MiB read buffer, the 64 KiB
// detection buffer and small change.
const fuzzAllocFixed = 4 << 20

// heapAllocs returns the bytes allocated on the heap so far, without
// stopping the world as runtime.ReadMemStats would on every input.
func heapAllocs() uint64 {
	s := []metrics.Sample{{Name: "/gc/heap/allocs:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

func checkFuzzAlloc(t *testing.T, r *Reader, before uint64, size int) {
	t.Helper()
	if r.Compression() != CompressionNone {
		return // the decompressors' windows are bounded by zstdMaxWindow and gzip's 32 KiB
	}
	if n := heapAllocs() - before; n > fuzzAllocFixed+8*uint64(size) {
		t.Fatalf("reading %d bytes allocated %d bytes", size, n)
	}
}

func checkFuzzErr(t *testing.T, err error, frames uint64) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FormatError", err, err)
	}
	if fe.FramesRead != frames || fe.Frame != frames+1 || fe.File != "fuzz" || fe.Offset < 0 {
		t.Fatalf("error %+v after %d frames", fe, frames)
	}
}

// TestFuzzSeedCorpus checks the seed corpus that go generate writes
// (internal/fuzzseeds): every seed is there, in the format go test reads,
// and reads as the independent tools read it. The frame counts are
// tshark's (the corpus files' also in testdata/corpus/MANIFEST.tsv); the
// synthetic files hold what they were built with.
func TestFuzzSeedCorpus(t *testing.T) {
	seeds := []struct {
		name     string
		frames   uint64
		sentinel error // nil: the seed reads to a clean end
	}{
		{"zeek-pcapng-multi-interface.pcapng", 6, nil},
		{"gopacket-pcapng-be-test101.pcapng", 4, nil},
		{"gopacket-pcapng-epb-dropcount.pcapng", 1, nil},
		{"libpcap-pcap-invalid-version-1.pcap", 0, ErrUnsupportedVersion}, // tshark: "major version 1 unsupported"
		{"libpcap-shb-option-too-long.pcapng", 0, ErrBadBlock},            // tshark: "damaged or corrupt"
		{"tcpdump-timestamp-invalid-nano.pcap", 3, nil},
		{"zeek-get-to-ssh-server-nsec.pcap", 9, nil},
		{"smtp-corrupt-head", 18, ErrRecordTooLarge}, // tshark: "File has 3925868813-byte packet"
		{"nfs3-bigendian-head", 8, ErrTruncated},     // tshark: "cut short in the middle of a packet"
		{"nsec.pcap.gz", 9, nil},
		{"multi.pcapng.zst", 6, nil},
		{"synthetic-two-sections", 3, nil},
		{"pcap-huge-record-cut", 0, ErrTruncated}, // 100 of 16 MiB announced
		{"pcapng-huge-blocks", 1, ErrTruncated},   // a 4 GiB block after one packet, cut short
	}
	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	files, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(files) != len(seeds) {
		t.Errorf("%d files in %s, want the %d seeds go generate writes", len(files), dir, len(seeds))
	}
	for _, s := range seeds {
		t.Run(s.name, func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join(dir, s.name))
			if err != nil {
				t.Fatalf("%v (run go generate ./reader)", err)
			}
			head, lit, ok := strings.Cut(strings.TrimSpace(string(content)), "\n")
			if !ok || head != "go test fuzz v1" || !strings.HasPrefix(lit, "[]byte(") || !strings.HasSuffix(lit, ")") {
				t.Fatalf("not a go test fuzz v1 file with one []byte: %.80q", content)
			}
			data, err := strconv.Unquote(lit[len("[]byte(") : len(lit)-1])
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(strings.NewReader(data), s.name)
			var frames []Frame
			if err == nil {
				frames, err = readAll(t, r)
				r.Close()
			}
			if uint64(len(frames)) != s.frames {
				t.Errorf("%d frames, want %d", len(frames), s.frames)
			}
			if s.sentinel == nil && err != nil {
				t.Errorf("error %v, want a clean end", err)
			}
			if s.sentinel != nil && !errors.Is(err, s.sentinel) {
				t.Errorf("error %v, want %v", err, s.sentinel)
			}
		})
	}
}
