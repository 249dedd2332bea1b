// Package capbuild writes pcap and pcapng files byte by byte, damaged ones
// included, for the reader's tests and its fuzz seed corpus.
//
//	var b capbuild.Pcapng
//	b.SHB(binary.BigEndian, 0)
//	b.IDB(1, 65535, capbuild.Opt{Code: 9, Val: []byte{9}}) // if_tsresol: ns
//	b.EPB(0, ts, data, uint32(len(data)))
//	file := b.Bytes()
package capbuild

import (
	"bytes"
	"encoding/binary"
)

// pcapng block types and the section header's byte-order magic.
const (
	BlockSectionHeader  = 0x0A0D0D0A
	BlockInterface      = 1
	BlockObsoletePacket = 2
	BlockSimplePacket   = 3
	BlockStatistics     = 5
	BlockEnhancedPacket = 6
	byteOrderMagic      = 0x1A2B3C4D
)

// Pcapng writes pcapng blocks in the byte order of the last section
// header (BO), and records the offset of every block it writes (Offs).
type Pcapng struct {
	Buf  bytes.Buffer
	BO   binary.ByteOrder
	Offs []int64
}

// Opt is one pcapng option; the builder pads it and ends the list.
type Opt struct {
	Code uint16
	Val  []byte
}

// U16 returns v in the builder's byte order.
func (b *Pcapng) U16(v uint16) []byte { x := make([]byte, 2); b.BO.PutUint16(x, v); return x }

// U32 returns v in the builder's byte order.
func (b *Pcapng) U32(v uint32) []byte { x := make([]byte, 4); b.BO.PutUint32(x, v); return x }

// U64 returns v in the builder's byte order.
func (b *Pcapng) U64(v uint64) []byte { x := make([]byte, 8); b.BO.PutUint64(x, v); return x }

func (b *Pcapng) opts(opts []Opt) []byte {
	if len(opts) == 0 {
		return nil
	}
	var o []byte
	for _, op := range opts {
		o = append(o, b.U16(op.Code)...)
		o = append(o, b.U16(uint16(len(op.Val)))...)
		o = append(o, op.Val...)
		for len(o)%4 != 0 {
			o = append(o, 0)
		}
	}
	return append(o, 0, 0, 0, 0)
}

// Block writes a block with the given body, padded to 4 bytes, and
// returns its offset.
func (b *Pcapng) Block(typ uint32, body []byte) int64 {
	off := int64(b.Buf.Len())
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	n := uint32(12 + len(body))
	b.Buf.Write(b.U32(typ))
	b.Buf.Write(b.U32(n))
	b.Buf.Write(body)
	b.Buf.Write(b.U32(n))
	b.Offs = append(b.Offs, off)
	return off
}

// SHB starts a section of version 1.minor in byte order bo.
func (b *Pcapng) SHB(bo binary.ByteOrder, minor uint16, opts ...Opt) int64 {
	b.BO = bo
	body := append(b.U32(byteOrderMagic), b.U16(1)...)
	body = append(body, b.U16(minor)...)
	body = append(body, b.U64(^uint64(0))...)
	return b.Block(BlockSectionHeader, append(body, b.opts(opts)...))
}

// IDB writes an interface description block.
func (b *Pcapng) IDB(link uint16, snap uint32, opts ...Opt) int64 {
	body := append(b.U16(link), 0, 0)
	body = append(body, b.U32(snap)...)
	return b.Block(BlockInterface, append(body, b.opts(opts)...))
}

// EPB writes an enhanced packet block; ts is in the interface's units.
func (b *Pcapng) EPB(iface uint32, ts uint64, data []byte, orig uint32, opts ...Opt) int64 {
	body := b.U32(iface)
	body = append(body, b.U32(uint32(ts>>32))...)
	body = append(body, b.U32(uint32(ts))...)
	body = append(body, b.U32(uint32(len(data)))...)
	body = append(body, b.U32(orig)...)
	body = append(body, data...)
	for len(body)%4 != 0 {
		body = append(body, 0)
	}
	return b.Block(BlockEnhancedPacket, append(body, b.opts(opts)...))
}

// ISB writes an interface statistics block.
func (b *Pcapng) ISB(iface uint32, ts uint64, opts ...Opt) int64 {
	body := b.U32(iface)
	body = append(body, b.U32(uint32(ts>>32))...)
	body = append(body, b.U32(uint32(ts))...)
	return b.Block(BlockStatistics, append(body, b.opts(opts)...))
}

// Bytes returns a copy of what was written.
func (b *Pcapng) Bytes() []byte { return bytes.Clone(b.Buf.Bytes()) }

// PcapRecord is one record of a pcap file.
type PcapRecord struct {
	Sec, Frac uint32
	Data      []byte
	Orig      uint32
	CapLen    int // if nonzero, overrides len(Data) in the header
}

// Pcap builds a pcap file (version 2.minor, link type 1) in byte order bo
// with the given magic, snap length and records.
func Pcap(bo binary.ByteOrder, magic uint32, minor uint16, snap uint32, recs ...PcapRecord) []byte {
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
		bo.PutUint32(rh[0:], r.Sec)
		bo.PutUint32(rh[4:], r.Frac)
		cl := uint32(len(r.Data))
		if r.CapLen != 0 {
			cl = uint32(r.CapLen)
		}
		bo.PutUint32(rh[8:], cl)
		bo.PutUint32(rh[12:], r.Orig)
		w.Write(rh)
		w.Write(r.Data)
	}
	return w.Bytes()
}
