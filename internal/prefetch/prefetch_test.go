package prefetch

import (
	"testing"
	"unsafe"
)

// TestPrefetchChangesNothing: a prefetch, for reading or for writing, of
// one line or several, changes nothing it points at, and asking for no
// line or for lines beyond a buffer's end does not fault.
func TestPrefetchChangesNothing(t *testing.T) {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i)
	}
	for i := 0; i < len(b); i += 64 {
		Line(unsafe.Pointer(&b[i]))
	}
	Lines(unsafe.Pointer(&b[0]), len(b)/64)
	Lines(unsafe.Pointer(&b[0]), 0)
	Lines(unsafe.Pointer(&b[0]), -1)
	LinesForWrite(unsafe.Pointer(&b[64]), 8)
	LinesForWrite(unsafe.Pointer(&b[len(b)-1]), 4) // past the end: a hint never faults
	LinesForWrite(nil, 0)
	for i := range b {
		if b[i] != byte(i) {
			t.Fatalf("byte %d changed", i)
		}
	}
}
