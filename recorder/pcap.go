package recorder

import (
	"encoding/binary"
)

// pcapMagicNanos is the pcap magic number for nanosecond timestamps.
const pcapMagicNanos = 0xa1b23c4d

// The recorder writes the classic pcap format with nanosecond timestamps,
// little-endian, allocating nothing per frame: records are appended to the
// recorder's own output buffer, which is written in large batches.
// (gopacket's pcapgo.Writer writes the same bytes, but one record per call
// to an io.Writer.) The files are read back by package reader, which
// parses pcap itself.

// putPcapFileHeader fills the 24 bytes of b with a pcap file header.
func putPcapFileHeader(b []byte, snaplen, linkType uint32) {
	binary.LittleEndian.PutUint32(b[0:], pcapMagicNanos)
	binary.LittleEndian.PutUint16(b[4:], 2)
	binary.LittleEndian.PutUint16(b[6:], 4)
	clear(b[8:16])
	binary.LittleEndian.PutUint32(b[16:], snaplen)
	binary.LittleEndian.PutUint32(b[20:], linkType)
}

// appendPcapRecord appends one pcap record (16-byte header and data) to b.
func appendPcapRecord(b []byte, tsNs int64, data []byte, origLen int) []byte {
	sec, nsec := tsNs/1_000_000_000, tsNs%1_000_000_000
	if nsec < 0 {
		sec, nsec = sec-1, nsec+1_000_000_000
	}
	b = binary.LittleEndian.AppendUint32(b, uint32(sec))
	b = binary.LittleEndian.AppendUint32(b, uint32(nsec))
	b = binary.LittleEndian.AppendUint32(b, uint32(len(data)))
	b = binary.LittleEndian.AppendUint32(b, uint32(origLen))
	return append(b, data...)
}
