package sidecar

import (
	"encoding/binary"
	"fmt"
	"io"
)

// Writer writes a binary sidecar to an io.Writer, one record at a time.
//
// Flush policy: Add buffers records in memory and writes nothing until
// DefaultBlockRecords (see SetBlockRecords) records are pending, then it
// emits them as one records block. Flush emits pending records at once.
// Close emits pending records and the trailer. Each block (and the header)
// reaches w in a single Write call, and nothing is written between blocks, so
// a crash loses at most the records not yet emitted and leaves a file whose
// valid prefix a Reader returns. The Writer does not fsync; a recorder that
// wants durability syncs the file after Flush.
//
// A sidecar must never run ahead of its capture: a record for frame N must
// not be on disk before frame N is. A recorder therefore flushes its capture
// writer before the sidecar's; SetBeforeWrite installs a hook (typically the
// pcap writer's Flush) that the Writer calls before it writes any block, so
// that the blocks Add emits on its own obey the same order.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	w        io.Writer
	before   func() error
	buf      []byte // block being built: head, count, pairs
	pending  uint32 // records in buf
	perBlock uint32
	prev     uint64 // frame of the last record added
	records  uint64
	lost     uint64 // sum of gaps, mod 2^64
	offset   int64  // bytes written so far
	err      error  // sticky write error
	closed   bool
}

// NewWriter writes h as the file header to w and returns a Writer for the
// records that follow. The header is written immediately, so a recorder that
// wants the first frame's identity in it creates the Writer once the first
// frame has been captured (records can only refer to frames that exist).
// The caller owns w; Close does not close it.
func NewWriter(w io.Writer, h Header) (*Writer, error) {
	hdr, err := appendHeader(nil, h)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(hdr); err != nil {
		return nil, fmt.Errorf("sidecar: writing header: %w", err)
	}
	sw := &Writer{w: w, perBlock: DefaultBlockRecords, offset: int64(len(hdr))}
	sw.resetBlock()
	return sw, nil
}

// SetBlockRecords sets how many records are buffered before Add emits a
// block on its own (1 ≤ n ≤ 52428; values out of range are clamped). Fewer
// records per block lose less on a crash and cost 13 bytes per block.
func (w *Writer) SetBlockRecords(n int) {
	w.perBlock = uint32(max(1, min(n, maxBlockRecords)))
}

// SetBeforeWrite installs f, which the Writer calls before it writes each
// block; if f fails the block is not written and the error is returned.
// A recorder passes its capture writer's Flush so that a sidecar never runs
// ahead of its capture.
func (w *Writer) SetBeforeWrite(f func() error) { w.before = f }

// Add appends a record. It returns an error wrapping ErrZeroGap if r.Gap is
// 0 and ErrUnsorted if r.Frame is 0 or not greater than the previous
// record's frame; such a record is not written and the Writer stays usable.
// Write errors are sticky.
func (w *Writer) Add(r Record) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if r.Gap == 0 {
		return fmt.Errorf("%w: frame %d", ErrZeroGap, r.Frame)
	}
	if r.Frame <= w.prev {
		return fmt.Errorf("%w: frame %d after frame %d", ErrUnsorted, r.Frame, w.prev)
	}
	if err := checkGap(r.Frame, r.Gap, w.lost); err != nil {
		return err
	}
	w.buf = binary.AppendUvarint(w.buf, r.Frame-w.prev)
	w.buf = binary.AppendUvarint(w.buf, r.Gap)
	w.prev = r.Frame
	w.pending++
	w.records++
	w.lost += r.Gap
	if w.pending >= w.perBlock {
		return w.emitRecords()
	}
	return nil
}

// Flush writes the pending records, if any, as one block.
func (w *Writer) Flush() error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if w.pending == 0 {
		return nil
	}
	return w.emitRecords()
}

