package parquet

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestWriteback writes a few times writebackEvery through a writeback,
// in uneven pieces, and reads the file back whole.
func TestWriteback(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := &writeback{f: f}
	var want []byte
	piece := make([]byte, 1<<20+7)
	for i := 0; len(want) < 3*writebackEvery; i++ {
		for j := range piece {
			piece[j] = byte(i + j)
		}
		n, err := w.Write(piece)
		if err != nil || n != len(piece) {
			t.Fatalf("write %d: %d bytes, %v", i, n, err)
		}
		want = append(want, piece...)
	}
	if w.pending >= writebackEvery {
		t.Errorf("%d bytes pending, more than writebackEvery", w.pending)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("read back %d bytes, not the %d written", len(got), len(want))
	}
}
