package reader

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/gzip" // same API as compress/gzip, about twice as fast
	"github.com/klauspost/compress/zstd"
)

// Frame is one captured frame. The Reader reuses the same Frame on every
// call to Next; copy what must outlive the next call.
type Frame struct {
	// The first 32 bytes are what the loss accounting reads of every
	// frame (loss.Batch keeps a copy of the Frame after 32 bytes of its
	// own: together they fill one cache line).
	Number      uint64          // 1-based, as Wireshark numbers frames (per file)
	TimestampNs int64           // nanoseconds since the Unix epoch, UTC; 0 for pcapng simple packet blocks, which carry none
	InterfaceID int             // global interface index (pcapng: across sections, in order of IDBs); 0 for pcap
	OrigLen     int             // bytes on the wire
	CapLen      int             // bytes captured (len(Data))
	LinkType    layers.LinkType // link type of the frame's interface
	// Data is owned by the Reader and valid until the next call to Next.
	Data []byte
	// DropCount is pcapng epb_dropcount (or the drops count of an obsolete
	// pcapng packet block): frames lost between the previous frame on the
	// same interface and this one. HasDropCount tells whether it was present.
	DropCount    uint64
	HasDropCount bool
	Offset       int64 // byte offset of the frame's record or block in the (decompressed) stream
}

// Format is the container format of a capture.
type Format int

// Formats the Reader understands.
const (
	FormatPcap Format = iota + 1
	FormatPcapng
)

// String returns "pcap" or "pcapng".
func (f Format) String() string {
	switch f {
	case FormatPcap:
		return "pcap"
	case FormatPcapng:
		return "pcapng"
	}
	return fmt.Sprintf("Format(%d)", int(f))
}

// Compression is the compression layer the Reader removed.
type Compression int

// Compressions recognised by their magic bytes.
const (
	CompressionNone Compression = iota
	CompressionGzip
	CompressionZstd
)

// String returns "none", "gzip" or "zstd".
func (c Compression) String() string {
	switch c {
	case CompressionNone:
		return "none"
	case CompressionGzip:
		return "gzip"
	case CompressionZstd:
		return "zstd"
	}
	return fmt.Sprintf("Compression(%d)", int(c))
}

// Interface describes one capture interface: the single implicit
// interface of a pcap file, or one pcapng Interface Description Block.
type Interface struct {
	ID          int             // global index, the Frame.InterfaceID of its frames
	Section     int             // 0-based pcapng section the interface belongs to; 0 for pcap
	LinkType    layers.LinkType // link-layer header type
	SnapLen     uint32          // snap length declared by the file (0: unlimited in pcapng)
	Name        string          // pcapng if_name, empty when absent
	Description string          // pcapng if_description, empty when absent
	// TimestampResolution uses the pcapng if_tsresol encoding: 6 for
	// microseconds (the default), 9 for nanoseconds, 0x80|n for 2^-n s.
	TimestampResolution uint8
	// TimestampOffsetSec is pcapng if_tsoffset, added to every timestamp.
	TimestampOffsetSec int64
}

// InterfaceStats holds the statistics pcapng Interface Statistics Blocks
// gave for one interface. Each counter is the value from the last block
// that carried it (counters are cumulative, and writers also emit blocks
// without some or all of them); counters never reported have their Has
// flag false. TimestampNs and Offset are those of the last block.
type InterfaceStats struct {
	InterfaceID int   // global interface index
	TimestampNs int64 // when the statistics were taken
	Offset      int64 // byte offset of the block in the decompressed stream

	Received       uint64 // isb_ifrecv: packets received by the interface
	Dropped        uint64 // isb_ifdrop: packets dropped by the interface (no buffers)
	FilterAccepted uint64 // isb_filteraccept: packets accepted by the capture filter
	OSDropped      uint64 // isb_osdrop: packets dropped by the operating system
	Delivered      uint64 // isb_usrdeliv: packets delivered to the capturing application
	StartNs, EndNs int64  // isb_starttime, isb_endtime

	HasReceived, HasDropped, HasFilterAccepted, HasOSDropped, HasDelivered bool
	HasStart, HasEnd                                                       bool
}

