package hugepage

import (
	"os"
	"strconv"
	"strings"
	"sync"
	"syscall"
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
	b := unsafe.Slice((*byte)(unsafe.Add(p, beg-uintptr(p))), end-beg)
	if syscall.Madvise(b, syscall.MADV_HUGEPAGE) != nil {
		return
	}
	for i := uintptr(0); i < end-beg; i += hp {
		b[i] = 0
	}
	syscall.Madvise(b, syscall.MADV_NOHUGEPAGE)
}
