package reader

import (
	"io"
	"math/bits"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// nowaitFile reads a regular file that Open opened, at its own offset,
// with preadv2(RWF_NOWAIT) made as a raw system call: a read the page
// cache can serve at once (a capture read again, or just written) does
// not tell the Go scheduler it entered a system call. Through os.File a
// read of 64 KiB out of the page cache takes 10 to 20 µs, long enough for
// the runtime's monitor to take the goroutine's processor away and hand
// it to another thread, and back when the call returns: with both of
// `gapan report`'s goroutines busy, a thread switch at almost every read
// (11,300 context switches in a run of the 1.25 GB uniform bench capture,
// 2,900 with this) and the two goroutines' threads trading cores and caches.
// A read the page cache cannot serve at once (RWF_NOWAIT's EAGAIN: the
// data is on disk) goes through os.File.ReadAt, which blocks as any read
// does; so does every read after the kernel refuses the flag (before
// Linux 4.14, or a file system without it).
type nowaitFile struct {
	f      *os.File
	fd     uintptr
	off    int64
	nowait bool
	waited int // reads that went through ReadAt (for the tests)
}

// fileReader returns the reader Open reads the regular file f with.
func fileReader(f *os.File) io.Reader {
	off, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return f
	}
	rc, err := f.SyscallConn()
	if err != nil {
		return f
	}
	r := &nowaitFile{f: f, off: off, nowait: true}
	// The descriptor stays valid while f is open: the Reader closes f
	// only in Close, after its last read.
	if rc.Control(func(fd uintptr) { r.fd = fd }) != nil {
		return f
	}
	return r
}

func (r *nowaitFile) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	if r.nowait {
		n, e := r.preadNowait(p)
		switch e {
		case 0:
			if n == 0 {
				return 0, io.EOF
			}
			r.off += int64(n)
			return n, nil
		case unix.EAGAIN:
		default:
			// EOPNOTSUPP, EINVAL, ENOSYS: no RWF_NOWAIT here. A real
			// error comes back from ReadAt below.
			r.nowait = false
		}
	}
	r.waited++
	n, err := r.f.ReadAt(p, r.off)
	r.off += int64(n)
	if n > 0 && err == io.EOF {
		err = nil // as Read: the end is reported by the next call
	}
	return n, err
}

// preadNowait reads into p from r.off with preadv2(RWF_NOWAIT), again
// when a signal interrupts it.
func (r *nowaitFile) preadNowait(p []byte) (int, unix.Errno) {
	iov := unix.Iovec{Base: &p[0]}
	iov.SetLen(len(p))
	lo, hi := uintptr(r.off), uintptr(uint64(r.off)>>(bits.UintSize-1)>>1)
	for {
		n, _, e := unix.RawSyscall6(unix.SYS_PREADV2, r.fd, uintptr(unsafe.Pointer(&iov)), 1, lo, hi, unix.RWF_NOWAIT)
		if e != unix.EINTR {
			return int(n), e
		}
	}
}