const (
	// bufSize is the read buffer over the decompressed stream. Large so that
	// the pcap hot path refills rarely; also the largest pcapng block the
	// reader accepts, since whole blocks are validated in place.
	bufSize = 1 << 20
	// readMax is the longest read asked of an uncompressed file: the
	// buffer is refilled a 64 KiB piece at a time, so the bytes the kernel
	// copies stay in the core's cache until they are decoded, and the rest
	// of the 1 MiB buffer, used only for long pcapng blocks, is not
	// written on every refill (docs/performance.md, "Round 3"). Not below
	// detectBufSize, which reads of the buffer's size or more bypass.
	readMax = 64 << 10
	// detectBufSize is the buffer over the raw file used to sniff the
	// compression magic. Reads larger than it bypass it.
	detectBufSize = 64 << 10
	// minRecordLimit is libpcap's MAXIMUM_SNAPLEN: records up to this length
	// are accepted whatever snap length the file declares, because writers
	// that do not truncate to their declared snap length exist and tcpdump
	// and Wireshark read their files.
	minRecordLimit = 262144
	// maxRecordLimit bounds the record length accepted from a file that
	// declares a huge snap length.
	maxRecordLimit = 16 << 20
	// zstdMaxWindow bounds the zstd window the reader accepts.
	zstdMaxWindow = 32 << 20
)

// Reader streams frames from one pcap or pcapng capture. It is not safe
// for concurrent use.
type Reader struct {
	name        string
	format      Format
	compression Compression

	file   *os.File // closed by Close when the Reader opened it
	zdec   *zstd.Decoder
	raw    countingReader // bytes read from the underlying (compressed) input
	detect *bufio.Reader  // over raw, sniffs compression magic
	stream countingReader // bytes of the decompressed stream
	src    *bufio.Reader  // over stream
	size   int64

	frame  Frame
	frames uint64
	err    error // sticky: io.EOF or a *FormatError

	pcap *pcapState
	ng   *ngState

	ifaces []Interface
	stats  []InterfaceStats // indexed by interface id; valid when statSeen
	seen   []bool
	anom   anomalies
}

