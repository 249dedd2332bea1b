package recorder

import (
	"encoding/binary"
	"io"
)

// pcapMagicNanos is the pcap magic number for nanosecond timestamps.
const pcapMagicNanos = 0xa1b23c4d

// pcapWriter writes the classic pcap format with nanosecond timestamps,
// little-endian, allocating nothing per frame. (gopacket's pcapgo writes the
// same bytes, but its package pulls in golang.org/x/net/bpf, which is not a
// dependency of gapan.)
type pcapWriter struct {
	w   io.Writer
	hdr [16]byte
}

func (p *pcapWriter) writeFileHeader(snaplen, linkType uint32) error {
	var b [24]byte
	binary.LittleEndian.PutUint32(b[0:], pcapMagicNanos)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	binary.LittleEndian.PutUint32(b[16:], snaplen)
	binary.LittleEndian.PutUint32(b[20:], linkType)
	_, err := p.w.Write(b[:])
	return err
}

func (p *pcapWriter) writePacket(tsNs int64, data []byte, origLen int) error {
	sec, nsec := tsNs/1_000_000_000, tsNs%1_000_000_000
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1_000_000_000
	}
	binary.LittleEndian.PutUint32(p.hdr[0:], uint32(sec))
	binary.LittleEndian.PutUint32(p.hdr[4:], uint32(nsec))
	binary.LittleEndian.PutUint32(p.hdr[8:], uint32(len(data)))
	binary.LittleEndian.PutUint32(p.hdr[12:], uint32(origLen))
	if _, err := p.w.Write(p.hdr[:]); err != nil {
		return err
	}
	_, err := p.w.Write(data)
	return err
}
