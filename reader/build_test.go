package reader

import (
	"bytes"
	"encoding/binary"
)

// ngBuilder writes pcapng blocks for tests, in either byte order, and
// records the offset of every block it writes.
type ngBuilder struct {
	buf  bytes.Buffer
	bo   binary.ByteOrder
	offs []int64
}

type ngOpt struct {
	code uint16
	val  []byte
}

func (b *ngBuilder) u16(v uint16) []byte { x := make([]byte, 2); b.bo.PutUint16(x, v); return x }
func (b *ngBuilder) u32(v uint32) []byte { x := make([]byte, 4); b.bo.PutUint32(x, v); return x }
func (b *ngBuilder) u64(v uint64) []byte { x := make([]byte, 8); b.bo.PutUint64(x, v); return x }

func (b *ngBuilder) opts(opts []ngOpt) []byte {
	if len(opts) == 0 {
		return nil
	}
	var o []byte
	for _, op := range opts {
		o = append(o, b.u16(op.code)...)
		o = append(o, b.u16(uint16(len(op.val)))...)
		o = append(o, op.val...)
		for len(o)%4 != 0 {
			o = append(o, 0)
		}
	}
	return append(o, 0, 0, 0, 0)
}

// block writes a block with the given body and returns its offset.
func (b *ngBuilder) block(typ uint32, body []byte) int64 {
	off := int64(b.buf.Len())
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b.buf.Write(b.u32(typ))
	b.buf.Write(b.u32(n))
	b.buf.Write(body)
	b.buf.Write(b.u32(n))
	b.offs = append(b.offs, off)
	return off
}

func (b *ngBuilder) shb(bo binary.ByteOrder, minor uint16, opts ...ngOpt) int64 {
	b.bo = bo
	body := append(b.u32(ngByteOrderMagic), b.u16(1)...)
	body = append(body, b.u16(minor)...)
	body = append(body, b.u64(^uint64(0))...)
	return b.block(ngSectionHeader, append(body, b.opts(opts)...))
}

func (b *ngBuilder) idb(link uint16, snap uint32, opts ...ngOpt) int64 {
	body := append(b.u16(link), 0, 0)
	body = append(body, b.u32(snap)...)
	return b.block(ngInterface, append(body, b.opts(opts)...))
}

func (b *ngBuilder) epb(iface uint32, ts uint64, data []byte, orig uint32, opts ...ngOpt) int64 {
	body := b.u32(iface)
	body = append(body, b.u32(uint32(ts>>32))...)
	body = append(body, b.u32(uint32(ts))...)
	body = append(body, b.u32(uint32(len(data)))...)
	body = append(body, b.u32(orig)...)
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return b.block(ngEnhancedPacket, append(body, b.opts(opts)...))
}

func (b *ngBuilder) isb(iface uint32, ts uint64, opts ...ngOpt) int64 {
	body := b.u32(iface)
	body = append(body, b.u32(uint32(ts>>32))...)
	body = append(body, b.u32(uint32(ts))...)
	return b.block(ngStatistics, append(body, b.opts(opts)...))
}

func (b *ngBuilder) bytes() []byte { return bytes.Clone(b.buf.Bytes()) }

// pcapFile builds a pcap file (little-endian, microseconds, given minor
// version) with the given records.
type pcapRec struct {
	sec, frac uint32
	data      []byte
	orig      uint32
	capLen    int // if nonzero, overrides len(data) in the header
}

func pcapFile(bo binary.ByteOrder, magic uint32, minor uint16, snap uint32, recs ...pcapRec) []byte {
	var w bytes.Buffer
	h := make([]byte, 24)
	bo.PutUint32(h[0:], magic)
	bo.PutUint16(h[4:], 2)
	bo.PutUint16(h[6:], minor)
	bo.PutUint32(h[16:], snap)
	bo.PutUint32(h[20:], 1)
	w.Write(h)
	for _, r := range recs {
		rh := make([]byte, 16)
		bo.PutUint32(rh[0:], r.sec)
		bo.PutUint32(rh[4:], r.frac)
		cl := uint32(len(r.data))
		if r.capLen != 0 {
			cl = uint32(r.capLen)
		}
		bo.PutUint32(rh[8:], cl)
		bo.PutUint32(rh[12:], r.orig)
		w.Write(rh)
		w.Write(r.data)
	}
	return w.Bytes()
}
