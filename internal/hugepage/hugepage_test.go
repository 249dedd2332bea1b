package hugepage

import (
	"testing"
	"unsafe"
)

// TestSliceValues: a slice asked for in huge pages is make's slice: zero,
// its length, and it keeps what is written to it, across the huge page
// boundaries and the memory advised beyond it.
func TestSliceValues(t *testing.T) {
	for _, n := range []int{0, 1, 1000, 3 << 20} {
		s := Slice[uint32](n)
		if len(s) != n {
			t.Fatalf("len %d, want %d", len(s), n)
		}
		for i, v := range s {
			if v != 0 {
				t.Fatalf("n %d: element %d is %d, want 0", n, i, v)
			}
		}
		for i := range s {
			s[i] = uint32(i) * 2654435761
		}
		// More memory after it, in the huge page Advise extended over.
		after := make([]uint32, 1<<16)
		for i := range after {
			after[i] = ^uint32(i)
		}
		Advise(unsafe.Pointer(unsafe.SliceData(after)), uintptr(len(after))*4)
		for i, v := range s {
			if v != uint32(i)*2654435761 {
				t.Fatalf("n %d: element %d changed to %d", n, i, v)
			}
		}
		for i, v := range after {
			if v != ^uint32(i) {
				t.Fatalf("element %d after changed to %d", i, v)
			}
		}
	}
}
