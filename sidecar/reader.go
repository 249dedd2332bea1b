package sidecar

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// Reader reads a binary sidecar record by record in bounded memory (one
// block, at most MaxBlockPayload bytes).
//
// Next returns records in file order and io.EOF after a valid trailer. At a
// file that ends without a trailer it returns a *FormatError wrapping
// ErrNoTrailer (and ErrTruncated if the file was cut inside a block) whose
// Offset is where the valid prefix ends; all records before it were returned
// and are valid, so callers usually report it as a warning. Any other error
// (checksum, structure) is reported once and then returned again by every
// later call.
type Reader struct {
	r    *bufio.Reader
	name string
	hdr  Header

	off      int64  // offset of the next unread byte of the stream
	blk      []byte // payload of the current records block
	blockOff int64  // offset of the current block
	pos      int    // next unread byte in blk
	left     uint32 // records left in the current block

	prev    uint64 // frame of the last record returned
	n       uint64 // records returned
	lost    uint64 // sum of gaps returned, mod 2^64
	trailer Trailer
	done    bool // trailer read
	err     error

	// Ancillary blocks this reader knows (inferred.go).
	brackets  []Bracket
	totals    InferredTotals
	hasTotals bool
	skipKnown bool // tests: skip them as a reader that does not know them
}

// NewReader reads and checks the header from r. See NewReaderName.
func NewReader(r io.Reader) (*Reader, error) { return NewReaderName(r, "") }

// NewReaderName reads and checks the header from r; name is used in error
// messages (FormatError.File). Errors wrap ErrBadMagic, ErrVersion,
// ErrChecksum, ErrTruncated or ErrMalformed. The caller owns r.
func NewReaderName(r io.Reader, name string) (*Reader, error) {
	sr := &Reader{r: bufio.NewReaderSize(r, 64<<10), name: name}
	if err := sr.readHeader(); err != nil {
		return nil, err
	}
	return sr, nil
}

// Header returns the file header.
func (r *Reader) Header() Header { return r.hdr }

// Trailer returns the trailer and true once Next has returned io.EOF after
// a valid trailer; before that, or for a file without one, it returns false.
func (r *Reader) Trailer() (Trailer, bool) {
	if !r.done {
		return Trailer{}, false
	}
	return r.trailer, true
}

// Records returns the number of records returned by Next so far.
func (r *Reader) Records() uint64 { return r.n }

// Offset returns the byte offset up to which the input has been read and
// verified.
func (r *Reader) Offset() int64 { return r.off }

// cutError is a file cut inside a block: ErrTruncated and ErrNoTrailer,
// said once ("sidecar: truncated: sidecar: missing trailer" named the
// package twice).
type cutError string

func (e cutError) Error() string {
	return "sidecar: truncated, missing trailer (writer did not close cleanly): " + string(e)
}

// Unwrap returns ErrTruncated and ErrNoTrailer.
func (e cutError) Unwrap() []error { return []error{ErrTruncated, ErrNoTrailer} }

func (r *Reader) fail(off int64, err error) error {
	r.err = &FormatError{File: r.name, Offset: off, Record: r.n, Err: err}
	return r.err
}

func (r *Reader) readHeader() error {
	var buf [MaxHeaderLen]byte
	n, err := io.ReadFull(r.r, buf[:12])
	if n < len(Magic) && string(buf[:n]) != string(Magic[:n]) || n >= len(Magic) && [8]byte(buf[:8]) != Magic {
		return r.fail(0, ErrBadMagic)
	}
	if err != nil {
		return r.fail(0, fmt.Errorf("%w: %d-byte file, header needs at least %d", ErrTruncated, n, minHeaderLen))
	}
	if v := binary.LittleEndian.Uint16(buf[8:]); v != Version {
		return r.fail(8, fmt.Errorf("%w: format version %d, this reader knows %d", ErrVersion, v, Version))
	}
	hlen := int(binary.LittleEndian.Uint16(buf[10:]))
	if hlen < minHeaderLen || hlen > MaxHeaderLen {
		return r.fail(10, fmt.Errorf("%w: header length %d out of range [%d, %d]", ErrMalformed, hlen, minHeaderLen, MaxHeaderLen))
	}
	if n, err := io.ReadFull(r.r, buf[12:hlen]); err != nil {
		return r.fail(0, fmt.Errorf("%w: header of %d bytes cut after %d", ErrTruncated, hlen, 12+n))
	}
	h := buf[:hlen]
	if got, want := Checksum(h[:hlen-4]), binary.LittleEndian.Uint32(h[hlen-4:]); got != want {
		return r.fail(0, fmt.Errorf("%w: header CRC32C %#08x, stored %#08x", ErrChecksum, got, want))
	}
	flags := h[13]
	if flags&^flagIdentityKnown != 0 {
		return r.fail(13, fmt.Errorf("%w: reserved header flags %#02x", ErrMalformed, flags))
	}
	if binary.LittleEndian.Uint32(h[36:]) != 0 {
		return r.fail(36, fmt.Errorf("%w: reserved header field not zero", ErrMalformed))
	}
	toolLen := int(binary.LittleEndian.Uint16(h[14:]))
	if toolLen > MaxToolLen || headerFixedLen+toolLen > hlen-4 {
		return r.fail(14, fmt.Errorf("%w: tool length %d does not fit header length %d", ErrMalformed, toolLen, hlen))
	}
	tool := h[headerFixedLen : headerFixedLen+toolLen]
	if !utf8.Valid(tool) {
		return r.fail(headerFixedLen, fmt.Errorf("%w: tool string is not UTF-8", ErrMalformed))
	}
	r.hdr = Header{
		Source: Source(h[12]),
		Identity: Identity{
			Known:         flags&flagIdentityKnown != 0,
			LinkType:      binary.LittleEndian.Uint32(h[16:]),
			SnapLen:       binary.LittleEndian.Uint32(h[20:]),
			FirstFrameNs:  int64(binary.LittleEndian.Uint64(h[24:])),
			FirstFrameCRC: binary.LittleEndian.Uint32(h[32:]),
		},
		CreatedNs: int64(binary.LittleEndian.Uint64(h[40:])),
		Tool:      string(tool),
	}
	if err := validTool(r.hdr.Tool); err != nil {
		return r.fail(headerFixedLen, err)
	}
	r.off = int64(hlen)
	return nil
}