// Close writes the pending records and the trailer t, marking a clean end.
// t.Tail must be sorted by Interface without duplicates, and t.Frames, if
// not 0, must be at least the last record's frame. Close does not close the
// underlying io.Writer. After Close, Add, Flush and Close return ErrClosed.
func (w *Writer) Close(t Trailer) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if err := validTail(t.Tail); err != nil {
		return err
	}
	if err := checkTrailer(t); err != nil {
		return err
	}
	if t.Frames != 0 && t.Frames < w.prev {
		return fmt.Errorf("%w: trailer says %d frames but a record names frame %d", ErrMalformed, t.Frames, w.prev)
	}
	if w.pending > 0 {
		if err := w.emitRecords(); err != nil {
			return err
		}
	}
	b := appendTrailer(w.buf[:blockHeadLen], t, w.records, w.lost)
	if len(b)-blockHeadLen > MaxBlockPayload {
		return fmt.Errorf("%w: trailer of %d bytes exceeds %d", ErrMalformed, len(b)-blockHeadLen, MaxBlockPayload)
	}
	w.buf = b
	w.closed = true
	return w.emit(blockTrailer)
}

// Offset returns the number of bytes written to the underlying writer.
func (w *Writer) Offset() int64 { return w.offset }

// Records returns the number of records added so far.
func (w *Writer) Records() uint64 { return w.records }

func (w *Writer) resetBlock() {
	if cap(w.buf) == 0 {
		w.buf = make([]byte, 0, blockHeadLen+4+int(DefaultBlockRecords)*4+blockCRCLen)
	}
	// Head is filled in by emit; the count is patched in by emitRecords.
	w.buf = w.buf[:blockHeadLen+4]
	w.pending = 0
}

func (w *Writer) emitRecords() error {
	binary.LittleEndian.PutUint32(w.buf[blockHeadLen:], w.pending)
	err := w.emit(blockRecords)
	w.resetBlock()
	return err
}

// emit finishes the block in w.buf (head space + payload) and writes it.
func (w *Writer) emit(typ byte) error {
	if w.before != nil {
		if err := w.before(); err != nil {
			w.err = fmt.Errorf("sidecar: before-write hook: %w", err)
			return w.err
		}
	}
	payload := len(w.buf) - blockHeadLen
	w.buf[0] = typ
	binary.LittleEndian.PutUint32(w.buf[1:5], uint32(payload))
	binary.LittleEndian.PutUint32(w.buf[5:9], Checksum(w.buf[:5]))
	w.buf = binary.LittleEndian.AppendUint32(w.buf, Checksum(w.buf[blockHeadLen:]))
	n, err := w.w.Write(w.buf)
	w.offset += int64(n)
	if err != nil {
		w.err = fmt.Errorf("sidecar: writing block at byte %d: %w", w.offset-int64(n), err)
		return w.err
	}
	return nil
}

func appendHeader(b []byte, h Header) ([]byte, error) {
	if err := validTool(h.Tool); err != nil {
		return nil, err
	}
	n := minHeaderLen + len(h.Tool)
	start := len(b)
	b = append(b, Magic[:]...)
	b = binary.LittleEndian.AppendUint16(b, Version)
	b = binary.LittleEndian.AppendUint16(b, uint16(n))
	b = append(b, byte(h.Source))
	var flags byte
	if h.Identity.Known {
		flags |= flagIdentityKnown
	}
	b = append(b, flags)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(h.Tool)))
	b = binary.LittleEndian.AppendUint32(b, h.Identity.LinkType)
	b = binary.LittleEndian.AppendUint32(b, h.Identity.SnapLen)
	b = binary.LittleEndian.AppendUint64(b, uint64(h.Identity.FirstFrameNs))
	b = binary.LittleEndian.AppendUint32(b, h.Identity.FirstFrameCRC)
	b = binary.LittleEndian.AppendUint32(b, 0) // reserved
	b = binary.LittleEndian.AppendUint64(b, uint64(h.CreatedNs))
	b = append(b, h.Tool...)
	b = binary.LittleEndian.AppendUint32(b, Checksum(b[start:]))
	return b, nil
}

func appendTrailer(b []byte, t Trailer, records, lost uint64) []byte {
	b = binary.AppendUvarint(b, t.Frames)
	b = binary.AppendUvarint(b, records)
	b = binary.AppendUvarint(b, lost)
	if t.HasKernel {
		b = append(b, flagKernel)
		b = binary.AppendUvarint(b, t.KernelPackets)
		b = binary.AppendUvarint(b, t.KernelDrops)
	} else {
		b = append(b, 0)
	}
	b = binary.AppendUvarint(b, uint64(len(t.Tail)))
	for _, g := range t.Tail {
		b = binary.AppendUvarint(b, uint64(g.Interface))
		b = binary.AppendUvarint(b, g.Lost)
	}
	return b
}
