package reader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"testing"
)

// TestTooManyInterfaces: a pcapng may describe at most MaxInterfaces
// interfaces; the next Interface Description Block is a *FormatError
// wrapping ErrTooManyInterfaces at that block's offset, and a file with
// exactly MaxInterfaces reads to its end.
func TestTooManyInterfaces(t *testing.T) {
	build := func(n int) []byte {
		var b bytes.Buffer
		block := func(typ uint32, body []byte) {
			binary.Write(&b, binary.LittleEndian, [2]uint32{typ, uint32(12 + len(body))})
			b.Write(body)
			binary.Write(&b, binary.LittleEndian, uint32(12+len(body)))
		}
		shb := make([]byte, 16)
		binary.LittleEndian.PutUint32(shb, 0x1A2B3C4D)
		binary.LittleEndian.PutUint16(shb[4:], 1)
		block(0x0A0D0D0A, shb)
		for range n {
			block(1, []byte{1, 0, 0, 0, 0xff, 0xff, 0, 0})
		}
		epb := make([]byte, 20+4)
		binary.LittleEndian.PutUint32(epb[12:], 4)
		binary.LittleEndian.PutUint32(epb[16:], 4)
		block(6, epb)
		return b.Bytes()
	}
	count := func(data []byte) (int, error) {
		r, err := NewReader(bytes.NewReader(data), "x.pcapng")
		if err != nil {
			return 0, err
		}
		n := 0
		for {
			if _, err := r.Next(); err == io.EOF {
				return n, nil
			} else if err != nil {
				return n, err
			}
			n++
		}
	}
	if n, err := count(build(MaxInterfaces)); err != nil || n != 1 {
		t.Fatalf("%d interfaces: %d frames, %v", MaxInterfaces, n, err)
	}
	_, err := count(build(MaxInterfaces + 1))
	var fe *FormatError
	if !errors.Is(err, ErrTooManyInterfaces) || !errors.As(err, &fe) {
		t.Fatalf("err = %v, want a *FormatError wrapping ErrTooManyInterfaces", err)
	}
	if want := int64(28 + 20*MaxInterfaces); fe.Offset != want {
		t.Errorf("offset %d, want %d (the extra block)", fe.Offset, want)
	}
}
