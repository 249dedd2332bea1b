package sidecar

import (
	"errors"
	"fmt"
	"hash/crc32"
	"io/fs"
	"os"
	"strconv"
	"strings"

	"github.com/gapan/gapan/internal/plural"
)

// Version is the binary format version this package writes and reads.
const Version = 1

// Magic is the first eight bytes of every binary sidecar. Like PNG's
// signature it starts with a non-ASCII byte and contains CR LF, ^Z and LF, so
// a file mangled by a text-mode transfer fails the magic check instead of
// being misread, and it can never be confused with the text form (whose
// lines start with '#' or a digit).
var Magic = [8]byte{0x89, 'G', 'A', 'P', '\r', '\n', 0x1a, '\n'}

// Limits that bound every length field, so that damaged input cannot make a
// reader allocate more than MaxBlockPayload bytes.
const (
	// MaxHeaderLen is the largest header length a reader accepts.
	MaxHeaderLen = 4096
	// MaxToolLen is the largest tool string, in bytes.
	MaxToolLen = 1024
	// MaxBlockPayload is the largest block payload, in bytes.
	MaxBlockPayload = 1 << 20
	// DefaultBlockRecords is how many records the Writer buffers before it
	// emits a records block on its own.
	DefaultBlockRecords = 4096
	// maxBlockRecords keeps a full block under MaxBlockPayload even when
	// every varint takes its maximum 10 bytes.
	maxBlockRecords = (MaxBlockPayload - 4) / 20
)

// Fixed layout constants (see docs/sidecar.md).
const (
	headerFixedLen = 48 // bytes before the tool string
	minHeaderLen   = headerFixedLen + 4
	blockHeadLen   = 9 // type(1) + length(4) + head CRC(4)
	blockCRCLen    = 4

	blockRecords byte = 0x01
	blockTrailer byte = 0x02
	// Block types with the high bit set are ancillary: a reader that does
	// not know one verifies its checksums and skips it.
	blockAncillary byte = 0x80

	flagIdentityKnown byte = 0x01
	flagKernel        byte = 0x01
)

var castagnoli = crc32.MakeTable(crc32.Castagnoli)

// Checksum returns the CRC32C (Castagnoli) of b, the checksum used for every
// header and block and for Identity.FirstFrameCRC.
func Checksum(b []byte) uint32 { return crc32.Checksum(b, castagnoli) }

// Sentinel errors. Errors returned by this package wrap one or more of these;
// test for them with errors.Is.
var (
	// ErrBadMagic means the input does not start with Magic.
	ErrBadMagic = errors.New("sidecar: not a gap sidecar (bad magic)")
	// ErrVersion means the file needs a newer reader (format version or a
	// critical block type this reader does not know).
	ErrVersion = errors.New("sidecar: unsupported version")
	// ErrChecksum means a CRC32C did not match: the bytes were damaged.
	ErrChecksum = errors.New("sidecar: checksum mismatch")
	// ErrUnsorted means a frame number was not greater than the previous
	// one (or was 0), or tail interfaces were not strictly increasing.
	ErrUnsorted = errors.New("sidecar: frame numbers not strictly increasing")
	// ErrZeroGap means a record had gap 0; records exist only for loss.
	ErrZeroGap = errors.New("sidecar: zero gap")
	// ErrNoTrailer means the input ended without a trailer: the writer did
	// not close cleanly. Records read before it are valid; callers usually
	// treat this as a warning.
	ErrNoTrailer = errors.New("sidecar: missing trailer (writer did not close cleanly)")
	// ErrTruncated means the input ended in the middle of the header or of
	// a block. It is always reported together with ErrNoTrailer when it
	// happens after the header.
	ErrTruncated = errors.New("sidecar: truncated")
	// ErrMalformed means a structural error that is not a checksum mismatch:
	// a bad length, varint, count, reserved field, trailing data, or a text
	// line that does not parse.
	ErrMalformed = errors.New("sidecar: malformed")
	// ErrClosed is returned by Writer methods after Close.
	ErrClosed = errors.New("sidecar: writer closed")
	// ErrImplausible means a count (a gap, their sum, a tail or a kernel
	// counter) is beyond MaxLost: no capture loses that many frames, so
	// the file is damaged or forged, and summing such counts could wrap.
	ErrImplausible = errors.New("sidecar: implausible count")
	// ErrEmpty means the sidecar file is empty (0 bytes): the recorder
	// stopped before writing its header, so nothing is known of the loss.
	ErrEmpty = errors.New("empty sidecar: the recorder stopped before writing its header")
)

