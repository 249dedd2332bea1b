//go:build !linux

package reader

import (
	"io"
	"os"
)

// fileReader returns the reader Open reads the regular file f with: f
// itself (see fileread_linux.go).
func fileReader(f *os.File) io.Reader { return f }
