package reader

import (
	"bufio"
	"encoding/binary"
	"io"
	"math/bits"

	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
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

// Why a framer in front of pcapgo's NgReader:
//
// pcapgo trusts every length in the file. A block whose options or packet
// run past its declared length, or whose trailer disagrees with its header,
// makes it read the next block's bytes as the rest of this one (it never
// checks the trailer), and its errors are untyped strings without offsets.
// It also decodes epb_dropcount as little-endian in big-endian sections,
// drops isb_osdrop, numbers interfaces per section, and converts binary
// (2^-n) timestamp resolutions with a truncated integer factor.
//
// The framer therefore reads each block whole (it must fit in the 1 MiB
// read buffer, where it is validated in place: lengths, trailer, byte
// order, version, every option's extent, interface ids, record lengths),
// extracts what pcapgo lacks (global interface ids, timestamps, drop
// counts, statistics), and only then hands the block to pcapgo, which
// copies out the packet bytes. Blocks pcapgo has no use for here (name
// resolution, decryption secrets, statistics, custom and unknown blocks)
// are validated and skipped, never handed on; enhanced packet blocks are
// handed on without their options. Each block handed on leaves an event in
// a queue tagged with its end position in the stream pcapgo reads; when
// pcapgo returns a packet, the events up to the position pcapgo has
// consumed are applied, so interfaces, statistics and offsets follow the
// frames exactly despite read-ahead.
type ngFramer struct {
	r *Reader // for the source buffer and its offsets

	segs      [3][]byte // rest of the block being handed to pcapgo
	seg       int
	inSrc     int   // bytes of the current block still to discard from r.src
	delivered int64 // bytes handed to pcapgo so far
	err       error // sticky: io.EOF or *FormatError

	started   bool
	bigEndian bool
	section   int
	ifaces    []ngIface // interfaces of the current section
	nextID    int

	events []ngEvent
	head   int

	hdr     [8]byte
	trailer [4]byte
	shb     []byte
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

type ngEventKind uint8

const (
	evPacket ngEventKind = iota + 1
	evInterface
	evStats
)

type ngEvent struct {
	end      int64 // position in the stream handed to pcapgo
	kind     ngEventKind
	off      int64 // block offset in the decompressed input
	iface    int
	linkType layers.LinkType
	tsNs     int64
	capLen   uint32
	drop     uint64
	hasDrop  bool
	ifc      Interface
	stats    InterfaceStats
}

type ngState struct {
	f   ngFramer
	buf *bufio.Reader // between the framer and pcapgo
	pg  *pcapgo.NgReader
}

func (f *ngFramer) u16(b []byte) uint16 {
	if f.bigEndian {
		return binary.BigEndian.Uint16(b)
	}
	return binary.LittleEndian.Uint16(b)
}

func (f *ngFramer) u32(b []byte) uint32 {
	if f.bigEndian {
		return binary.BigEndian.Uint32(b)
	}
	return binary.LittleEndian.Uint32(b)
}

func (f *ngFramer) u64(b []byte) uint64 {
	if f.bigEndian {
		return binary.BigEndian.Uint64(b)
	}
	return binary.LittleEndian.Uint64(b)
}

func (f *ngFramer) put32(b []byte, v uint32) {
	if f.bigEndian {
		binary.BigEndian.PutUint32(b, v)
	} else {
		binary.LittleEndian.PutUint32(b, v)
	}
}

func pad4(n uint32) uint32 { return (n + 3) &^ 3 }

func blockErr(off int64, sentinel error, format string, args ...any) error {
	return &FormatError{Offset: off, Err: newCause(sentinel, format, args...)}
}

// Read hands pcapgo the validated blocks, at most the rest of one block
// per call.
func (f *ngFramer) Read(p []byte) (int, error) {
	for {
		for f.seg < len(f.segs) && len(f.segs[f.seg]) == 0 {
			f.seg++
		}
		if f.seg < len(f.segs) {
			n := copy(p, f.segs[f.seg])
			f.segs[f.seg] = f.segs[f.seg][n:]
			f.delivered += int64(n)
			return n, nil
		}
		if f.inSrc > 0 {
			f.r.src.Discard(f.inSrc) // peeked, so always buffered
			f.inSrc = 0
		}
		if f.err != nil {
			return 0, f.err
		}
		if err := f.next(); err != nil {
			f.err = err
			return 0, err
		}
	}
}

// next frames blocks until one is to be handed to pcapgo, and sets segs.
func (f *ngFramer) next() error {
	src := f.r.src
	for {
		off := f.r.offset()
		h, err := src.Peek(12)
		if len(h) < 12 {
			if len(h) == 0 && err == io.EOF {
				return io.EOF
			}
			if err != nil && err != io.EOF {
				return &FormatError{Offset: off, Err: f.r.readCause(err, "block header")}
			}
			return blockErr(off, ErrTruncated, "block header cut short: %d of 12 bytes", len(h))
		}
		if binary.LittleEndian.Uint32(h[:4]) == ngSectionHeader {
			switch {
			case binary.BigEndian.Uint32(h[8:12]) == ngByteOrderMagic:
				f.bigEndian = true
			case binary.LittleEndian.Uint32(h[8:12]) == ngByteOrderMagic:
				f.bigEndian = false
			default:
				return blockErr(off, ErrBadBlock, "section header byte-order magic %#08x is invalid", binary.BigEndian.Uint32(h[8:12]))
			}
			f.started = true
		} else if !f.started {
			return blockErr(off, ErrBadBlock, "first block is not a section header")
		}
		typ, blen := f.u32(h[0:4]), f.u32(h[4:8])
		if blen < 12 || blen%4 != 0 {
			return blockErr(off, ErrBadBlock, "block type %#x has invalid length %d", typ, blen)
		}
		if blen > bufSize {
			switch typ {
			case ngSectionHeader, ngInterface, ngObsoletePacket, ngSimplePacket, ngStatistics, ngEnhancedPacket:
				return blockErr(off, ErrRecordTooLarge, "block type %#x length %d exceeds the %d byte limit", typ, blen, bufSize)
			}
			if err := f.skipLarge(off, typ, blen); err != nil {
				return err
			}
			continue
		}
		b, err := src.Peek(int(blen))
		if len(b) < int(blen) {
			if err != nil && err != io.EOF {
				return &FormatError{Offset: off, Err: f.r.readCause(err, "block")}
			}
			return blockErr(off, ErrTruncated, "block type %#x of %d bytes cut short after %d bytes", typ, blen, len(b))
		}
		if t := f.u32(b[blen-4:]); t != blen {
			return blockErr(off, ErrBadBlock, "block type %#x length %d in header but %d in trailer", typ, blen, t)
		}
		body := b[8 : blen-4]
		handOn := true
		switch typ {
		case ngSectionHeader:
			err = f.sectionHeader(off, b, body)
		case ngInterface:
			err = f.interfaceDescription(off, b, body)
		case ngEnhancedPacket, ngObsoletePacket:
			err = f.packet(off, typ, b, body)
		case ngSimplePacket:
			err = f.simplePacket(off, b, body)
		case ngStatistics:
			err = f.statistics(off, body)
			handOn = false
		default:
			handOn = false
		}
		if err != nil {
			return err
		}
		if handOn {
			f.seg = 0
			f.inSrc = int(blen)
			return nil
		}
		src.Discard(int(blen))
	}
}

// skipLarge skips a block too large for the buffer that pcapgo does not
// need, checking that it is complete and that its trailer matches.
func (f *ngFramer) skipLarge(off int64, typ, blen uint32) error {
	n, err := f.r.src.Discard(int(blen) - 4)
	if err == nil {
		var t []byte
		t, err = f.r.src.Peek(4)
		n += len(t)
		if err == nil {
			if got := f.u32(t); got != blen {
				return blockErr(off, ErrBadBlock, "block type %#x length %d in header but %d in trailer", typ, blen, got)
			}
			f.r.src.Discard(4)
			return nil
		}
	}
	if err == io.EOF {
		return blockErr(off, ErrTruncated, "block type %#x of %d bytes cut short after %d bytes", typ, blen, n)
	}
	return &FormatError{Offset: off, Err: f.r.readCause(err, "block")}
}

// walkOptions checks that every option in opts lies inside it, and calls
// fn for each one before opt_endofopt.
func (f *ngFramer) walkOptions(off int64, typ uint32, opts []byte, fn func(code uint16, val []byte)) error {
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

func (f *ngFramer) sectionHeader(off int64, b, body []byte) error {
	if len(body) < 16 {
		return blockErr(off, ErrBadBlock, "section header of %d bytes is too short", len(b))
	}
	major, minor := f.u16(body[4:6]), f.u16(body[6:8])
	// libpcap reads 1.0 and 1.2 alike (some writers put 1.2); pcapgo only 1.0.
	if major != 1 || (minor != 0 && minor != 2) {
		return blockErr(off, ErrUnsupportedVersion, "pcapng version %d.%d is not supported", major, minor)
	}
	if err := f.walkOptions(off, ngSectionHeader, body[16:], nil); err != nil {
		return err
	}
	if f.nextID > 0 || len(f.ifaces) > 0 || f.delivered > 0 {
		f.section++
	}
	f.ifaces = f.ifaces[:0]
	if minor == 2 {
		f.shb = append(f.shb[:0], b...)
		if f.bigEndian {
			binary.BigEndian.PutUint16(f.shb[14:16], 0)
		} else {
			binary.LittleEndian.PutUint16(f.shb[14:16], 0)
		}
		b = f.shb
	}
	f.segs = [3][]byte{b}
	return nil
}

var pow10 = [...]uint64{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19}

func (f *ngFramer) interfaceDescription(off int64, b, body []byte) error {
	if len(body) < 8 {
		return blockErr(off, ErrBadBlock, "interface description of %d bytes is too short", len(b))
	}
	if f.nextID >= MaxInterfaces {
		return blockErr(off, ErrTooManyInterfaces, "interface description %d: a capture may describe at most %d interfaces", f.nextID+1, MaxInterfaces)
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
		return err
	}
	ni := ngIface{global: ifc.ID, linkType: ifc.LinkType, snapLen: ifc.SnapLen, exp: ifc.TimestampResolution & 0x7f}
	ni.limit = min(max(ni.snapLen, minRecordLimit), maxRecordLimit)
	ni.offsetNs = ifc.TimestampOffsetSec * 1e9
	if ifc.TimestampResolution&0x80 != 0 {
		ni.binary = true
		if ni.exp > 63 { // pcapgo's limit too
			return blockErr(off, ErrBadBlock, "if_tsresol %#x is not supported", ifc.TimestampResolution)
		}
	} else {
		if int(ni.exp) >= len(pow10) { // 10^20 does not fit in 64 bits
			return blockErr(off, ErrBadBlock, "if_tsresol %#x is not supported", ifc.TimestampResolution)
		}
		ni.perSec = pow10[ni.exp]
	}
	f.nextID++
	f.ifaces = append(f.ifaces, ni)
	f.segs = [3][]byte{b}
	f.push(ngEvent{end: f.delivered + int64(len(b)), kind: evInterface, off: off, ifc: ifc})
	return nil
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

func (f *ngFramer) iface(off int64, typ uint32, id uint32) (*ngIface, error) {
	if id >= uint32(len(f.ifaces)) {
		return nil, blockErr(off, ErrBadBlock, "block type %#x refers to interface %d, but the section describes %d", typ, id, len(f.ifaces))
	}
	return &f.ifaces[id], nil
}

func (f *ngFramer) packet(off int64, typ uint32, b, body []byte) error {
	if len(body) < 20 {
		return blockErr(off, ErrBadBlock, "packet block of %d bytes is too short", len(b))
	}
	var id uint32
	ev := ngEvent{kind: evPacket, off: off}
	if typ == ngEnhancedPacket {
		id = f.u32(body[0:4])
	} else {
		id = uint32(f.u16(body[0:2]))
		if d := f.u16(body[2:4]); d != 0xFFFF { // 0xFFFF: not available
			ev.drop, ev.hasDrop = uint64(d), true
		}
	}
	ifc, err := f.iface(off, typ, id)
	if err != nil {
		return err
	}
	ev.capLen = f.u32(body[12:16])
	if ev.capLen > ifc.limit {
		return blockErr(off, ErrRecordTooLarge, "captured length %d exceeds snap length %d", ev.capLen, ifc.snapLen)
	}
	dataEnd := 20 + pad4(ev.capLen)
	if dataEnd > uint32(len(body)) {
		return blockErr(off, ErrBadBlock, "captured length %d runs past the end of the %d byte block", ev.capLen, len(b))
	}
	if typ == ngEnhancedPacket {
		err = f.walkOptions(off, typ, body[dataEnd:], func(code uint16, val []byte) {
			if code == 4 && len(val) >= 8 { // epb_dropcount
				ev.drop, ev.hasDrop = f.u64(val), true
			}
		})
	} else {
		err = f.walkOptions(off, typ, body[dataEnd:], nil)
	}
	if err != nil {
		return err
	}
	ev.iface, ev.linkType = ifc.global, ifc.linkType
	ev.tsNs = ifc.ns(uint64(f.u32(body[4:8]))<<32 | uint64(f.u32(body[8:12])))
	if typ == ngEnhancedPacket {
		// Hand the block on without its options: pcapgo would allocate
		// for some of them and misread others (see ngFramer).
		n := 8 + dataEnd + 4
		copy(f.hdr[:4], b[:4])
		f.put32(f.hdr[4:8], n)
		f.put32(f.trailer[:], n)
		f.segs = [3][]byte{f.hdr[:], body[:dataEnd], f.trailer[:]}
		ev.end = f.delivered + int64(n)
	} else {
		f.segs = [3][]byte{b}
		ev.end = f.delivered + int64(len(b))
	}
	f.push(ev)
	return nil
}

func (f *ngFramer) simplePacket(off int64, b, body []byte) error {
	if len(body) < 4 {
		return blockErr(off, ErrBadBlock, "simple packet block of %d bytes is too short", len(b))
	}
	ifc, err := f.iface(off, ngSimplePacket, 0)
	if err != nil {
		return err
	}
	orig := f.u32(body[0:4])
	capLen := orig // as pcapgo computes it
	if ifc.snapLen != 0 && capLen > ifc.snapLen {
		capLen = ifc.snapLen
	}
	if capLen > ifc.limit {
		return blockErr(off, ErrRecordTooLarge, "captured length %d exceeds snap length %d", capLen, ifc.snapLen)
	}
	if 4+pad4(capLen) > uint32(len(body)) {
		return blockErr(off, ErrBadBlock, "simple packet of original length %d runs past the end of the %d byte block", orig, len(b))
	}
	f.segs = [3][]byte{b}
	f.push(ngEvent{end: f.delivered + int64(len(b)), kind: evPacket, off: off, iface: ifc.global, linkType: ifc.linkType, capLen: capLen})
	return nil
}

func (f *ngFramer) statistics(off int64, body []byte) error {
	if len(body) < 12 {
		return blockErr(off, ErrBadBlock, "interface statistics block of %d bytes is too short", len(body)+12)
	}
	ifc, err := f.iface(off, ngStatistics, f.u32(body[0:4]))
	if err != nil {
		return err
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
	if err != nil {
		return err
	}
	// Not handed to pcapgo: it is applied once pcapgo has consumed the
	// blocks before it.
	ev := ngEvent{end: f.delivered, kind: evStats, off: off, stats: s}
	if n := len(f.events); n > f.head {
		// A run of statistics blocks with no packet in between keeps only
		// the last one per interface, so the queue cannot grow with them.
		if last := &f.events[n-1]; last.kind == evStats && last.end == ev.end && last.stats.InterfaceID == s.InterfaceID {
			*last = ev
			return nil
		}
	}
	f.push(ev)
	return nil
}

func (f *ngFramer) push(ev ngEvent) {
	if f.head > 0 && f.head == len(f.events) {
		f.events, f.head = f.events[:0], 0
	} else if f.head >= 256 && f.head*2 >= len(f.events) {
		n := copy(f.events, f.events[f.head:])
		f.events, f.head = f.events[:n], 0
	}
	f.events = append(f.events, ev)
}

func (r *Reader) openPcapng() error {
	st := &ngState{}
	st.f.r = r
	r.ng = st
	// At least pcapgo's default size, so that pcapgo uses this buffer as is
	// and the consumed position is delivered minus Buffered.
	st.buf = bufio.NewReaderSize(&st.f, 4096)
	pg, err := pcapgo.NewNgReader(st.buf, pcapgo.NgReaderOptions{WantMixedLinkType: true})
	if err != nil {
		return r.ngFail(err)
	}
	st.pg = pg
	return nil
}

// ngFail reports an error from pcapgo: the framer's own error when it has
// one, else pcapgo's, located at the first block not yet consumed.
func (r *Reader) ngFail(err error) error {
	f := &r.ng.f
	if f.err != nil && f.err != io.EOF {
		return r.fail(0, f.err)
	}
	off := r.offset()
	if f.head < len(f.events) {
		off = f.events[f.head].off
	}
	if err == io.EOF {
		err = io.ErrUnexpectedEOF
	}
	return r.fail(off, &causeError{msg: "pcapgo", sentinel: ErrBadBlock, cause: err})
}

func (r *Reader) nextPcapng() (*Frame, error) {
	st := r.ng
	data, ci, err := st.pg.ZeroCopyReadPacketData()
	if err != nil {
		if err == io.EOF && (st.f.err == nil || st.f.err == io.EOF) {
			r.applyNg(st.f.delivered)
			r.err = io.EOF
			return nil, io.EOF
		}
		return nil, r.ngFail(err)
	}
	consumed := st.f.delivered - int64(st.buf.Buffered())
	if n := r.applyNg(consumed); n != 1 || r.frame.CapLen != len(data) {
		return nil, r.fail(r.frame.Offset, newCause(ErrBadBlock, "internal: pcapgo and the block framer disagree (%d packets, %d bytes)", n, len(data)))
	}
	r.frames++
	r.frame.Number = r.frames
	r.frame.Data = data
	r.frame.OrigLen = ci.Length
	if id := r.frame.InterfaceID; id >= 0 && id < len(r.ifaces) {
		r.anom.checkFrame(&r.frame, r.ifaces[id].SnapLen)
	}
	return &r.frame, nil
}

// applyNg applies the queued events of the blocks pcapgo has consumed up
// to position consumed, and returns how many packets were among them; the
// last one is loaded into r.frame.
func (r *Reader) applyNg(consumed int64) int {
	f := &r.ng.f
	packets := 0
	for f.head < len(f.events) && f.events[f.head].end <= consumed {
		ev := &f.events[f.head]
		f.head++
		switch ev.kind {
		case evInterface:
			r.addInterface(ev.ifc)
		case evStats:
			r.setStats(ev.stats)
		case evPacket:
			packets++
			fr := &r.frame
			fr.TimestampNs = ev.tsNs
			fr.CapLen = int(ev.capLen)
			fr.OrigLen = 0
			fr.LinkType = ev.linkType
			fr.InterfaceID = ev.iface
			fr.DropCount, fr.HasDropCount = ev.drop, ev.hasDrop
			fr.Offset = ev.off
		}
	}
	return packets
}