// ErrIsCapture means a file given as a sidecar is a packet capture (or a
// compressed file); CaptureGivenError wraps it.
var ErrIsCapture = errors.New("sidecar: a packet capture, not a gap sidecar")

// CaptureGivenError is returned for a packet capture read as a sidecar
// (the user named the capture where its sidecar was wanted).
type CaptureGivenError struct {
	File string // the file read as a sidecar
	Kind string // what it is: "pcap capture", "pcapng capture", "gzip-compressed file", ...
	// Sidecar is the sidecar of File (Find) when it exists, "" otherwise.
	Sidecar string
	// Named says File was named as a capture's sidecar
	// (join.Options.Sidecars, the commands' --sidecar) rather than read
	// as a sidecar on its own; the join sets it.
	Named bool
}

func (e *CaptureGivenError) Error() string {
	msg := fmt.Sprintf("%s is a %s, not a gap sidecar", e.File, e.Kind)
	if e.Sidecar != "" {
		msg += "; its sidecar is " + e.Sidecar
	}
	return msg
}

// Unwrap returns ErrIsCapture.
func (e *CaptureGivenError) Unwrap() error { return ErrIsCapture }

// MaxLost bounds every count a sidecar may hold: a gap, the sum of a file's
// gaps, a tail, the sum of its tails and the kernel's packet and drop
// counters are each at most 2⁴⁸ (a year at 8.9 million frames a second).
// Readers reject larger values (ErrImplausible) and writers refuse them,
// so sums of counts that passed can never wrap around 2⁶⁴.
const MaxLost = 1 << 48

// checkCount returns an error wrapping ErrImplausible when v is beyond
// MaxLost; what names the count in the message.
func checkCount(what string, v uint64) error {
	if v > MaxLost {
		return fmt.Errorf("%w: %s %d is beyond %d (2^48)", ErrImplausible, what, v, uint64(MaxLost))
	}
	return nil
}

// checkGap applies checkCount to a record's gap and to the sum of the gaps
// up to it (sum, without the gap). It formats nothing unless a count is
// beyond the bound: it runs for every record.
func checkGap(frame, gap, sum uint64) error {
	if gap > MaxLost {
		return checkCount(fmt.Sprintf("gap before frame %d", frame), gap)
	}
	if sum+gap > MaxLost {
		return checkCount(fmt.Sprintf("sum of the gaps up to frame %d", frame), sum+gap)
	}
	return nil
}

// checkTrailer applies checkCount to every count of t.
func checkTrailer(t Trailer) error {
	var sum uint64
	for _, g := range t.Tail {
		if err := checkCount(fmt.Sprintf("tail of interface %d", g.Interface), g.Lost); err != nil {
			return err
		}
		sum += g.Lost
		if err := checkCount("sum of the tails", sum); err != nil {
			return err
		}
	}
	if t.HasKernel {
		if err := checkCount("kernel packet count", t.KernelPackets); err != nil {
			return err
		}
		if err := checkCount("kernel drop count", t.KernelDrops); err != nil {
			return err
		}
	}
	return nil
}

// FormatError reports damaged or invalid sidecar input and where it is.
type FormatError struct {
	File   string // file name given to the reader; may be empty
	Offset int64  // byte offset of the damaged header, block or record
	Record uint64 // number of records successfully read before the error
	Line   int    // 1-based line number for the text form; 0 for binary
	Err    error  // wraps one or more sentinel errors
}

func (e *FormatError) Error() string {
	name := e.File
	if name == "" {
		name = "<sidecar>"
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %v", name, e.Line, e.Err)
	}
	if e.Record == 0 {
		return fmt.Sprintf("%s: at byte %d (%#x): %v", name, e.Offset, e.Offset, e.Err)
	}
	return fmt.Sprintf("%s: at byte %d (%#x), after %s: %v", name, e.Offset, e.Offset, plural.Count(e.Record, "record"), e.Err)
}