// Next returns the next record. The returned Record is a value; nothing is
// retained. See Reader for the errors.
func (r *Reader) Next() (Record, error) {
	if r.err != nil {
		return Record{}, r.err
	}
	for r.left == 0 {
		if r.err != nil {
			return Record{}, r.err
		}
		if r.done {
			return Record{}, io.EOF
		}
		if err := r.readBlock(); err != nil {
			return Record{}, err
		}
	}
	at := r.blockOff + blockHeadLen + int64(r.pos)
	delta, n1 := binary.Uvarint(r.blk[r.pos:])
	if n1 <= 0 {
		return Record{}, r.fail(at, fmt.Errorf("%w: bad frame-delta varint", ErrMalformed))
	}
	gap, n2 := binary.Uvarint(r.blk[r.pos+n1:])
	if n2 <= 0 {
		return Record{}, r.fail(at, fmt.Errorf("%w: bad gap varint", ErrMalformed))
	}
	if delta == 0 {
		return Record{}, r.fail(at, fmt.Errorf("%w: frame delta 0 after frame %d", ErrUnsorted, r.prev))
	}
	frame := r.prev + delta
	if frame < r.prev {
		return Record{}, r.fail(at, fmt.Errorf("%w: frame number overflows after frame %d", ErrUnsorted, r.prev))
	}
	if gap == 0 {
		return Record{}, r.fail(at, fmt.Errorf("%w: frame %d", ErrZeroGap, frame))
	}
	if err := checkGap(frame, gap, r.lost); err != nil {
		return Record{}, r.fail(at, err)
	}
	r.pos += n1 + n2
	r.left--
	r.prev = frame
	r.n++
	r.lost += gap
	if r.left == 0 && r.pos != len(r.blk) {
		// The record is valid; the damage after it is reported next time.
		r.fail(r.blockOff+blockHeadLen+int64(r.pos), fmt.Errorf("%w: %d bytes after the last record of the block", ErrMalformed, len(r.blk)-r.pos))
	}
	return Record{Frame: frame, Gap: gap}, nil
}

