package reader

import (
	"encoding/binary"
	"io"
	"math/bits"

	"github.com/gopacket/gopacket/layers"
)

// pcapng block types.
const (
	ngSectionHeader  = 0x0A0D0D0A
	ngInterface      = 1
	ngObsoletePacket = 2
	ngSimplePacket   = 3
	ngStatistics     = 5
	ngEnhancedPacket = 6
	ngByteOrderMagic = 0x1A2B3C4D
)

// ngState is the pcapng side of a Reader: a block framer that reads each
// block whole from the shared read buffer (so a block must fit in its
// 1 MiB), validates it in place before using any of it (lengths, trailer,
// byte order, version, every option's extent, interface ids, record
// lengths) and takes from it what the Reader returns: packets with their
// global interface ids, timestamps and drop counts, interfaces, and
// statistics. A frame's Data points into the read buffer; nothing is
// copied.
//
// Wherever it is stricter or more complete than gopacket's pcapgo.NgReader
// it is so on purpose: pcapgo trusts every length in the file (an option
// or packet running past its block makes it read the next block's bytes
// as the rest of this one, and it never checks the trailer), reads only
// version 1.0 sections (libpcap also writes 1.2), decodes epb_dropcount
// as little-endian in big-endian sections, drops isb_osdrop, numbers
// interfaces per section, and converts binary (2^-n) timestamp
// resolutions with a truncated integer factor. The differential test
// (TestAgainstPcapgo) holds the frames both read to be identical.
type ngState struct {
	bigEndian bool
	sections  int       // section headers read so far
	section   int       // 0-based index of the current section
	ifaces    []ngIface // interfaces of the current section
	nextID    int       // global id of the next interface
}

type ngIface struct {
	global   int
	linkType layers.LinkType
	snapLen  uint32
	limit    uint32
	binary   bool   // 2^-exp resolution
	exp      uint8  // resolution exponent
	perSec   uint64 // 10^exp for decimal resolutions
	offsetNs int64  // if_tsoffset in ns
}