// Unwrap returns the underlying error.
func (e *FormatError) Unwrap() error { return e.Err }

// Record says that Gap frames were lost on frame Frame's interface between the
// previous frame on that interface and Frame (pcapng epb_dropcount semantics).
// Frame is 1-based as Wireshark numbers frames. Gap is always > 0 and Frame
// strictly increases from record to record.
type Record struct {
	Frame uint64
	Gap   uint64
}

// Source says where a sidecar's loss counts came from.
type Source uint8

// Known sources. Other values round-trip unchanged but print as numbers.
const (
	SourceUnknown   Source = 0 // not stated
	SourceKernel    Source = 1 // kernel drop counter (e.g. SO_RXQ_OVFL, PACKET_STATISTICS)
	SourcePcapng    Source = 2 // pcapng epb_dropcount
	SourceSimulated Source = 3 // written by a loss simulator: exact ground truth
	SourceInferred  Source = 4 // inferred from protocol sequence numbers
	SourceImported  Source = 5 // imported from the text form of another tool
)

var sourceNames = [...]string{"unknown", "kernel", "pcapng", "simulated", "inferred", "imported"}

// String returns the source's name as used in the text form.
func (s Source) String() string {
	if int(s) < len(sourceNames) {
		return sourceNames[s]
	}
	return strconv.Itoa(int(s))
}

// ParseSource parses a name returned by Source.String or a decimal 0–255.
func ParseSource(s string) (Source, error) {
	for i, n := range sourceNames {
		if s == n {
			return Source(i), nil
		}
	}
	v, err := strconv.ParseUint(s, 10, 8)
	if err != nil {
		return 0, fmt.Errorf("%w: unknown source %q", ErrMalformed, s)
	}
	return Source(v), nil
}

// Identity identifies the capture a sidecar belongs to, so that a sidecar
// paired with the wrong capture can be detected. Known is false when the
// sidecar was made without its capture (e.g. imported from text); the other
// fields are then not meaningful. For a capture with no frames, FirstFrameNs
// and FirstFrameCRC are 0.
type Identity struct {
	Known         bool
	LinkType      uint32 // pcap/pcapng LINKTYPE_ of the first frame's interface
	SnapLen       uint32 // snapshot length of the capture, in bytes
	FirstFrameNs  int64  // first frame's timestamp, nanoseconds since the Unix epoch, UTC
	FirstFrameCRC uint32 // Checksum of the first frame's captured bytes
}

// Header is the sidecar's file header. Tool must be valid UTF-8 without
// control characters or leading/trailing blanks.
type Header struct {
	Source    Source
	Identity  Identity
	CreatedNs int64  // when the sidecar was created, nanoseconds since the Unix epoch
	Tool      string // what wrote it, e.g. "gapan-record 0.1"; at most MaxToolLen bytes of printable UTF-8
}

// InterfaceGap is a tail gap: frames lost on Interface after the last frame
// on that interface. Interface is the capture's interface index (0 for pcap).
type InterfaceGap struct {
	Interface uint32
	Lost      uint64
}

// Trailer holds the totals written when a Writer is closed cleanly.
type Trailer struct {
	// Frames is the number of frames written to the capture. 0 with records
	// present means "unknown" (only text imports do that).
	Frames uint64
	// Tail holds the loss after the last frame of each interface, sorted by
	// Interface with no duplicates.
	Tail []InterfaceGap
	// HasKernel says whether KernelPackets and KernelDrops are known; they
	// are the kernel's own totals (e.g. PACKET_STATISTICS tp_packets and
	// tp_drops summed over the capture). When HasKernel is false they are
	// not stored and read back as 0.
	HasKernel     bool
	KernelPackets uint64
	KernelDrops   uint64
}

// TailTotal returns the sum of the tail gaps of all interfaces.
func (t Trailer) TailTotal() uint64 {
	var n uint64
	for _, g := range t.Tail {
		n += g.Lost
	}
	return n
}

// PathFor returns the conventional sidecar path for a capture: the capture's
// name with ".gaps" appended (capture.pcap → capture.pcap.gaps). It is the
// name writers give a sidecar; readers look at every name of Candidates.
func PathFor(capture string) string { return capture + ".gaps" }

