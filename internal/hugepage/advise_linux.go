package hugepage

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"
)

// size is the huge page size (/sys/kernel/mm/transparent_hugepage/hpage_pmd_size),
// 0 when the kernel has no transparent huge pages.
var size = sync.OnceValue(func() uintptr {
	b, err := os.ReadFile("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size")
	if err != nil {
		return 0
	}
	n, err := strconv.ParseUint(strings.TrimSpace(string(b)), 10, 64)
	if err != nil || n&(n-1) != 0 {
		return 0
	}
	return uintptr(n)
})

// Advise backs the whole huge pages within the n bytes at p with huge
// pages, as far as the kernel gives them: it asks for them
// (MADV_HUGEPAGE), touches each (the fault maps a whole huge page, if
// the memory was not touched before), then takes the request back
// (MADV_NOHUGEPAGE), which leaves the huge pages mapped. Once the array
// is garbage the memory is the heap's again, and small pages: a huge page
// faulted later there for another object, or collapsed by khugepaged,
// would count 2 MiB of resident memory for a few small pages' worth. The
// bytes touched are written with the zero they hold: the memory must be
// a fresh allocation nothing else uses yet. It is a hint: an error (an
// old kernel, huge pages disabled) is ignored, as it only leaves the
// memory in small pages.
func Advise(p unsafe.Pointer, n uintptr) {
	hp := size()
	if hp == 0 {
		return
	}
	beg := (uintptr(p) + hp - 1) &^ (hp - 1)
	end := (uintptr(p) + n) &^ (hp - 1)
	if beg >= end {
		return
	}
	if slow.Load() {
		return
	}
	b := unsafe.Slice((*byte)(unsafe.Add(p, beg-uintptr(p))), end-beg)
	if syscall.Madvise(b, syscall.MADV_HUGEPAGE) != nil {
		return
	}
	for i := uintptr(0); i < end-beg; i += hp {
		t := time.Now()
		b[i] = 0
		if time.Since(t) > slowFault {
			// The rest of the array faults in small pages as it is
			// used, as does every array after it.
			slow.Store(true)
			break
		}
	}
	syscall.Madvise(b, syscall.MADV_NOHUGEPAGE)
}

// slow is set once a huge page took longer than slowFault to fault in;
// from then on Advise asks for none. A huge page's first touch clears 2
// MiB, some 0.25 ms; but on a virtual machine whose host backs the
// guest's memory only as it is touched, and takes back the large blocks
// the guest frees (free page reporting, as Firecracker's balloon does), a
// huge page the guest has freed a few seconds before faults in 512 small
// pages on the host: 5 to 45 ms each, measured on the bench host (30 ms
// typical), where the same 2 MiB in small pages, which the guest recycles
// without handing them back, cost 0.8 ms. There the first touches of a
// run's huge pages cost up to 126 ms of CPU (`gapan report` on the
// uniform bench capture: 0.49 to 0.80 s), or nothing, from one run to the
// next (docs/performance.md, round 7).
var slow atomic.Bool

// slowFault is 8 times a huge page's first touch on bare memory, and
// over twice the cost of the same memory in small pages on the bench
// host.
const slowFault = 2 * time.Millisecond
