// Package hugepage asks the kernel to back the large arrays of the flow
// accounting with transparent huge pages. With tens of thousands of flows
// whose frames come in random order, every frame's flow state is on
// another 4 KiB page, and the page walks of the translation misses, not
// the cache misses, bound the accounting: 30 MB of state is 7,500 small
// pages, more than the processor's translation cache holds, and 15 huge
// ones. Linux gives huge pages to memory that asks for them
// (madvise(MADV_HUGEPAGE)) when transparent huge pages are in their
// default "madvise" mode, which the Go runtime never does for its heap.
//
//	recs := hugepage.Slice[rec](1 << 16) // a Go slice like make's
//
// Only the whole huge pages inside an array are asked for (an array of 4
// MiB or more holds at least one, wherever it starts), and only memory not
// yet touched gets them, at its first touch: a large allocation from
// fresh heap memory. It changes no value, only how the memory is mapped.
// Where a huge page is slow to fault in (a virtual machine whose host
// backs freed memory again only when it is touched), it stops asking
// after the first such page, and the memory faults in small pages.
// Elsewhere than on Linux it does nothing.
package hugepage

import "unsafe"

// Slice returns make([]T, n), its whole huge pages backed by huge pages
// (Advise), and every page of it resident at once (Touch).
func Slice[T any](n int) []T {
	s := make([]T, n)
	if n > 0 {
		var t T
		p, size := unsafe.Pointer(&s[0]), uintptr(n)*unsafe.Sizeof(t)
		Advise(p, size)
		Touch(p, size)
	}
	return s
}

// smallPage is the smallest page size of the systems Go runs on.
const smallPage = 4096

// Touch writes the zero they hold into the n bytes at p, one byte a
// small page, so that every page of them is mapped writable at once. A
// fresh allocation's pages are not mapped yet, and the first access to
// one that reads (the garbage collector scanning an array with pointers,
// a lookup probing an index before it inserts) maps the shared zero
// page; the first write then copies it, and takes the old mapping out of
// the translation caches of every core the process runs on, with an
// interrupt to each. Touched first by a write, a page faults in once.
// The memory must be a fresh allocation nothing else uses yet.
func Touch(p unsafe.Pointer, n uintptr) {
	b := unsafe.Slice((*byte)(p), n)
	for i := uintptr(0); i < n; i += smallPage {
		b[i] = 0
	}
}