// compressedSuffixes are the compression suffixes Candidates strips: a
// capture compressed after it was recorded keeps its sidecar's name.
var compressedSuffixes = []string{".gz", ".zst", ".zstd"}

// Candidates returns the paths where the sidecar of capture may be, in the
// order they are tried: PathFor(capture), then, for a compressed capture
// (.gz, .zst, .zstd), the uncompressed capture's name with ".gaps"
// (d.pcap.gz → d.pcap.gz.gaps, then d.pcap.gaps).
func Candidates(capture string) []string {
	c := []string{PathFor(capture)}
	for _, suf := range compressedSuffixes {
		if base, ok := strings.CutSuffix(capture, suf); ok && base != "" {
			c = append(c, PathFor(base))
		}
	}
	return c
}

// Find returns the first of Candidates(capture) that exists, and true; or
// PathFor(capture) and false when none does.
func Find(capture string) (string, bool) {
	for _, p := range Candidates(capture) {
		if _, err := os.Stat(p); !errors.Is(err, fs.ErrNotExist) {
			return p, true // there, or unreadable: opening it says why
		}
	}
	return PathFor(capture), false
}

func validTool(s string) error {
	if len(s) > MaxToolLen {
		return fmt.Errorf("%w: tool string is %d bytes, max %d", ErrMalformed, len(s), MaxToolLen)
	}
	if strings.TrimSpace(s) != s {
		return fmt.Errorf("%w: tool string %q has leading or trailing blanks", ErrMalformed, s)
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == 0xfffd {
			return fmt.Errorf("%w: tool string %q has a control or invalid character", ErrMalformed, s)
		}
	}
	return nil
}

func validTail(tail []InterfaceGap) error {
	for i := 1; i < len(tail); i++ {
		if tail[i].Interface <= tail[i-1].Interface {
			return fmt.Errorf("%w: tail interface %d after %d", ErrUnsorted, tail[i].Interface, tail[i-1].Interface)
		}
	}
	return nil
}

// ErrIdentity means a sidecar's identity does not match the capture it was
// paired with.
var ErrIdentity = errors.New("sidecar: sidecar belongs to a different capture")

// IdentityError is the identity mismatch Identity.Check finds.
type IdentityError struct {
	Detail string // the first field that differs: "snaplen 262144, capture has 65535"
}

func (e *IdentityError) Error() string {
	return "sidecar belongs to a different capture: " + e.Detail
}

// Unwrap returns ErrIdentity.
func (e *IdentityError) Unwrap() error { return ErrIdentity }

// IdentityOf builds the Identity of a capture from its link type, snapshot
// length and first frame (timestamp and captured bytes). Pass firstData nil
// and firstNs 0 for a capture without frames.
func IdentityOf(linkType, snapLen uint32, firstNs int64, firstData []byte) Identity {
	id := Identity{Known: true, LinkType: linkType, SnapLen: snapLen, FirstFrameNs: firstNs}
	if firstData != nil {
		id.FirstFrameCRC = Checksum(firstData)
	}
	return id
}

// Check compares the identity recorded in a sidecar (id) with that of the
// capture it is paired with. It returns nil if either is unknown or they
// match, and otherwise an *IdentityError (wrapping ErrIdentity) naming the first field
// that differs.
func (id Identity) Check(capture Identity) error {
	if !id.Known || !capture.Known {
		return nil
	}
	switch {
	case id.LinkType != capture.LinkType:
		return &IdentityError{fmt.Sprintf("link type %d, capture has %d", id.LinkType, capture.LinkType)}
	case id.SnapLen != capture.SnapLen:
		return &IdentityError{fmt.Sprintf("snaplen %d, capture has %d", id.SnapLen, capture.SnapLen)}
	case id.FirstFrameNs != capture.FirstFrameNs:
		return &IdentityError{fmt.Sprintf("first frame at %d ns, capture's is at %d ns", id.FirstFrameNs, capture.FirstFrameNs)}
	case id.FirstFrameCRC != capture.FirstFrameCRC:
		return &IdentityError{fmt.Sprintf("first frame CRC32C 0x%08x, capture's is 0x%08x", id.FirstFrameCRC, capture.FirstFrameCRC)}
	}
	return nil
}
