// Package filekind tells, from its first bytes, what kind of file gapan was
// given: a capture (pcap, pcapng, possibly gzip- or zstd-compressed), a gap
// sidecar (binary or gapan's text form), or something else. Commands use
// it to recognise a sidecar where a capture was expected and the reverse,
// and to pick the captures out of a directory; the readers themselves do
// not depend on it.
//
//	k, err := filekind.OfFile("capture.pcap.gz")
//	if k.IsCapture() { ... }
package filekind

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"

	"github.com/klauspost/compress/zstd"
)

// Kind is what a file holds.
type Kind int

// Kinds of file.
const (
	Unknown     Kind = iota // none of the below (text, an empty file, ...)
	Pcap                    // a pcap capture (any byte order, micro- or nanosecond)
	Pcapng                  // a pcapng capture
	Sidecar                 // a binary gap sidecar
	SidecarText             // a gap sidecar in gapan's text form (it starts "# gapan-sidecar-text")
	Gzip                    // gzip-compressed, of unknown content
	Zstd                    // zstd-compressed, of unknown content
)

// String names the kind in messages.
func (k Kind) String() string {
	switch k {
	case Pcap:
		return "pcap capture"
	case Pcapng:
		return "pcapng capture"
	case Sidecar:
		return "gap sidecar"
	case SidecarText:
		return "gap sidecar (text form)"
	case Gzip:
		return "gzip-compressed file"
	case Zstd:
		return "zstd-compressed file"
	}
	return "unknown"
}

// IsCapture reports whether k is a capture.
func (k Kind) IsCapture() bool { return k == Pcap || k == Pcapng }

// IsSidecar reports whether k is a gap sidecar, binary or text.
func (k Kind) IsSidecar() bool { return k == Sidecar || k == SidecarText }

// PrefixLen is how many leading bytes Of needs to tell every kind apart.
const PrefixLen = 20

// The leading bytes of each kind. They are the formats' own magic numbers
// (pcap: the four byte orders of the micro- and nanosecond magics; pcapng:
// the Section Header Block type; the sidecar: sidecar.Magic, repeated here
// so that this package imports no reader).
var (
	pcapMagics = [][]byte{
		{0xd4, 0xc3, 0xb2, 0xa1}, {0xa1, 0xb2, 0xc3, 0xd4}, // microseconds
		{0x4d, 0x3c, 0xb2, 0xa1}, {0xa1, 0xb2, 0x3c, 0x4d}, // nanoseconds
	}
	pcapngMagic  = []byte{0x0a, 0x0d, 0x0d, 0x0a}
	sidecarMagic = []byte{0x89, 'G', 'A', 'P', '\r', '\n', 0x1a, '\n'}
	textMagic    = []byte("# gapan-sidecar-text")
	gzipMagic    = []byte{0x1f, 0x8b}
	zstdMagic    = []byte{0x28, 0xb5, 0x2f, 0xfd}
)

// Of returns the kind of a file that starts with prefix (PrefixLen bytes,
// or the whole file when it is shorter). Compressed content is not looked
// into: see OfFile.
func Of(prefix []byte) Kind {
	for _, m := range pcapMagics {
		if bytes.HasPrefix(prefix, m) {
			return Pcap
		}
	}
	switch {
	case bytes.HasPrefix(prefix, pcapngMagic):
		return Pcapng
	case bytes.HasPrefix(prefix, sidecarMagic):
		return Sidecar
	case bytes.HasPrefix(prefix, textMagic):
		return SidecarText
	case bytes.HasPrefix(prefix, gzipMagic):
		return Gzip
	case bytes.HasPrefix(prefix, zstdMagic):
		return Zstd
	}
	return Unknown
}

// OfFile returns the kind of the file at path, looking through gzip and
// zstd compression: a compressed capture is Pcap or Pcapng, compressed
// content of another kind stays Gzip or Zstd. It reads a few bytes only
// (the first PrefixLen after decompression); path should be a regular
// file, since what it reads from a pipe is gone.
func OfFile(path string) (Kind, error) {
	f, err := os.Open(path)
	if err != nil {
		return Unknown, err
	}
	defer f.Close()
	k, err := of(f)
	if err != nil {
		return Unknown, err
	}
	if k != Gzip && k != Zstd {
		return k, nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return k, err
	}
	var dec io.Reader
	if k == Gzip {
		zr, err := gzip.NewReader(f)
		if err != nil {
			return k, nil // damaged: not something gapan reads
		}
		defer zr.Close()
		dec = zr
	} else {
		zr, err := zstd.NewReader(f, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxMemory(64<<20))
		if err != nil {
			return k, nil
		}
		defer zr.Close()
		dec = zr
	}
	inner, err := of(dec)
	if err != nil || !inner.IsCapture() {
		return k, nil
	}
	return inner, nil
}

// of returns the kind of the data r starts with; a read error other than
// the data being shorter than PrefixLen is returned.
func of(r io.Reader) (Kind, error) {
	var b [PrefixLen]byte
	n, err := io.ReadFull(r, b[:])
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return Unknown, err
	}
	return Of(b[:n]), nil
}
