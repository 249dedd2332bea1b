//go:build amd64 || arm64

package prefetch

import "unsafe"

// Line hints that the cache line at p will be read soon. p may be any
// address: a prefetch never faults.
//
//go:noescape
func Line(p unsafe.Pointer)

// Lines hints that the n cache lines from the one at p on will be read
// soon: one call for the lines of a record, where n calls of Line would
// each pay a call (assembly is never inlined). n may be any count; 0 or less asks for nothing.
//
//go:noescape
func Lines(p unsafe.Pointer, n int)

// LinesForWrite is Lines for lines that will be written: it asks for them
// to be brought in owned (PREFETCHW on amd64, PRFM PSTL1KEEP on arm64), so
// that the stores do not wait for another core to give them up.
//
//go:noescape
func LinesForWrite(p unsafe.Pointer, n int)
