//go:build !linux

package hugepage

import "unsafe"

// Advise does nothing on this system.
func Advise(p unsafe.Pointer, n uintptr) {}
