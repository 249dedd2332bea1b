package sidecar

import (
	"encoding/binary"
	"fmt"
	"sort"
	"strconv"
)

// Ancillary block types of gapan's inferred sidecars (docs/sidecar.md,
// docs/infer.md). Readers of format version 1 that do not know them skip
// them (their high bit is set).
const (
	// BlockBrackets carries the bracket and confidence of the records
	// of the records block that follows it.
	BlockBrackets byte = 0x81
	// BlockInferredTotals carries the capture-wide loss total that was
	// distributed over the inferred gaps, and what of it stayed without
	// a position.
	BlockInferredTotals byte = 0x82
)

// Bracket is what an inferred record (source inferred) knows of its
// position: the gap it stands for happened before some frame in
// [First, Last] (Frame is one of them, where the record places it), and
// ConfidencePermille is the chance, in thousandths, that Frame is the
// right one (docs/infer.md).
type Bracket struct {
	Frame, First, Last uint64
	ConfidencePermille uint16
}

// InferredTotals is the content of a BlockInferredTotals block: the
// capture-wide total (pcapng isb_ifdrop, or --kernel-drops) given to
// infer, when HasTotal, and how many of its frames no inferred gap could
// take (Unplaced).
type InferredTotals struct {
	HasTotal        bool
	Total, Unplaced uint64
}

// AppendBrackets appends the payload of a BlockBrackets block holding bs
// (frames strictly increasing, each First ≤ Frame ≤ Last, confidence at
// most 1000) to b.
func AppendBrackets(b []byte, bs []Bracket) ([]byte, error) {
	b = binary.LittleEndian.AppendUint32(b, uint32(len(bs)))
	var prev uint64
	for _, x := range bs {
		if x.Frame <= prev || x.First > x.Frame || x.Last < x.Frame || x.First == 0 || x.ConfidencePermille > 1000 {
			return nil, fmt.Errorf("%w: bracket %+v", ErrMalformed, x)
		}
		b = binary.AppendUvarint(b, x.Frame-prev)
		b = binary.AppendUvarint(b, x.Frame-x.First)
		b = binary.AppendUvarint(b, x.Last-x.Frame)
		b = binary.AppendUvarint(b, uint64(x.ConfidencePermille))
		prev = x.Frame
	}
	return b, nil
}

// ParseBrackets decodes the payload of a BlockBrackets block.
func ParseBrackets(p []byte) ([]Bracket, error) {
	if len(p) < 4 {
		return nil, fmt.Errorf("%w: brackets block of %d bytes has no count", ErrMalformed, len(p))
	}
	n := binary.LittleEndian.Uint32(p)
	if uint64(n)*4 > uint64(len(p)-4) {
		return nil, fmt.Errorf("%w: brackets block of %d bytes claims %d brackets", ErrMalformed, len(p), n)
	}
	bs := make([]Bracket, 0, n)
	pos := 4
	var prev uint64
	for range n {
		var v [4]uint64
		for i := range v {
			x, k := binary.Uvarint(p[pos:])
			if k <= 0 {
				return nil, fmt.Errorf("%w: brackets block: bad varint at byte %d", ErrMalformed, pos)
			}
			v[i], pos = x, pos+k
		}
		f := prev + v[0]
		if v[0] == 0 || f < prev || v[1] >= f || f+v[2] < f || v[3] > 1000 {
			return nil, fmt.Errorf("%w: brackets block: bad bracket after frame %d", ErrMalformed, prev)
		}
		bs = append(bs, Bracket{Frame: f, First: f - v[1], Last: f + v[2], ConfidencePermille: uint16(v[3])})
		prev = f
	}
	if pos != len(p) {
		return nil, fmt.Errorf("%w: brackets block: %d bytes after the last bracket", ErrMalformed, len(p)-pos)
	}
	return bs, nil
}

// AppendInferredTotals appends the payload of a BlockInferredTotals block.
func AppendInferredTotals(b []byte, t InferredTotals) []byte {
	var flags byte
	if t.HasTotal {
		flags = 1
	}
	b = append(b, flags)
	b = binary.AppendUvarint(b, t.Total)
	return binary.AppendUvarint(b, t.Unplaced)
}

// ParseInferredTotals decodes the payload of a BlockInferredTotals block.
func ParseInferredTotals(p []byte) (InferredTotals, error) {
	if len(p) < 1 || p[0]&^1 != 0 {
		return InferredTotals{}, fmt.Errorf("%w: inferred totals: bad flags", ErrMalformed)
	}
	t := InferredTotals{HasTotal: p[0] == 1}
	a, n := binary.Uvarint(p[1:])
	if n <= 0 {
		return InferredTotals{}, fmt.Errorf("%w: inferred totals: bad varint", ErrMalformed)
	}
	b, m := binary.Uvarint(p[1+n:])
	if m <= 0 || 1+n+m != len(p) || b > a && t.HasTotal {
		return InferredTotals{}, fmt.Errorf("%w: inferred totals: bad varint or length", ErrMalformed)
	}
	t.Total, t.Unplaced = a, b
	return t, nil
}

// WriteAncillary writes payload as one block of ancillary type typ
// (0x80–0xFF) at once, before the records still pending: a BlockBrackets
// block goes just before the records it describes.
func (w *Writer) WriteAncillary(typ byte, payload []byte) error {
	if w.closed {
		return ErrClosed
	}
	if w.err != nil {
		return w.err
	}
	if typ < blockAncillary || len(payload) > MaxBlockPayload {
		return fmt.Errorf("%w: ancillary block type %#02x of %d bytes", ErrMalformed, typ, len(payload))
	}
	saved := w.buf
	w.buf = append(make([]byte, blockHeadLen, blockHeadLen+len(payload)+blockCRCLen), payload...)
	err := w.emit(typ)
	w.buf = saved
	return err
}

// ancillary decodes the ancillary blocks this reader knows.
func (r *Reader) ancillary(start int64, typ byte, p []byte) error {
	if r.skipKnown {
		return nil
	}
	switch typ {
	case BlockBrackets:
		bs, err := ParseBrackets(p)
		if err != nil {
			return r.fail(start, err)
		}
		r.brackets = bs
	case BlockInferredTotals:
		t, err := ParseInferredTotals(p)
		if err != nil {
			return r.fail(start, err)
		}
		r.totals, r.hasTotals = t, true
	}
	return nil
}

// Bracket returns the bracket of the record of frame, when the sidecar
// carries one (source inferred) in the BlockBrackets block before the
// records block Next last read from. Call it after Next returned that
// record.
func (r *Reader) Bracket(frame uint64) (Bracket, bool) {
	i := sort.Search(len(r.brackets), func(i int) bool { return r.brackets[i].Frame >= frame })
	if i < len(r.brackets) && r.brackets[i].Frame == frame {
		return r.brackets[i], true
	}
	return Bracket{}, false
}

// InferredTotals returns the content of the sidecar's BlockInferredTotals
// block, once Next has read past it (it precedes the trailer).
func (r *Reader) InferredTotals() (InferredTotals, bool) { return r.totals, r.hasTotals }

// bracketSource is what the dumps ask of a reader for the brackets of
// an inferred sidecar.
type bracketSource interface {
	Bracket(frame uint64) (Bracket, bool)
	InferredTotals() (InferredTotals, bool)
}

// confidenceText formats a confidence in thousandths as a fraction.
func confidenceText(permille uint16) string {
	return strconv.FormatFloat(float64(permille)/1000, 'f', 3, 64)
}
