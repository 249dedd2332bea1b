package reader

import (
	"os"
	"syscall"
)

// pageSize is the granularity of a mapping's file offset (a multiple of
// the page size of every Linux architecture).
const pageSize = 64 << 10

// canMap reports whether Open reads a plain file by mapping it.
const canMap = true

// mapFile maps length bytes of the file fd from offset off, read-only,
// with the pages that are in the page cache entered at once
// (MAP_POPULATE: one system call instead of a page fault every few
// pages).
func mapFile(fd uintptr, off int64, length int) ([]byte, error) {
	b, err := syscall.Mmap(int(fd), off, length, syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return nil, os.NewSyscallError("mmap", err)
	}
	return b, nil
}

func unmapFile(b []byte) error {
	return os.NewSyscallError("munmap", syscall.Munmap(b))
}
