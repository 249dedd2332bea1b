package hugepage

import (
	"runtime"
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

// TestTouchFaultsOnce: after Touch, writing anywhere in the memory takes
// no page fault (each page is mapped writable, not to the shared zero
// page, which a later write would copy); without it each page's first
// write does. The faults are counted on the test's own thread
// (getrusage(RUSAGE_THREAD)).
func TestTouchFaultsOnce(t *testing.T) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	const pages = 64
	page := syscall.Getpagesize()
	for _, touch := range []bool{true, false} {
		m, err := syscall.Mmap(-1, 0, pages*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON)
		if err != nil {
			t.Fatal(err)
		}
		// Read first, as the garbage collector scanning the memory would.
		var sum byte
		for i := 0; i < len(m); i += page {
			sum += m[i+page/2]
		}
		if touch {
			// Touch's contract is fresh memory: map the pages anew.
			syscall.Munmap(m)
			if m, err = syscall.Mmap(-1, 0, pages*page, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_PRIVATE|syscall.MAP_ANON); err != nil {
				t.Fatal(err)
			}
			Touch(unsafe.Pointer(&m[0]), uintptr(len(m)))
		}
		before := minorFaults(t)
		for i := 0; i < len(m); i += page {
			m[i+page/2] = 1 + sum
		}
		faults := minorFaults(t) - before
		switch {
		case touch && faults != 0:
			t.Errorf("after Touch: %d faults writing %d pages, want 0", faults, pages)
		case !touch && faults < pages:
			t.Errorf("pages read first: %d faults writing %d pages, want at least %d (the count does not see them)", faults, pages, pages)
		}
		syscall.Munmap(m)
	}
}

// minorFaults returns the calling thread's minor page faults so far.
func minorFaults(t *testing.T) int64 {
	t.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(1 /* RUSAGE_THREAD */, &ru); err != nil {
		t.Fatal(err)
	}
	return ru.Minflt
}