func (f *ngState) u16(b []byte) uint16 {
	if f.bigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *ngState) u32(b []byte) uint32 {
	if f.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *ngState) u64(b []byte) uint64 {
	if f.bigEndian {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func pad4(n uint32) uint32 { return (n + 3) &^ 3 }

func blockErr(off int64, sentinel error, format string, args ...any) error {
	return &FormatError{Offset: off, Err: newCause(sentinel, format, args...)}
}

// openPcapng reads the section header that opens the file, so that a
// damaged one fails Open.
func (r *Reader) openPcapng() error {
	r.ng = &ngState{}
	off := r.offset()
	// newReader saw the section header's magic, so ngBlock returns the
	// block or an error, never io.EOF or a skipped block.
	b, err := r.ngBlock(off)
	if err == nil {
		err = r.ng.sectionHeader(off, b, b[8:len(b)-4])
		r.src.Discard(len(b))
	}
	if err != nil {
		return r.fail(0, err)
	}
	return nil
}

// nextPcapng reads blocks until one carries a packet. Interfaces and
// statistics take effect as their blocks are read, so they are known
// before the first frame that follows them.
func (r *Reader) nextPcapng() (*Frame, error) {
	st := r.ng
	for {
		off := r.offset()
		b, err := r.ngBlock(off)
		if err == io.EOF {
			r.err = io.EOF
			return nil, io.EOF
		}
		if err != nil {
			return nil, r.fail(0, err)
		}
		if b == nil { // a large block of a type the reader skips
			continue
		}
		body := b[8 : len(b)-4]
		packet := false
		switch st.u32(b[0:4]) {
		case ngSectionHeader:
			err = st.sectionHeader(off, b, body)
		case ngInterface:
			var ifc Interface
			if ifc, err = st.interfaceDescription(off, b, body); err == nil {
				r.addInterface(ifc)
			}
		case ngEnhancedPacket, ngObsoletePacket:
			packet = true
			err = st.packet(&r.frame, off, st.u32(b[0:4]), b, body)
		case ngSimplePacket:
			packet = true
			err = st.simplePacket(&r.frame, off, b, body)
		case ngStatistics:
			var s InterfaceStats
			if s, err = st.statistics(off, body); err == nil {
				r.setStats(s)
			}
		}
		if err != nil {
			return nil, r.fail(0, err)
		}
		// The block's bytes stay in the buffer until the next read from
		// it, so a frame's Data stays valid until the next call to Next.
		r.src.Discard(len(b))
		if packet {
			r.frames++
			f := &r.frame
			f.Number = r.frames
			r.anom.checkFrame(f, r.ifaces[f.InterfaceID].SnapLen)
			return f, nil
		}
	}
}

// ngBlock frames the block at offset off: it returns the whole block,
// still in the read buffer, with its length and trailer checked; nil for
// a block too large for the buffer that the reader has no use for, which
// it skips; io.EOF at a clean end of input.
func (r *Reader) ngBlock(off int64) ([]byte, error) {
	st := r.ng
	h, err := r.src.Peek(12)
	if len(h) < 12 {
		if len(h) == 0 && err == io.EOF {
			return nil, io.EOF
		}
		if err != nil && err != io.EOF {
			return nil, &FormatError{Offset: off, Err: r.readCause(err, "block header")}
		}
		return nil, blockErr(off, ErrTruncated, "block header cut short: %d of 12 bytes", len(h))
	}
	if binary.LittleEndian.Uint32(h[:4]) == ngSectionHeader {
		switch {
		case binary.BigEndian.Uint32(h[8:12]) == ngByteOrderMagic:
			st.bigEndian = true
		case binary.LittleEndian.Uint32(h[8:12]) == ngByteOrderMagic:
			st.bigEndian = false
		default:
			return nil, blockErr(off, ErrBadBlock, "section header byte-order magic %#08x is invalid", binary.BigEndian.Uint32(h[8:12]))
		}
	}
	typ, blen := st.u32(h[0:4]), st.u32(h[4:8])
	if blen < 12 || blen%4 != 0 {
		return nil, blockErr(off, ErrBadBlock, "block type %#x has invalid length %d", typ, blen)
	}
	if blen > bufSize {
		switch typ {
		case ngSectionHeader, ngInterface, ngObsoletePacket, ngSimplePacket, ngStatistics, ngEnhancedPacket:
			return nil, blockErr(off, ErrRecordTooLarge, "block type %#x length %d exceeds the %d byte limit", typ, blen, bufSize)
		}
		return nil, r.skipLarge(off, typ, blen)
	}
	b, err := r.src.Peek(int(blen))
	if len(b) < int(blen) {
		if err != nil && err != io.EOF {
			return nil, &FormatError{Offset: off, Err: r.readCause(err, "block")}
		}
		return nil, blockErr(off, ErrTruncated, "block type %#x of %d bytes cut short after %d bytes", typ, blen, len(b))
	}
	if t := st.u32(b[blen-4:]); t != blen {
		return nil, blockErr(off, ErrBadBlock, "block type %#x length %d in header but %d in trailer", typ, blen, t)
	}
	return b, nil
}

// skipLarge skips a block too large for the buffer that the reader does
// not need, checking that it is complete and that its trailer matches.
func (r *Reader) skipLarge(off int64, typ, blen uint32) error {
	n, err := r.src.Discard(int(blen) - 4)
	if err == nil {
		var t []byte
		t, err = r.src.Peek(4)
		n += len(t)
		if err == nil {
			if got := r.ng.u32(t); got != blen {
				return blockErr(off, ErrBadBlock, "block type %#x length %d in header but %d in trailer", typ, blen, got)
			}
			r.src.Discard(4)
			return nil
		}
	}
	if err == io.EOF {
		return blockErr(off, ErrTruncated, "block type %#x of %d bytes cut short after %d bytes", typ, blen, n)
	}
	return &FormatError{Offset: off, Err: r.readCause(err, "block")}
}

// walkOptions checks that every option in opts lies inside it, and calls
// fn for each one before opt_endofopt.
func (f *ngState) walkOptions(off int64, typ uint32, opts []byte, fn func(code uint16, val []byte)) error {
	for len(opts) >= 4 {
		code, l := f.u16(opts[0:2]), uint32(f.u16(opts[2:4]))
		if code == 0 {
			if l != 0 {
				return blockErr(off, ErrBadBlock, "block type %#x: end-of-options with length %d", typ, l)
			}
			return nil
		}
		if 4+pad4(l) > uint32(len(opts)) {
			return blockErr(off, ErrBadBlock, "block type %#x: option %d of length %d runs past the end of the block", typ, code, l)
		}
		if fn != nil {
			fn(code, opts[4:4+l])
		}
		opts = opts[4+pad4(l):]
	}
	if len(opts) != 0 {
		return blockErr(off, ErrBadBlock, "block type %#x: %d stray bytes after the options", typ, len(opts))
	}
	return nil
}

func (f *ngState) sectionHeader(off int64, b, body []byte) error {
	if len(body) < 16 {
		return blockErr(off, ErrBadBlock, "section header of %d bytes is too short", len(b))
	}
	major, minor := f.u16(body[4:6]), f.u16(body[6:8])
	// libpcap reads 1.0 and 1.2 alike (some writers put 1.2).
	if major != 1 || (minor != 0 && minor != 2) {
		return blockErr(off, ErrUnsupportedVersion, "pcapng version %d.%d is not supported", major, minor)
	}
	if err := f.walkOptions(off, ngSectionHeader, body[16:], nil); err != nil {
		return err
	}
	f.section = f.sections
	f.sections++
	f.ifaces = f.ifaces[:0]
	return nil
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func (f *ngState) interfaceDescription(off int64, b, body []byte) (Interface, error) {
	if len(body) < 8 {
		return Interface{}, blockErr(off, ErrBadBlock, "interface description of %d bytes is too short", len(b))
	}
	if f.nextID >= MaxInterfaces {
		return Interface{}, blockErr(off, ErrTooManyInterfaces, "interface description %d: a capture may describe at most %d interfaces", f.nextID+1, MaxInterfaces)
	}
	ifc := Interface{
		ID:                  f.nextID,
		Section:             f.section,
		LinkType:            layers.LinkType(f.u16(body[0:2])),
		SnapLen:             f.u32(body[4:8]),
		TimestampResolution: 6,
	}
	err := f.walkOptions(off, ngInterface, body[8:], func(code uint16, val []byte) {
		switch code {
		case 2:
			ifc.Name = string(val)
		case 3:
			ifc.Description = string(val)
		case 9:
			if len(val) >= 1 {
				ifc.TimestampResolution = val[0]
			}
		case 14:
			if len(val) >= 8 {
				ifc.TimestampOffsetSec = int64(f.u64(val))
			}
		}
	})
	if err != nil {
		return Interface{}, err
	}
	ni := ngIface{global: ifc.ID, linkType: ifc.LinkType, snapLen: ifc.SnapLen, exp: ifc.TimestampResolution & 0x7f}
	ni.limit = min(max(ni.snapLen, minRecordLimit), maxRecordLimit)
	ni.offsetNs = ifc.TimestampOffsetSec * 1e9
	if ifc.TimestampResolution&0x80 != 0 {
		ni.binary = true
		if ni.exp > 63 { // 2^-64 s and finer do not fit the 64-bit mask
			return Interface{}, blockErr(off, ErrBadBlock, "if_tsresol %#x is not supported", ifc.TimestampResolution)
		}
	} else {
		if int(ni.exp) >= len(pow10) { // 10^20 does not fit in 64 bits
			return Interface{}, blockErr(off, ErrBadBlock, "if_tsresol %#x is not supported", ifc.TimestampResolution)
		}
		ni.perSec = pow10[ni.exp]
	}
	f.nextID++
	f.ifaces = append(f.ifaces, ni)
	return ifc, nil
}

// ns converts a pcapng timestamp in the interface's units to ns.
func (i *ngIface) ns(ts uint64) int64 {
	var sec, fracNs uint64
	if i.binary {
		sec = ts >> i.exp
		frac := ts & (1<<i.exp - 1)
		hi, lo := bits.Mul64(frac, 1e9)
		if i.exp > 0 {
			fracNs = lo>>i.exp | hi<<(64-i.exp)
		}
	} else {
		sec = ts / i.perSec
		frac := ts % i.perSec
		if i.exp <= 9 {
			fracNs = frac * pow10[9-i.exp]
		} else {
			fracNs = frac / pow10[i.exp-9]
		}
	}
	return int64(sec)*1e9 + int64(fracNs) + i.offsetNs
}

func (f *ngState) iface(off int64, typ uint32, id uint32) (*ngIface, error) {
	if id >= uint32(len(f.ifaces)) {
		return nil, blockErr(off, ErrBadBlock, "block type %#x refers to interface %d, but the section describes %d", typ, id, len(f.ifaces))
	}
	return &f.ifaces[id], nil
}

// packet fills fr from an enhanced or obsolete packet block (all but
// Number).
func (f *ngState) packet(fr *Frame, off int64, typ uint32, b, body []byte) error {
	if len(body) < 20 {
		return blockErr(off, ErrBadBlock, "packet block of %d bytes is too short", len(b))
	}
	var id uint32
	drop, hasDrop := uint64(0), false
	if typ == ngEnhancedPacket {
		id = f.u32(body[0:4])
	} else {
		id = uint32(f.u16(body[0:2]))
		if d := f.u16(body[2:4]); d != 0xFFFF { // 0xFFFF: not available
			drop, hasDrop = uint64(d), true
		}
	}
	ifc, err := f.iface(off, typ, id)
	if err != nil {
		return err
	}
	capLen := f.u32(body[12:16])
	if capLen > ifc.limit {
		return blockErr(off, ErrRecordTooLarge, "captured length %d exceeds snap length %d", capLen, ifc.snapLen)
	}
	dataEnd := 20 + pad4(capLen)
	if dataEnd > uint32(len(body)) {
		return blockErr(off, ErrBadBlock, "captured length %d runs past the end of the %d byte block", capLen, len(b))
	}
	if typ == ngEnhancedPacket {
		err = f.walkOptions(off, typ, body[dataEnd:], func(code uint16, val []byte) {
			if code == 4 && len(val) >= 8 { // epb_dropcount
				drop, hasDrop = f.u64(val), true
			}
		})
	} else {
		err = f.walkOptions(off, typ, body[dataEnd:], nil)
	}
	if err != nil {
		return err
	}
	end := 20 + capLen
	fr.TimestampNs = ifc.ns(uint64(f.u32(body[4:8]))<<32 | uint64(f.u32(body[8:12])))
	fr.CapLen = int(capLen)
	fr.OrigLen = int(f.u32(body[16:20]))
	fr.LinkType = ifc.linkType
	fr.InterfaceID = ifc.global
	fr.Data = body[20:end:end]
	fr.DropCount, fr.HasDropCount = drop, hasDrop
	fr.Offset = off
	return nil
}

// simplePacket fills fr from a simple packet block (all but Number). It
// has no timestamp; its captured length is the original length cut to
// the snap length, as pcapgo and libpcap compute it.
func (f *ngState) simplePacket(fr *Frame, off int64, b, body []byte) error {
	if len(body) < 4 {
		return blockErr(off, ErrBadBlock, "simple packet block of %d bytes is too short", len(b))
	}
	ifc, err := f.iface(off, ngSimplePacket, 0)
	if err != nil {
		return err
	}
	orig := f.u32(body[0:4])
	capLen := orig
	if ifc.snapLen != 0 && capLen > ifc.snapLen {
		capLen = ifc.snapLen
	}
	if capLen > ifc.limit {
		return blockErr(off, ErrRecordTooLarge, "captured length %d exceeds snap length %d", capLen, ifc.snapLen)
	}
	if 4+pad4(capLen) > uint32(len(body)) {
		return blockErr(off, ErrBadBlock, "simple packet of original length %d runs past the end of the %d byte block", orig, len(b))
	}
	end := 4 + capLen
	fr.TimestampNs = 0
	fr.CapLen = int(capLen)
	fr.OrigLen = int(orig)
	fr.LinkType = ifc.linkType
	fr.InterfaceID = ifc.global
	fr.Data = body[4:end:end]
	fr.DropCount, fr.HasDropCount = 0, false
	fr.Offset = off
	return nil
}

func (f *ngState) statistics(off int64, body []byte) (InterfaceStats, error) {
	if len(body) < 12 {
		return InterfaceStats{}, blockErr(off, ErrBadBlock, "interface statistics block of %d bytes is too short", len(body)+12)
	}
	ifc, err := f.iface(off, ngStatistics, f.u32(body[0:4]))
	if err != nil {
		return InterfaceStats{}, err
	}
	s := InterfaceStats{InterfaceID: ifc.global, Offset: off}
	s.TimestampNs = ifc.ns(uint64(f.u32(body[4:8]))<<32 | uint64(f.u32(body[8:12])))
	err = f.walkOptions(off, ngStatistics, body[12:], func(code uint16, val []byte) {
		if len(val) < 8 {
			return
		}
		v := f.u64(val)
		switch code {
		case 2:
			s.StartNs, s.HasStart = ifc.ns(uint64(f.u32(val[0:4]))<<32|uint64(f.u32(val[4:8]))), true
		case 3:
			s.EndNs, s.HasEnd = ifc.ns(uint64(f.u32(val[0:4]))<<32|uint64(f.u32(val[4:8]))), true
		case 4:
			s.Received, s.HasReceived = v, true
		case 5:
			s.Dropped, s.HasDropped = v, true
		case 6:
			s.FilterAccepted, s.HasFilterAccepted = v, true
		case 7:
			s.OSDropped, s.HasOSDropped = v, true
		case 8:
			s.Delivered, s.HasDelivered = v, true
		}
	})
	return s, err
}