// countingReader counts the bytes read through it.
type countingReader struct {
	r   io.Reader
	n   int64
	max int // longest read asked of r, if not 0
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.max > 0 && len(p) > c.max {
		p = p[:c.max]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Open opens the capture file name ("-" for standard input) and reads its
// header. Gzip and zstd compression are recognised by their magic bytes
// and removed transparently. Close the Reader to close the file.
func Open(name string) (*Reader, error) {
	if name == "-" {
		return newReader(os.Stdin, "-", nil)
	}
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	r, err := newReader(f, name, f)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

// NewReader reads a capture from r; name is used in error messages only.
// The caller keeps ownership of r; Close releases the Reader's own
// resources (the zstd decoder) but does not close r.
func NewReader(r io.Reader, name string) (*Reader, error) {
	return newReader(r, name, nil)
}

func newReader(in io.Reader, name string, owned *os.File) (*Reader, error) {
	r := &Reader{name: name, file: owned, size: -1}
	if f, ok := in.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
			r.size = st.Size()
		}
	}
	r.raw.r = in
	if owned != nil && r.size >= 0 {
		r.raw.r = fileReader(owned)
	}
	r.detect = bufio.NewReaderSize(&r.raw, detectBufSize)
	magic, err := r.detect.Peek(4)
	if err != nil && err != io.EOF {
		return nil, r.fail(0, err)
	}
	var stream io.Reader = r.detect
	switch {
	case len(magic) >= 2 && magic[0] == 0x1f && magic[1] == 0x8b:
		zr, err := gzip.NewReader(r.detect)
		if err != nil {
			return nil, r.fail(0, decompressCause("gzip", err))
		}
		stream = zr
		r.compression = CompressionGzip
	case len(magic) == 4 && binary.LittleEndian.Uint32(magic) == 0xFD2FB528:
		// One decoder goroutine: captures are read sequentially, and more
		// concurrency only buys memory. The decoder allocates the window a
		// frame header asks for up front (a 9-byte input can ask for 128
		// MiB), so the window is capped at 32 MiB: enough for every level
		// up to --ultra -20; files made with --long or -21/-22 fail with
		// "window size exceeded".
		zr, err := zstd.NewReader(r.detect, zstd.WithDecoderConcurrency(1), zstd.WithDecoderMaxWindow(zstdMaxWindow))
		if err != nil {
			return nil, r.fail(0, decompressCause("zstd", err))
		}
		r.zdec = zr
		stream = zr
		r.compression = CompressionZstd
	}
	r.stream.r = stream
	if r.compression == CompressionNone {
		r.stream.max = readMax
	}
	r.src = bufio.NewReaderSize(&r.stream, bufSize)

	head, err := r.src.Peek(4)
	if err != nil && err != io.EOF {
		r.closeDecoder()
		return nil, r.fail(0, r.readCause(err, "file header"))
	}
	switch {
	case len(head) < 4:
		r.closeDecoder()
		return nil, r.fail(0, newCause(ErrTruncated, "file of %d bytes is too short for a capture header", len(head)))
	case isPcapMagic(head):
		r.format = FormatPcap
		err = r.openPcap()
	case binary.LittleEndian.Uint32(head) == ngSectionHeader:
		r.format = FormatPcapng
		err = r.openPcapng()
	default:
		err = r.fail(0, newCause(ErrUnknownFormat, "magic %#08x is neither pcap nor pcapng", binary.BigEndian.Uint32(head)))
	}
	if err != nil {
		r.closeDecoder()
		return nil, err
	}
	return r, nil
}

// decompressCause wraps an error from a decompressor: a cut-off stream is
// ErrTruncated, anything else keeps the decompressor's own error.
func decompressCause(kind string, err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) {
		return &causeError{msg: kind + " stream cut short", sentinel: ErrTruncated, cause: err}
	}
	return fmt.Errorf("%s: %w", kind, err)
}

// readCause turns an error from the decompressed stream (other than a
// clean io.EOF) into the cause of a FormatError.
func (r *Reader) readCause(err error, what string) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || err == io.EOF {
		return &causeError{msg: what + " cut short", sentinel: ErrTruncated, cause: io.ErrUnexpectedEOF}
	}
	switch r.compression {
	case CompressionGzip:
		return decompressCause("gzip", err)
	case CompressionZstd:
		return decompressCause("zstd", err)
	}
	return fmt.Errorf("reading %s: %w", what, err)
}

// fail builds the FormatError for damage at byte offset off and makes it
// sticky. A cause that already is a *FormatError keeps its offset.
func (r *Reader) fail(off int64, cause error) error {
	var fe *FormatError
	if errors.As(cause, &fe) {
		off, cause = fe.Offset, fe.Err
	}
	e := &FormatError{File: r.name, Frame: r.frames + 1, Offset: off, FramesRead: r.frames, Err: cause}
	r.err = e
	return e
}

// Next returns the next frame, or io.EOF after the last one. The returned
// *Frame and its Data are reused by the following call. After an error
// every later call returns the same error.
func (r *Reader) Next() (*Frame, error) {
	if r.err != nil {
		return nil, r.err
	}
	if r.pcap != nil {
		return r.nextPcap()
	}
	return r.nextPcapng()
}

