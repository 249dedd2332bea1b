package hugepage

import (
	"syscall"
	"testing"
	"unsafe"
)

// TestSlowStops: Advise makes the first huge page of fresh memory
// resident (its touch), and once a huge page was slow to fault in
// (slow), it touches nothing more: the memory stays unmapped until used.
func TestSlowStops(t *testing.T) {
	hp := size()
	if hp == 0 {
		t.Skip("no transparent huge pages on this kernel: Advise does nothing")
	}
	defer slow.Store(slow.Load())
	for _, wasSlow := range []bool{false, true} {
		slow.Store(wasSlow)
		n := 4 * hp
		m, err := syscall.Mmap(-1, 0, int(n), syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		p := unsafe.Pointer(&m[0])
		beg := (uintptr(p) + hp - 1) &^ (hp - 1) // the first whole huge page
		Advise(p, n)
		if got := resident(t, m, beg-uintptr(p)); got == wasSlow {
			t.Errorf("slow %v: the first huge page resident: %v", wasSlow, got)
		}
		syscall.Munmap(m)
	}
}

// resident reports whether the page at offset off of m is resident
// (mincore).
func resident(t *testing.T, m []byte, off uintptr) bool {
	t.Helper()
	var vec [1]byte
	page := uintptr(syscall.Getpagesize())
	addr := (uintptr(unsafe.Pointer(&m[0])) + off) &^ (page - 1)
	if _, _, errno := syscall.Syscall(syscall.SYS_MINCORE, addr, page, uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatal(errno)
	}
	return vec[0]&1 != 0
}
