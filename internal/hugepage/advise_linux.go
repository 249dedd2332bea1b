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

// Advise asks for huge pages for the n bytes at p, from the first huge
// page boundary in them to the end of the huge page that holds their
// last byte. That page goes on beyond them, over memory that the heap
// hands out next (it grows upwards): as long as nothing in the page was
// touched, it becomes a huge page at its first touch, ours or the next
// allocation's, and the next array asked for continues it. It is a hint:
// an error (an old kernel, huge pages disabled) is ignored, as it only
// leaves the memory in small pages.
func Advise(p unsafe.Pointer, n uintptr) {
	hp := size()
	if hp == 0 || n == 0 {
		return
	}
	beg := (uintptr(p) + hp - 1) &^ (hp - 1)
	end := (uintptr(p) + n + hp - 1) &^ (hp - 1)
	if beg >= end {
		return
	}
	syscall.Madvise(unsafe.Slice((*byte)(unsafe.Add(p, beg-uintptr(p))), end-beg), syscall.MADV_HUGEPAGE)
}
