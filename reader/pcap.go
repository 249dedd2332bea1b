package reader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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

// pcapState is the pcap side of a Reader. The records themselves are read
// by pcapgo; the Reader peeks each 16-byte record header first, in the
// same bufio.Reader pcapgo reads from, to learn the record's offset, to
// refuse bogus lengths with a typed error before pcapgo sees them, and to
// compute the timestamp exactly (pcapgo multiplies the microsecond field
// in uint32, which wraps for out-of-range values).
type pcapState struct {
	pg        *pcapgo.Reader
	bigEndian bool
	fracNs    int64  // 1000 for microsecond files, 1 for nanosecond files
	snapLen   uint32 // as declared in the file header
	limit     uint32 // longest record accepted
	linkType  layers.LinkType
	own       []byte // buffer for records pcapgo refuses (caplen > origlen)
}

// headerShim sits between the decompressed stream and the Reader's buffer.
// pcapgo refuses pcap files whose minor version is not 4, but the record
// format has not changed since 2.1 (libpcap and Wireshark read 2.1-2.3
// files alike), so the shim rewrites the minor version of a 2.x pcap file
// header to 4 as it passes through. Everything after the first 24 bytes
// goes through untouched, at the cost of one branch per read.
type headerShim struct {
	r      io.Reader
	hdr    [24]byte
	n, pos int
	loaded bool
	done   bool
	err    error

	patched   bool
	origMinor uint16
}

func (s *headerShim) Read(p []byte) (int, error) {
	if s.done {
		return s.r.Read(p)
	}
	if !s.loaded {
		s.loaded = true
		s.n, s.err = io.ReadFull(s.r, s.hdr[:])
		if s.err == io.ErrUnexpectedEOF {
			s.err = io.EOF // a short file: serve what there is, then end
		}
		s.patch()
	}
	if s.pos < s.n {
		c := copy(p, s.hdr[s.pos:s.n])
		s.pos += c
		return c, nil
	}
	s.done = true
	if s.err != nil {
		return 0, s.err
	}
	return s.r.Read(p)
}

func (s *headerShim) patch() {
	if s.n < 24 || !isPcapMagic(s.hdr[:4]) {
		return
	}
	bo := pcapByteOrder(s.hdr[:4])
	if bo.Uint16(s.hdr[4:6]) != 2 {
		return
	}
	if m := bo.Uint16(s.hdr[6:8]); m != 4 {
		s.origMinor = m
		s.patched = true
		bo.PutUint16(s.hdr[6:8], 4)
	}
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
	major, minor := bo.Uint16(h[4:6]), bo.Uint16(h[6:8])
	if r.shim.patched {
		minor = r.shim.origMinor
	}
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

	// pcapgo wraps its input in bufio.NewReader, which returns r.src itself
	// because it is a *bufio.Reader larger than the default size: pcapgo
	// and the Reader share one buffer, so offsets stay exact.
	st.pg, err = pcapgo.NewReader(r.src)
	if err != nil {
		return r.fail(0, fmt.Errorf("pcapgo: %w", err))
	}
	st.pg.SetSnaplen(st.limit)
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
	if n := 16 + int(capLen); capLen <= origLen && n <= bufSize {
		// The hot path: the record is served from the read buffer itself,
		// without the copy pcapgo makes into its own buffer.
		d, err := r.src.Peek(n)
		if len(d) < n {
			if err == nil || err == io.EOF {
				return nil, r.fail(off, newCause(ErrTruncated, "record data cut short: %d of %d bytes", len(d)-16, capLen))
			}
			return nil, r.fail(off, r.readCause(err, "record data"))
		}
		f.Data = d[16:n:n]
		r.src.Discard(n)
	} else if capLen > origLen {
		// pcapgo refuses such records; libpcap and Wireshark read them.
		data, err := r.readOwn(int(capLen))
		if err != nil {
			return nil, r.fail(off, err)
		}
		f.Data = data
	} else {
		data, _, err := st.pg.ZeroCopyReadPacketData()
		if err != nil {
			if err == io.EOF || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil, r.fail(off, newCause(ErrTruncated, "record data cut short: %d of %d bytes", r.stream.n-off-16, capLen))
			}
			return nil, r.fail(off, r.readCause(err, "record data"))
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

// readOwn reads a record pcapgo would refuse into the Reader's own buffer.
func (r *Reader) readOwn(capLen int) ([]byte, error) {
	st := r.pcap
	if _, err := r.src.Discard(16); err != nil {
		return nil, r.readCause(err, "record header")
	}
	if capLen <= bufSize {
		d, err := r.src.Peek(capLen)
		if len(d) < capLen {
			if err == nil || err == io.EOF {
				return nil, newCause(ErrTruncated, "record data cut short: %d of %d bytes", len(d), capLen)
			}
			return nil, r.readCause(err, "record data")
		}
		st.own = append(st.own[:0], d...)
		r.src.Discard(capLen)
		return st.own, nil
	}
	// Grow with the bytes that actually arrive, never by the length field.
	var b bytes.Buffer
	n, err := io.CopyN(&b, r.src, int64(capLen))
	if err != nil {
		if err == io.EOF {
			return nil, newCause(ErrTruncated, "record data cut short: %d of %d bytes", n, capLen)
		}
		return nil, r.readCause(err, "record data")
	}
	st.own = b.Bytes()
	return st.own, nil
}
