package reader

import (
	"bufio"
	"io"
	"unsafe"
)

// source is the decompressed stream the parsers read: a read buffer over
// it (bufio), or, for a plain capture file that Open opened itself, the
// file mapped into memory a window at a time (mapped), which spares the
// read system calls their copy of every byte out of the page cache (about
// a fifth of a report's CPU time on a large capture). Both serve a record
// or block in place: Peek returns bytes valid until the next Peek, Discard
// or Read, and report a short input the same way (io.EOF with what there
// is), so the parsers cannot tell them apart.
type source struct {
	buf *bufio.Reader // nil when m is set
	m   *mapped
	// offset of the first byte buf holds, in the decompressed stream, is
	// stream.n - buf.Buffered(); for m it is m.pos.
}

// Peek returns the next n bytes without consuming them (fewer, with the
// read error or io.EOF, at the end of the input). n is at most bufSize.
func (s *source) Peek(n int) ([]byte, error) {
	if s.m != nil {
		return s.m.peek(n)
	}
	return s.buf.Peek(n)
}

// Discard skips the next n bytes; fewer at the end of the input, with
// io.EOF.
func (s *source) Discard(n int) (int, error) {
	if s.m != nil {
		return s.m.discard(n)
	}
	return s.buf.Discard(n)
}

// Read reads into p, as io.Reader does.
func (s *source) Read(p []byte) (int, error) {
	if s.m != nil {
		return s.m.read(p)
	}
	return s.buf.Read(p)
}

// mapped is a regular file read through a window of it mapped into
// memory, slid forward as the reading goes on. Only the window is mapped,
// so the process's resident memory grows by the window, not by the file.
// The file's size is taken again when the reading reaches its end, so a
// file that grows while it is read (a capture still being written) reads
// on, as read(2) would.
type mapped struct {
	fd     uintptr
	size   int64  // the file's size when last taken
	win    []byte // the mapped window; nil when none
	winOff int64  // file offset of win[0], a multiple of the page size
	pos    int64  // file offset of the next unread byte
	sizeOf func() (int64, error)
}

// mapWindow is the size of the mapped window: at least a page more than
// the largest Peek (bufSize, a record with its header), so that any Peek
// fits in one window starting at the page of its first byte.
const mapWindow = 8 << 20

// end returns the file offset just past the window.
func (m *mapped) end() int64 { return m.winOff + int64(len(m.win)) }

func (m *mapped) peek(n int) ([]byte, error) {
	if m.pos+int64(n) > m.end() {
		if err := m.slide(n); err != nil {
			return nil, err
		}
	}
	b := m.win[m.pos-m.winOff:]
	if len(b) < n {
		return b, io.EOF
	}
	return b[:n], nil
}

func (m *mapped) discard(n int) (int, error) {
	if m.pos+int64(n) > m.size {
		if err := m.grow(); err != nil {
			return 0, err
		}
	}
	k := min(int64(n), m.size-m.pos)
	m.pos += k
	if k < int64(n) {
		return int(k), io.EOF
	}
	return n, nil
}

func (m *mapped) read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if m.pos >= m.end() {
		if err := m.slide(1); err != nil {
			return 0, err
		}
	}
	n := copy(p, m.win[m.pos-m.winOff:])
	if n == 0 {
		return 0, io.EOF
	}
	m.pos += int64(n)
	return n, nil
}

// grow takes the file's size again.
func (m *mapped) grow() error {
	size, err := m.sizeOf()
	if err != nil {
		return err
	}
	m.size = max(m.size, size)
	return nil
}

// slide maps the window that holds the n bytes from pos (or as many of
// them as the file has).
func (m *mapped) slide(n int) error {
	if m.pos+int64(n) > m.size {
		if err := m.grow(); err != nil {
			return err
		}
	}
	off := m.pos &^ (pageSize - 1)
	length := min(int64(mapWindow), m.size-off)
	if off == m.winOff && length == int64(len(m.win)) {
		return nil // the end of the file is mapped already
	}
	if err := m.unmap(); err != nil {
		return err
	}
	m.winOff = off
	if length <= 0 {
		return nil
	}
	win, err := mapFile(m.fd, off, int(length))
	if err != nil {
		return err
	}
	m.win = win
	return nil
}

// holds reports whether address a lies in the window.
func (m *mapped) holds(a uintptr) bool {
	if len(m.win) == 0 {
		return false
	}
	base := uintptr(unsafe.Pointer(unsafe.SliceData(m.win)))
	return a >= base && a-base < uintptr(len(m.win))
}

// unmap releases the window.
func (m *mapped) unmap() error {
	if m.win == nil {
		return nil
	}
	err := unmapFile(m.win)
	m.win = nil
	return err
}
