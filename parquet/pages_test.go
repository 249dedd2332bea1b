package parquet

import (
	"encoding/binary"
	"testing"
)

// TestDeltaInt32Widths: an int32 column's deltas are packed modulo 2^32,
// so no miniblock is wider than 32 bits even when consecutive values are
// far apart: deltas of +2e9 and -2e9 differ by more than int32 holds
// (parquet-mr, Spark's reader, refuses wider ones for INT32; arrow reads
// either, so TestFramesFileAsPqarrow cannot tell).
func TestDeltaInt32Widths(t *testing.T) {
	v := make([]int32, 1+deltaBlock)
	for i := range v {
		if i%2 == 1 {
			v[i] = 2e9
		}
	}
	if v[1]-v[2]-(v[2]-v[1]) >= 0 {
		t.Fatal("the deltas' difference does not wrap")
	}
	enc := appendDelta(nil, v, 1<<32-1)
	p := 0
	for range 3 { // block size, miniblocks, count
		_, n := binary.Uvarint(enc[p:])
		p += n
	}
	for range 2 { // first value, the block's minimum delta
		_, n := binary.Varint(enc[p:])
		p += n
	}
	for m, w := range enc[p : p+deltaBlock/deltaMiniblock] {
		if w > 32 {
			t.Errorf("miniblock %d: %d bits", m, w)
		}
	}
}
