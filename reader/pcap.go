package reader

import (
	"bytes"
	"encoding/binary"
	"io"

	"github.com/gopacket/gopacket/layers"
)

// pcap file magics as read little-endian from the first four bytes.
const (
	pcapMagicUsecLE = 0xA1B2C3D4
	pcapMagicUsecBE = 0xD4C3B2A1
	pcapMagicNsecLE = 0xA1B23C4D
	pcapMagicNsecBE = 0x4D3CB2A1
)

func isPcapMagic(b []byte) bool {
	switch binary.LittleEndian.Uint32(b) {
	case pcapMagicUsecLE, pcapMagicUsecBE, pcapMagicNsecLE, pcapMagicNsecBE:
		return true
	}
	return false
}

// pcapState is the pcap side of a Reader. Each 16-byte record header is
// read in place in the read buffer, its lengths checked before anything
// is read or allocated for them, and the record's data served from the
// buffer itself.
type pcapState struct {
	bigEndian bool
	fracNs    int64  // 1000 for microsecond files, 1 for nanosecond files
	snapLen   uint32 // as declared in the file header
	limit     uint32 // longest record accepted
	linkType  layers.LinkType
	large     []byte // buffer for records too long for the read buffer
}

func pcapByteOrder(magic []byte) binary.ByteOrder {
	switch binary.LittleEndian.Uint32(magic) {
	case pcapMagicUsecBE, pcapMagicNsecBE:
		return binary.BigEndian
	}
	return binary.LittleEndian
}

func (r *Reader) openPcap() error {
	h, err := r.src.Peek(24)
	if len(h) < 24 {
		if err != nil && err != io.EOF {
			return r.fail(0, r.readCause(err, "pcap file header"))
		}
		return r.fail(0, newCause(ErrTruncated, "pcap file header cut short: %d of 24 bytes", len(h)))
	}
	bo := pcapByteOrder(h[:4])
	st := &pcapState{bigEndian: bo == binary.BigEndian, fracNs: 1000}
	resolution := uint8(6)
	if m := binary.LittleEndian.Uint32(h[:4]); m == pcapMagicNsecLE || m == pcapMagicNsecBE {
		st.fracNs = 1
		resolution = 9
	}
	// Versions 2.1 to 2.4 share one record format (libpcap and Wireshark
	// read them alike; pcapgo refuses all but 2.4).
	major, minor := bo.Uint16(h[4:6]), bo.Uint16(h[6:8])
	if major != 2 {
		return r.fail(4, newCause(ErrUnsupportedVersion, "pcap version %d.%d is not supported (only 2.x)", major, minor))
	}
	st.snapLen = bo.Uint32(h[16:20])
	if st.snapLen == 0 {
		r.anom.note(SnapLenZero, 0, 16)
	}
	// The upper bits of the link type field hold FCS information.
	st.linkType = layers.LinkType(bo.Uint32(h[20:24]) & 0xFFFF)
	st.limit = min(max(st.snapLen, minRecordLimit), maxRecordLimit)
	r.src.Discard(24)
	r.pcap = st
	r.addInterface(Interface{LinkType: st.linkType, SnapLen: st.snapLen, TimestampResolution: resolution})
	return nil
}

func (r *Reader) nextPcap() (*Frame, error) {
	st := r.pcap
	off := r.offset()
	h, err := r.src.Peek(16)
	if len(h) < 16 {
		if len(h) == 0 && err == io.EOF {
			r.err = io.EOF
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, r.fail(off, r.readCause(err, "record header"))
		}
		return nil, r.fail(off, newCause(ErrTruncated, "record header cut short: %d of 16 bytes", len(h)))
	}
	var sec, frac, capLen, origLen uint32
	if st.bigEndian {
		sec, frac = binary.BigEndian.Uint32(h[0:4]), binary.BigEndian.Uint32(h[4:8])
		capLen, origLen = binary.BigEndian.Uint32(h[8:12]), binary.BigEndian.Uint32(h[12:16])
	} else {
		sec, frac = binary.LittleEndian.Uint32(h[0:4]), binary.LittleEndian.Uint32(h[4:8])
		capLen, origLen = binary.LittleEndian.Uint32(h[8:12]), binary.LittleEndian.Uint32(h[12:16])
	}
	if capLen > st.limit {
		return nil, r.fail(off, newCause(ErrRecordTooLarge, "record length %d exceeds snap length %d", capLen, st.snapLen))
	}
	f := &r.frame
	if n := 16 + int(capLen); n <= bufSize {
		// The hot path: the record is served from the read buffer itself.
		// Records whose captured length exceeds the original length are
		// read too (libpcap and Wireshark read them; pcapgo refuses them)
		// and noted as an anomaly.
		d, err := r.src.Peek(n)
		if len(d) < n {
			if err == nil || err == io.EOF {
				return nil, r.fail(off, newCause(ErrTruncated, "record data cut short: %d of %d bytes", len(d)-16, capLen))
			}
			return nil, r.fail(off, r.readCause(err, "record data"))
		}
		f.Data = d[16:n:n]
		r.src.Discard(n)
	} else {
		data, err := r.readLarge(int(capLen))
		if err != nil {
			return nil, r.fail(off, err)
		}
		f.Data = data
	}
	r.frames++
	f.Number = r.frames
	// Sub-second fields of 1e9 ns (or 1e6 us) and more occur in damaged
	// files; they are added, not rejected, so such a frame lands after the
	// whole seconds it overflows into. tshark prints the raw fields instead.
	f.TimestampNs = int64(sec)*1e9 + int64(frac)*st.fracNs
	f.CapLen = int(capLen)
	f.OrigLen = int(origLen)
	f.LinkType = st.linkType
	f.InterfaceID = 0
	if uint64(frac)*uint64(st.fracNs) >= 1e9 {
		r.anom.note(FractionOverflow, f.Number, off)
	}
	f.DropCount, f.HasDropCount = 0, false
	f.Offset = off
	r.anom.checkFrame(f, st.snapLen)
	return f, nil
}

// readLarge reads a record too long for the read buffer into the
// Reader's own buffer, which grows with the bytes that actually arrive,
// never by the length field alone (the limit is 16 MiB).
func (r *Reader) readLarge(capLen int) ([]byte, error) {
	st := r.pcap
	r.src.Discard(16) // peeked, so buffered
	b := bytes.NewBuffer(st.large[:0])
	n, err := io.CopyN(b, r.src, int64(capLen))
	st.large = b.Bytes()
	if err != nil {
		if err == io.EOF {
			return nil, newCause(ErrTruncated, "record data cut short: %d of %d bytes", n, capLen)
		}
		return nil, r.readCause(err, "record data")
	}
	return st.large, nil
}
