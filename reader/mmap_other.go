//go:build !linux

package reader

import "errors"

const pageSize = 64 << 10

// canMap reports whether Open reads a plain file by mapping it: only on
// Linux, elsewhere through the read buffer.
const canMap = false

func mapFile(fd uintptr, off int64, length int) ([]byte, error) {
	return nil, errors.New("reader: mapping files is only done on Linux")
}

func unmapFile(b []byte) error { return nil }
