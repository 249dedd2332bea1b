package reader

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// readAllBy reads r to its end in reads of at most n bytes.
func readAllBy(t *testing.T, r io.Reader, n int) []byte {
	b, _ := readCounted(t, r, n)
	return b
}

// readCounted is readAllBy that also returns the number of reads.
func readCounted(t *testing.T, r io.Reader, n int) ([]byte, int) {
	t.Helper()
	var out []byte
	buf := make([]byte, n)
	for calls := 1; ; calls++ {
		k, err := r.Read(buf)
		out = append(out, buf[:k]...)
		if err == io.EOF {
			return out, calls
		}
		if err != nil {
			t.Fatal(err)
		}
		if k == 0 {
			t.Fatal("a read of 0 bytes without io.EOF")
		}
	}
}

func tempFile(t *testing.T, data []byte) *os.File {
	t.Helper()
	name := filepath.Join(t.TempDir(), "f")
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// TestNowaitFile holds the reader of regular files to the file's bytes,
// in reads of every size, through the raw RWF_NOWAIT path and through
// its fallback, and to a file that grows after its end was read.
func TestNowaitFile(t *testing.T) {
	data := make([]byte, 3<<20+123)
	rng := rand.New(rand.NewPCG(5, 6))
	for i := range data {
		data[i] = byte(rng.Uint32())
	}
	for _, nowait := range []bool{true, false} {
		for _, n := range []int{1, 7, 4096, 65536, 1 << 20} {
			if n == 1 && len(data) > 1<<20 {
				continue // a byte at a time over 3 MB: slow, and 7 covers it
			}
			f := tempFile(t, data)
			r, ok := fileReader(f).(*nowaitFile)
			if !ok {
				t.Fatal("fileReader of a regular file is not a nowaitFile")
			}
			r.nowait = nowait
			got, calls := readCounted(t, r, n)
			if !bytes.Equal(got, data) {
				t.Fatalf("nowait %v, reads of %d: got %d bytes, not the file's %d", nowait, n, len(got), len(data))
			}
			if nowait && (!r.nowait || r.waited == calls) {
				t.Errorf("reads of %d: no read of a file just written took the RWF_NOWAIT path (%d of %d through ReadAt; the kernel refused the flag: %v)", n, r.waited, calls, !r.nowait)
			}
			if !nowait && r.waited == 0 {
				t.Errorf("reads of %d with RWF_NOWAIT off: no read went through ReadAt", n)
			}
		}
	}

	// A file that grows after its end was read reads on.
	f := tempFile(t, data[:1000])
	r := fileReader(f)
	if got := readAllBy(t, r, 4096); !bytes.Equal(got, data[:1000]) {
		t.Fatalf("got %d bytes, want 1000", len(got))
	}
	w, err := os.OpenFile(f.Name(), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data[1000:5000]); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if got := readAllBy(t, r, 4096); !bytes.Equal(got, data[1000:5000]) {
		t.Fatalf("after the file grew: got %d bytes, want 4000", len(got))
	}
}

// TestNowaitFileUncached drops a file's pages from the page cache, so
// that RWF_NOWAIT refuses to wait for the disk: the reads fall back to
// ReadAt and give the same bytes.
func TestNowaitFileUncached(t *testing.T) {
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(i * 7)
	}
	f := tempFile(t, data)
	if err := f.Sync(); err != nil {
		t.Fatal(err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		t.Fatal(err)
	}
	r := fileReader(f).(*nowaitFile)
	if got := readAllBy(t, r, 65536); !bytes.Equal(got, data) {
		t.Fatalf("got %d bytes, not the file's %d", len(got), len(data))
	}
	if r.waited == 0 {
		// tmpfs, say: its pages are the file. The bytes were checked;
		// TestNowaitFile covers the fallback with RWF_NOWAIT off.
		t.Logf("the page cache kept the file (FADV_DONTNEED dropped nothing): no read fell back to ReadAt")
	}
}