// Interfaces returns the interfaces described so far: one for a pcap file,
// every Interface Description Block read up to the last frame for pcapng
// (all of them once Next returned io.EOF). The slice is shared; do not
// modify it.
func (r *Reader) Interfaces() []Interface { return r.ifaces }

// Stats returns, for each interface that had one, the Interface
// Statistics read so far (merged across blocks, see InterfaceStats), in
// interface order. All of a file's
// statistics are known once Next has returned io.EOF; pcapng writers put
// them at the end. The slice is freshly allocated.
func (r *Reader) Stats() []InterfaceStats {
	var out []InterfaceStats
	for i, ok := range r.seen {
		if ok {
			out = append(out, r.stats[i])
		}
	}
	return out
}

// Format returns the capture's container format.
func (r *Reader) Format() Format { return r.format }

// Compression returns the compression layer removed from the input.
func (r *Reader) Compression() Compression { return r.compression }

// Name returns the name the Reader was opened with.
func (r *Reader) Name() string { return r.name }

// FramesRead returns the number of frames returned so far.
func (r *Reader) FramesRead() uint64 { return r.frames }

// BytesRead returns how many bytes of the underlying input, compressed or
// not, have been consumed so far (read-ahead buffering makes it run ahead
// of the last frame by at most a few MiB). Compare with Size for progress.
func (r *Reader) BytesRead() int64 { return r.raw.n - int64(r.detect.Buffered()) }

// Size returns the size of the underlying input in bytes when it is a
// regular file, and -1 otherwise (pipes, standard input, plain readers).
func (r *Reader) Size() int64 { return r.size }

// Close releases the decompressor and closes the file if Open opened it
// (standard input is left open). Close does not close a reader passed
// to NewReader.
func (r *Reader) Close() error {
	r.closeDecoder()
	if r.err == nil {
		r.err = errors.New("reader: Next after Close")
	}
	if r.file != nil {
		f := r.file
		r.file = nil
		return f.Close()
	}
	return nil
}

// offset returns the position of the next unread byte of the decompressed
// stream: bytes pulled through the counter minus those still buffered.
func (r *Reader) offset() int64 { return r.stream.n - int64(r.src.Buffered()) }

func (r *Reader) addInterface(ifc Interface) {
	r.ifaces = append(r.ifaces, ifc)
	r.stats = append(r.stats, InterfaceStats{})
	r.seen = append(r.seen, false)
}

// setStats merges an Interface Statistics Block into what is known of
// its interface. The counters are cumulative, so a later block that omits
// a counter (writers emit option-less blocks too) says nothing about it:
// each counter keeps the value of the last block that carried it, while
// TimestampNs and Offset come from the last block.
func (r *Reader) setStats(s InterfaceStats) {
	if s.InterfaceID < 0 || s.InterfaceID >= len(r.stats) {
		return
	}
	old := &r.stats[s.InterfaceID]
	if r.seen[s.InterfaceID] {
		if !s.HasReceived {
			s.Received, s.HasReceived = old.Received, old.HasReceived
		}
		if !s.HasDropped {
			s.Dropped, s.HasDropped = old.Dropped, old.HasDropped
		}
		if !s.HasFilterAccepted {
			s.FilterAccepted, s.HasFilterAccepted = old.FilterAccepted, old.HasFilterAccepted
		}
		if !s.HasOSDropped {
			s.OSDropped, s.HasOSDropped = old.OSDropped, old.HasOSDropped
		}
		if !s.HasDelivered {
			s.Delivered, s.HasDelivered = old.Delivered, old.HasDelivered
		}
		if !s.HasStart {
			s.StartNs, s.HasStart = old.StartNs, old.HasStart
		}
		if !s.HasEnd {
			s.EndNs, s.HasEnd = old.EndNs, old.HasEnd
		}
	}
	*old = s
	r.seen[s.InterfaceID] = true
}

func (r *Reader) closeDecoder() {
	if r.zdec != nil {
		r.zdec.Close()
		r.zdec = nil
	}
}
