package reader

import (
	"errors"
	"fmt"
)

// Sentinel errors wrapped by FormatError. Test for them with errors.Is.
var (
	// ErrUnknownFormat means the input is neither pcap nor pcapng (after
	// any gzip or zstd layer was removed).
	ErrUnknownFormat = errors.New("reader: unknown capture format")
	// ErrUnsupportedVersion means a pcap file header or pcapng section
	// header carries a version this reader cannot read (pcap major 1, for
	// example).
	ErrUnsupportedVersion = errors.New("reader: unsupported format version")
	// ErrTruncated means the input ends in the middle of a file header,
	// record or block.
	ErrTruncated = errors.New("reader: capture truncated")
	// ErrRecordTooLarge means a record or block length field exceeds the
	// limit the reader accepts; such lengths come from corrupt files, and
	// the reader refuses them instead of allocating for them.
	ErrRecordTooLarge = errors.New("reader: record too large")
	// ErrBadBlock means a pcapng block is malformed: bad length, trailer
	// that does not match the header, option running past the block, an
	// unknown interface id and the like.
	ErrBadBlock = errors.New("reader: malformed pcapng block")
	// ErrTooManyInterfaces means a pcapng file describes more than
	// MaxInterfaces interfaces: each costs memory in the reader and in
	// every consumer, so a hostile file of nothing but Interface
	// Description Blocks would otherwise take gigabytes.
	ErrTooManyInterfaces = errors.New("reader: too many interfaces")
)

// MaxInterfaces is the number of interfaces (Interface Description
// Blocks, over all sections) a pcapng file may describe. Each costs about
// 1.4 KB in the reader and the outputs (annotate reads an input
// twice): at this many every command stays within 100 MB.
const MaxInterfaces = 1 << 13

// FormatError reports damaged or unreadable capture input and where it
// happened. Frame is the number of the frame being read when the damage
// was found (FramesRead+1, also for damage in a file or section header);
// Offset is the byte offset, in the decompressed stream, of the record or
// block that could not be read (of the version field for an unsupported
// pcap version, 0 for other file header damage). Err is the cause and wraps
// one of the package's sentinel errors or the error of the layer below
// (a gzip checksum error, a read error).
type FormatError struct {
	File       string
	Frame      uint64
	Offset     int64
	FramesRead uint64
	Err        error
}

// Error reads like
// "capture.pcap: frame 19 at byte offset 3695: record length 3925868813
// exceeds snap length 65535 (18 frames read)".
func (e *FormatError) Error() string {
	return fmt.Sprintf("%s: frame %d at byte offset %d: %v (%d frames read)", e.File, e.Frame, e.Offset, e.Err, e.FramesRead)
}

// Unwrap returns the cause.
func (e *FormatError) Unwrap() error { return e.Err }

// causeError pairs a human readable message with a sentinel so that the
// message reads naturally ("record length 3925868813 exceeds snap length
// 65535") while errors.Is still finds the sentinel.
type causeError struct {
	msg      string
	sentinel error
	cause    error // optional lower-level error (io.ErrUnexpectedEOF, gzip errors)
}

func (e *causeError) Error() string {
	if e.cause != nil {
		return e.msg + ": " + e.cause.Error()
	}
	return e.msg
}

func (e *causeError) Unwrap() []error {
	if e.cause != nil {
		return []error{e.sentinel, e.cause}
	}
	return []error{e.sentinel}
}

func newCause(sentinel error, format string, args ...any) error {
	return &causeError{msg: fmt.Sprintf(format, args...), sentinel: sentinel}
}