// readBlock reads and verifies the next block. For a records block it sets
// r.blk, r.pos and r.left; a trailer sets r.done; ancillary blocks are
// skipped.
func (r *Reader) readBlock() error {
	start := r.off
	var head [blockHeadLen]byte
	n, err := io.ReadFull(r.r, head[:])
	if err != nil {
		if n == 0 && errors.Is(err, io.EOF) {
			return r.fail(start, ErrNoTrailer)
		}
		if n == 0 || errors.Is(err, io.ErrUnexpectedEOF) {
			if n == 0 {
				return r.fail(start, err)
			}
			return r.fail(start, cutError(fmt.Sprintf("block head cut after %d of %d bytes", n, blockHeadLen)))
		}
		return r.fail(start, err)
	}
	if got, want := Checksum(head[:5]), binary.LittleEndian.Uint32(head[5:]); got != want {
		return r.fail(start, fmt.Errorf("%w: block head CRC32C %#08x, stored %#08x", ErrChecksum, got, want))
	}
	typ := head[0]
	size := binary.LittleEndian.Uint32(head[1:5])
	if size > MaxBlockPayload {
		return r.fail(start, fmt.Errorf("%w: block payload of %d bytes exceeds %d", ErrMalformed, size, MaxBlockPayload))
	}
	switch {
	case typ == blockRecords, typ == blockTrailer, typ >= blockAncillary:
	default:
		return r.fail(start, fmt.Errorf("%w: unknown critical block type %#02x", ErrVersion, typ))
	}
	total := int(size) + blockCRCLen
	if cap(r.blk) < total {
		r.blk = make([]byte, total, max(total, 2*cap(r.blk)))
	}
	buf := r.blk[:total]
	if n, err := io.ReadFull(r.r, buf); err != nil {
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			return r.fail(start, cutError(fmt.Sprintf("block of %d bytes cut after %d", blockHeadLen+total, blockHeadLen+n)))
		}
		return r.fail(start, err)
	}
	payload := buf[:size]
	if got, want := Checksum(payload), binary.LittleEndian.Uint32(buf[size:]); got != want {
		return r.fail(start, fmt.Errorf("%w: block payload CRC32C %#08x, stored %#08x", ErrChecksum, got, want))
	}
	r.blockOff = start
	r.off = start + blockHeadLen + int64(total)
	switch typ {
	case blockRecords:
		if size < 4 {
			return r.fail(start, fmt.Errorf("%w: records block of %d bytes has no count", ErrMalformed, size))
		}
		count := binary.LittleEndian.Uint32(payload)
		if count == 0 || uint64(count)*2 > uint64(size-4) {
			return r.fail(start, fmt.Errorf("%w: records block of %d bytes claims %d records", ErrMalformed, size, count))
		}
		r.blk = buf[:size]
		r.pos = 4
		r.left = count
	case blockTrailer:
		if err := r.parseTrailer(start, payload); err != nil {
			return err
		}
		// Nothing may follow the trailer.
		if _, err := r.r.ReadByte(); err == nil {
			return r.fail(r.off, fmt.Errorf("%w: data after the trailer", ErrMalformed))
		} else if !errors.Is(err, io.EOF) {
			return r.fail(r.off, err)
		}
		r.done = true
	default:
		return r.ancillary(start, typ, payload)
	}
	return nil
}

func (r *Reader) parseTrailer(start int64, p []byte) error {
	pos := 0
	bad := func(what string) error {
		return r.fail(start+blockHeadLen+int64(pos), fmt.Errorf("%w: trailer: %s", ErrMalformed, what))
	}
	uv := func(v *uint64) bool {
		x, n := binary.Uvarint(p[pos:])
		if n <= 0 {
			return false
		}
		*v = x
		pos += n
		return true
	}
	var t Trailer
	var records, lost uint64
	if !uv(&t.Frames) || !uv(&records) || !uv(&lost) {
		return bad("bad varint")
	}
	if pos >= len(p) {
		return bad("missing flags")
	}
	flags := p[pos]
	pos++
	if flags&^flagKernel != 0 {
		return bad(fmt.Sprintf("reserved flags %#02x", flags))
	}
	if flags&flagKernel != 0 {
		t.HasKernel = true
		if !uv(&t.KernelPackets) || !uv(&t.KernelDrops) {
			return bad("bad kernel varint")
		}
	}
	var ntail uint64
	if !uv(&ntail) {
		return bad("bad tail count")
	}
	if ntail > uint64(len(p)-pos)/2 {
		return bad(fmt.Sprintf("%d tail entries cannot fit in %d bytes", ntail, len(p)-pos))
	}
	if ntail > 0 {
		t.Tail = make([]InterfaceGap, ntail)
	}
	for i := range t.Tail {
		var iface uint64
		if !uv(&iface) || !uv(&t.Tail[i].Lost) {
			return bad("bad tail varint")
		}
		if iface > 0xffffffff {
			return bad(fmt.Sprintf("tail interface %d out of range", iface))
		}
		t.Tail[i].Interface = uint32(iface)
		if i > 0 && t.Tail[i].Interface <= t.Tail[i-1].Interface {
			return r.fail(start, fmt.Errorf("%w: trailer: tail interface %d after %d", ErrUnsorted, t.Tail[i].Interface, t.Tail[i-1].Interface))
		}
	}
	if pos != len(p) {
		return bad(fmt.Sprintf("%d bytes after the last field", len(p)-pos))
	}
	if err := checkTrailer(t); err != nil {
		return r.fail(start, fmt.Errorf("trailer: %w", err))
	}
	if records != r.n || lost != r.lost {
		return r.fail(start, fmt.Errorf("%w: trailer counts %d records losing %d frames, file holds %d losing %d (a block is missing)", ErrMalformed, records, lost, r.n, r.lost))
	}
	if t.Frames != 0 && t.Frames < r.prev {
		return r.fail(start, fmt.Errorf("%w: trailer says %d frames but a record names frame %d", ErrMalformed, t.Frames, r.prev))
	}
	r.trailer = t
	return nil
}
