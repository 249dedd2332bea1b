package parquet

import (
	"encoding/binary"
	"math/bits"

	pq "github.com/apache/arrow/go/v15/parquet"
)

// The frames table's pages, encoded by gapan (framesFile): the Parquet
// encodings it uses (PLAIN, DELTA_BINARY_PACKED, the RLE/bit-packing
// hybrid of definition levels and dictionary indices) and the Thrift
// compact encoding of a page header. The format:
// https://github.com/apache/parquet-format (Encodings.md, parquet.thrift).

// Thrift compact protocol types (the low nibble of a field header).
const (
	thriftTrue   = 1
	thriftFalse  = 2
	thriftI32    = 5
	thriftStruct = 12
)

// Parquet page types (parquet.thrift PageType).
const (
	pageDictionary = 2
	pageDataV2     = 3
)

// appendField appends a compact field header for field id, which follows
// field last (ids 1 to 15 apart, as every header here is).
func appendField(dst []byte, last, id int, typ byte) []byte {
	return append(dst, byte(id-last)<<4|typ)
}

// appendI32Field appends field id (after field last) holding v.
func appendI32Field(dst []byte, last, id int, v int32) []byte {
	dst = appendField(dst, last, id, thriftI32)
	return binary.AppendUvarint(dst, uint64(uint32(v<<1^v>>31)))
}

// appendDataPageV2Header appends the Thrift PageHeader of a DATA_PAGE_V2
// page: uncompressed and compressed are the page's sizes after the
// header (levels included), defLen the bytes of its definition levels.
func appendDataPageV2Header(dst []byte, uncompressed, compressed, values, nulls, rows int32, enc pq.Encoding, defLen int32, isCompressed bool) []byte {
	dst = appendI32Field(dst, 0, 1, pageDataV2)
	dst = appendI32Field(dst, 1, 2, uncompressed)
	dst = appendI32Field(dst, 2, 3, compressed)
	dst = appendField(dst, 3, 8, thriftStruct) // data_page_header_v2
	dst = appendI32Field(dst, 0, 1, values)
	dst = appendI32Field(dst, 1, 2, nulls)
	dst = appendI32Field(dst, 2, 3, rows)
	dst = appendI32Field(dst, 3, 4, int32(enc))
	dst = appendI32Field(dst, 4, 5, defLen)
	dst = appendI32Field(dst, 5, 6, 0) // repetition_levels_byte_length
	b := byte(thriftFalse)
	if isCompressed {
		b = thriftTrue
	}
	dst = appendField(dst, 6, 7, b) // is_compressed
	return append(dst, 0, 0)        // ends data_page_header_v2, PageHeader
}

// appendDictPageHeader appends the Thrift PageHeader of a dictionary page.
func appendDictPageHeader(dst []byte, uncompressed, compressed, values int32, enc pq.Encoding) []byte {
	dst = appendI32Field(dst, 0, 1, pageDictionary)
	dst = appendI32Field(dst, 1, 2, uncompressed)
	dst = appendI32Field(dst, 2, 3, compressed)
	dst = appendField(dst, 3, 7, thriftStruct) // dictionary_page_header
	dst = appendI32Field(dst, 0, 1, values)
	dst = appendI32Field(dst, 1, 2, int32(enc))
	return append(dst, 0, 0)
}

// bits8 returns the 8 bits of bitmap at bit pos (LSB first), zeros past
// its end.
func bits8(bitmap []byte, pos int) byte {
	i, s := pos>>3, pos&7
	v := uint16(bitmap[i])
	if s != 0 && i+1 < len(bitmap) {
		v |= uint16(bitmap[i+1]) << 8
	}
	return byte(v >> s)
}

// hybrid builds an RLE/bit-packing hybrid run sequence of 1-bit values
// (Encodings.md): whole groups of 8 equal values extend a repeated run,
// other groups are bit-packed (LSB first, the bitmap's own order).
type hybrid struct {
	dst    []byte
	lit    []byte // bit-packed groups not yet written
	rleVal byte
	rleN   int // values of the repeated run not yet written
}

func (h *hybrid) flushRLE() {
	if h.rleN > 0 {
		h.dst = binary.AppendUvarint(h.dst, uint64(h.rleN)<<1)
		h.dst = append(h.dst, h.rleVal)
		h.rleN = 0
	}
}

func (h *hybrid) flushLit() {
	if len(h.lit) > 0 {
		h.dst = binary.AppendUvarint(h.dst, uint64(len(h.lit))<<1|1)
		h.dst = append(h.dst, h.lit...)
		h.lit = h.lit[:0]
	}
}

// group adds n (1 to 8) values, the low n bits of g; a group of fewer
// than 8 must be the last.
func (h *hybrid) group(g byte, n int) {
	mask := byte(1<<n - 1)
	g &= mask
	if g == 0 || g == mask {
		v := g & 1
		if h.rleN > 0 && h.rleVal == v {
			h.rleN += n
			return
		}
		h.flushLit()
		h.flushRLE()
		h.rleVal, h.rleN = v, n
		return
	}
	h.flushRLE()
	h.lit = append(h.lit, g)
}

// appendBits appends the hybrid encoding of bits lo to lo+n of bitmap
// (all ones when bitmap is nil), using lit as scratch; it returns the
// scratch too.
func appendBits(dst, lit, bitmap []byte, lo, n int) ([]byte, []byte) {
	if n == 0 {
		return dst, lit
	}
	if bitmap == nil {
		return append(binary.AppendUvarint(dst, uint64(n)<<1), 1), lit
	}
	h := hybrid{dst: dst, lit: lit[:0]}
	for i := 0; i < n; i += 8 {
		h.group(bits8(bitmap, lo+i), min(8, n-i))
	}
	h.flushLit()
	h.flushRLE()
	return h.dst, h.lit
}

// Delta encoding's block: 128 values in 4 miniblocks of 32.
const (
	deltaBlock     = 128
	deltaMiniblock = 32
)

// appendDeltaEmpty appends the DELTA_BINARY_PACKED encoding of no
// values (a page of nulls).
func appendDeltaEmpty(dst []byte) []byte {
	dst = binary.AppendUvarint(dst, deltaBlock)
	dst = binary.AppendUvarint(dst, deltaBlock/deltaMiniblock)
	return append(binary.AppendUvarint(dst, 0), 0) // no values, first value 0
}

// appendDelta appends the DELTA_BINARY_PACKED encoding of v (not empty),
// with the wrap-around arithmetic of T as the format specifies: mask
// keeps T's bits of a packed value (delta - min), so that an int32
// column's widths stay within 32 and a reader adds the deltas back
// modulo 2^32.
func appendDelta[T int32 | int64](dst []byte, v []T, mask uint64) []byte {
	dst = binary.AppendUvarint(dst, deltaBlock)
	dst = binary.AppendUvarint(dst, deltaBlock/deltaMiniblock)
	dst = binary.AppendUvarint(dst, uint64(len(v)))
	dst = binary.AppendVarint(dst, int64(v[0]))
	var d [deltaBlock]uint64
	for i := 1; i < len(v); i += deltaBlock {
		n := min(deltaBlock, len(v)-i)
		minD := v[i] - v[i-1]
		for k := 1; k < n; k++ {
			minD = min(minD, v[i+k]-v[i+k-1])
		}
		for k := range d[:n] {
			d[k] = uint64(v[i+k]-v[i+k-1]-minD) & mask
		}
		dst = appendDeltaBlock(dst, d[:n], int64(minD))
	}
	return dst
}

// appendDeltaBlock appends a block of packed deltas d (delta - min, at
// most deltaBlock): the minimum minD (zigzag varint), the bit widths of
// its 4 miniblocks and the miniblocks, packed LSB first; the last
// miniblock with values is padded with zeros, the ones after it have
// width 0 and no bytes.
func appendDeltaBlock(dst []byte, d []uint64, minD int64) []byte {
	dst = binary.AppendVarint(dst, minD)
	var widths [deltaBlock / deltaMiniblock]int
	for m := range widths {
		lo := m * deltaMiniblock
		if lo >= len(d) {
			break
		}
		var or uint64
		for _, x := range d[lo:min(lo+deltaMiniblock, len(d))] {
			or |= x
		}
		widths[m] = bits.Len64(or)
	}
	for _, w := range widths {
		dst = append(dst, byte(w))
	}
	for m, w := range widths {
		lo := m * deltaMiniblock
		if lo >= len(d) {
			break
		}
		dst = appendPacked(dst, d[lo:min(lo+deltaMiniblock, len(d))], w)
	}
	return dst
}

// appendPacked appends deltaMiniblock values (v, zeros after it) of
// width w bits each, LSB first: 4*w bytes.
func appendPacked(dst []byte, v []uint64, w int) []byte {
	if w == 0 {
		return dst
	}
	var acc uint64 // bits not yet appended, fewer than 8 between values
	n := 0
	for k := 0; k < deltaMiniblock; k++ {
		var x uint64
		if k < len(v) {
			x = v[k]
		}
		if w > 32 {
			acc |= (x & (1<<32 - 1)) << n
			n += 32
			for n >= 8 {
				dst = append(dst, byte(acc))
				acc >>= 8
				n -= 8
			}
			acc |= (x >> 32) << n
			n += w - 32
		} else {
			acc |= x << n
			n += w
		}
		for n >= 8 {
			dst = append(dst, byte(acc))
			acc >>= 8
			n -= 8
		}
	}
	return dst
}
