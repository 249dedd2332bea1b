package parquet

import (
	"io"
	"net/netip"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gopacket/gopacket/layers"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pq "github.com/apache/arrow/go/v15/parquet"
)

// framesTable streams the frames table, the one table with a row per
// frame, without Arrow builders: a batch of rows (RowGroupBytes of
// columns) is plain Go slices filled by Frame (frameBatch), handed whole
// to a goroutine of its own that wraps them as Arrow arrays without
// copying and encodes them into the current row group, buffered (its
// pages held compressed until it has RowGroupRows rows), while Frame
// fills the other of the two batches. Row groups stay large (few of them
// in the footer, which the writer holds to the end) while the rows in
// memory stay few.
//
// The address columns (src_ip, dst_ip) are plain strings (no Parquet
// dictionary): the batch writes each row's address text itself, copying
// it from the flow's previous row in the batch when there is one (a
// flow's addresses are part of its key) and formatting it otherwise.
// A dictionary cost a hash of every distinct address per row group in
// arrow's memo table, most of the writer's garbage with many flows, where
// nearly every address of a row group is distinct; zstd takes the
// repeats out of the plain pages instead. direction ("fwd", "rev") is
// dictionary-encoded by the encoder.
type framesTable struct {
	*sink
	schema *arrow.Schema
	cur    *frameBatch
	full   chan *frameBatch // to the encoder
	free   chan *frameBatch // back from it
	total  int64
}

// dirText is the direction column's text, indexed by flow.Direction.
var dirText = [2]string{"fwd", "rev"}

// frameBatch holds the columns of one row group. Nullable columns that
// are null together share a validity bitmap. The columns grow with the
// rows (up to rows), so a large row group size costs memory only when
// the capture fills it.
type frameBatch struct {
	n, rows int

	num, ts, tsNs, gap, flow, seq, ack            []int64
	capLen, origLen, sport, dport, vlan, pay, ifc []int32
	dir                                           []int32 // indices into dirText
	proto, tcpFlags                               []int16

	// validity bitmaps and null counts: ip (ip_proto, payload_len), src,
	// dst, ports, vlan, tcp (tcp_flags, tcp_seq, tcp_ack)
	vIP, vSrc, vDst, vPort, vVLAN, vTCP []byte
	nIP, nSrc, nDst, nPort, nVLAN, nTCP int

	// the address columns: text and offsets (row i is
	// data[offs[i]:offs[i+1]]; rows+1 offsets); the direction column's,
	// made by writeBatch
	srcData, dstData, dirData []byte
	srcOffs, dstOffs, dirOffs []int32
	// flows remembers where in the batch each recent flow's addresses
	// were written, so that a frame of a flow seen before in the batch
	// copies them instead of formatting; direct-mapped by flow id
	flows []flowAddrs
	gen   uint32 // batch generation (from 1): entries of older batches are stale
}

// frameRowBytes is the memory of a row of a frameBatch: 7 int64 and 9
// int32 columns, 2 int16, the validity bits, a flow cache entry and two
// addresses of 15 bytes (IPv4) with their offsets.
const frameRowBytes = 7*8 + 9*4 + 2*2 + 1 + 24 + 2*(15+4)

// maxFlowCache is the largest flow cache (entries, a power of two): 3 MB.
const maxFlowCache = 1 << 17

// firstBatchRows is the capacity a batch starts with.
const firstBatchRows = 1 << 12

type flowAddrs struct {
	id  uint64
	gen uint32
	// where the forward sender's and receiver's addresses are: offset and
	// length in srcData (inDst false) or dstData
	fwdOff, revOff int32
	fwdLen, revLen uint8
	fwdDst, revDst bool
}

func newFrameBatch(rows int) *frameBatch {
	cache := 1
	for cache < rows && cache < maxFlowCache {
		cache <<= 1
	}
	b := &frameBatch{rows: rows, flows: make([]flowAddrs, cache)}
	b.grow(min(rows, firstBatchRows))
	b.reset()
	return b
}

// grow gives every column room for n rows, keeping the rows so far.
func (b *frameBatch) grow(n int) {
	for _, p := range []*[]int64{&b.num, &b.ts, &b.tsNs, &b.gap, &b.flow, &b.seq, &b.ack} {
		*p = append(make([]int64, 0, n), (*p)[:b.n]...)[:n]
	}
	for _, p := range []*[]int32{&b.capLen, &b.origLen, &b.sport, &b.dport, &b.vlan, &b.pay, &b.ifc, &b.dir} {
		*p = append(make([]int32, 0, n), (*p)[:b.n]...)[:n]
	}
	for _, p := range []*[]int32{&b.srcOffs, &b.dstOffs} {
		*p = append(make([]int32, 0, n+1), (*p)[:min(len(*p), b.n+1)]...)[:n+1]
	}
	for _, p := range []*[]int16{&b.proto, &b.tcpFlags} {
		*p = append(make([]int16, 0, n), (*p)[:b.n]...)[:n]
	}
	bytes := int(bitutil.BytesForBits(int64(n)))
	for _, p := range []*[]byte{&b.vIP, &b.vSrc, &b.vDst, &b.vPort, &b.vVLAN, &b.vTCP} {
		*p = append(make([]byte, 0, bytes), (*p)[:bitutil.BytesForBits(int64(b.n))]...)[:bytes]
	}
}

// next returns the index of the row to fill, growing the columns when
// they are full.
func (b *frameBatch) next() int {
	if b.n == len(b.num) {
		b.grow(min(2*b.n, b.rows))
	}
	return b.n
}

func (b *frameBatch) reset() {
	b.n = 0
	b.gen++
	b.nIP, b.nSrc, b.nDst, b.nPort, b.nVLAN, b.nTCP = 0, 0, 0, 0, 0, 0
	b.srcData, b.dstData = b.srcData[:0], b.dstData[:0]
	b.srcOffs[0], b.dstOffs[0] = 0, 0
}

// addrText returns the address text at off, n bytes, in dstData or
// srcData.
func (b *frameBatch) addrText(inDst bool, off int32, n uint8) []byte {
	if inDst {
		return b.dstData[off : off+int32(n)]
	}
	return b.srcData[off : off+int32(n)]
}

// setAddrs writes the src and dst addresses of a frame of flow id in
// direction dir (0 or 1), copying them from the flow's previous row in
// the batch when there is one.
func (b *frameBatch) setAddrs(id uint64, dir int32, src, dst netip.Addr) {
	e := &b.flows[id&uint64(len(b.flows)-1)]
	if e.id != id || e.gen != b.gen {
		so, do := int32(len(b.srcData)), int32(len(b.dstData))
		b.srcData = src.AppendTo(b.srcData)
		b.dstData = dst.AppendTo(b.dstData)
		sl, dl := uint8(int32(len(b.srcData))-so), uint8(int32(len(b.dstData))-do)
		if dir == 0 {
			*e = flowAddrs{id: id, gen: b.gen, fwdOff: so, fwdLen: sl, revOff: do, revLen: dl, revDst: true}
		} else {
			*e = flowAddrs{id: id, gen: b.gen, fwdOff: do, fwdLen: dl, fwdDst: true, revOff: so, revLen: sl}
		}
		return
	}
	if dir == 0 {
		b.srcData = append(b.srcData, b.addrText(e.fwdDst, e.fwdOff, e.fwdLen)...)
		b.dstData = append(b.dstData, b.addrText(e.revDst, e.revOff, e.revLen)...)
	} else {
		b.srcData = append(b.srcData, b.addrText(e.revDst, e.revOff, e.revLen)...)
		b.dstData = append(b.dstData, b.addrText(e.fwdDst, e.fwdOff, e.fwdLen)...)
	}
}

// add fills the next row with frame f, as the accounting saw it.
func (b *frameBatch) add(f *join.Frame, info *loss.FrameInfo) {
	i := b.next()
	p := info.Packet
	b.num[i] = int64(f.Number)
	b.ts[i] = int64(micros(f.TimestampNs))
	b.tsNs[i] = f.TimestampNs
	b.capLen[i] = int32(f.CapLen)
	b.origLen[i] = int32(f.OrigLen)
	b.gap[i] = int64(f.GapBefore)
	b.flow[i] = int64(info.FlowID)
	b.dir[i] = int32(info.Dir & 1)
	ip := p.Flags&decode.FlagIP != 0
	setValid(b.vIP, i, ip, &b.nIP)
	src, dst := ip && p.Src.IsValid(), ip && p.Dst.IsValid()
	setValid(b.vSrc, i, src, &b.nSrc)
	setValid(b.vDst, i, dst, &b.nDst)
	b.proto[i], b.pay[i] = 0, 0
	if ip {
		b.proto[i] = int16(p.Proto)
		b.pay[i] = int32(p.PayloadLen)
		switch {
		case src && dst:
			b.setAddrs(info.FlowID, b.dir[i], p.Src, p.Dst)
		case src:
			b.srcData = p.Src.AppendTo(b.srcData)
		case dst:
			b.dstData = p.Dst.AppendTo(b.dstData)
		}
	}
	b.srcOffs[i+1], b.dstOffs[i+1] = int32(len(b.srcData)), int32(len(b.dstData))
	ports := p.Flags&decode.FlagPorts != 0
	setValid(b.vPort, i, ports, &b.nPort)
	b.sport[i], b.dport[i] = int32(p.SrcPort), int32(p.DstPort)
	vlan := p.VLANCount > 0
	setValid(b.vVLAN, i, vlan, &b.nVLAN)
	b.vlan[i] = 0
	if vlan {
		b.vlan[i] = int32(p.VLAN[0])
	}
	tcp := p.Flags&decode.FlagTCP != 0 && p.Proto == layers.IPProtocolTCP
	setValid(b.vTCP, i, tcp, &b.nTCP)
	b.tcpFlags[i], b.seq[i], b.ack[i] = 0, 0, 0
	if tcp {
		b.tcpFlags[i] = int16(p.TCP.Flags)
		b.seq[i] = int64(p.TCP.Seq)
		b.ack[i] = int64(p.TCP.Ack)
	}
	b.ifc[i] = int32(f.InterfaceID)
}

// setValid records row i's validity in bitmap v and counts a null.
func setValid(v []byte, i int, ok bool, nulls *int) {
	bitutil.SetBitTo(v, i, ok)
	if !ok {
		*nulls++
	}
}

// framesPageBytes is the data page size of the frames table: the pages of
// the row group being built are held compressed until it ends, and the
// page each column is filling is held uncompressed, so small pages keep
// that last part small (19 columns). A page stays under zstd's 128 KB
// block (it passes the limit by at most one write batch): arrow v15 makes
// a new zstd encoder per page, and one given more than a block allocates
// a 16 MB history. 16 KB rather than 64: a page's buffers then stay in
// Go's small size classes (a larger one is allocated and cleared as a
// large object each time) and the 19 columns' pages in the core's cache;
// on the uniform bench capture `gapan parquet` takes 8 % less time (8
// alternated runs, faster in each) for frames files 3 % larger
// (docs/performance.md, session 18).
const framesPageBytes = 16 << 10

// newFramesTable returns the frames table writing to w, in row groups of
// rowGroup rows built batch rows at a time.
func newFramesTable(w io.Writer, rowGroup, batch int) (*framesTable, error) {
	mem := memory.NewGoAllocator()
	s := FramesSchema()
	props := writerProps(s, rowGroup, mem,
		pq.WithDataPageSize(framesPageBytes),
		// Min/max only where engines prune by them; a string column's
		// statistics would cost a pass over its dictionary per write.
		pq.WithStatsFor("direction", false),
		pq.WithStatsFor("src_ip", false),
		pq.WithStatsFor("dst_ip", false),
		pq.WithDictionaryFor("src_ip", false),
		pq.WithDictionaryFor("dst_ip", false),
		// DELTA_BINARY_PACKED for the sorted or small integer columns
		// that are never null (the nullable ones, ports and payload_len,
		// stay plain: arrow v15's delta encoder crashed on an all-null
		// write, and delta does little for them).
		pq.WithEncodingFor("frame_number", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("ts", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("ts_ns", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("flow_id", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("gap_before", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("cap_len", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("orig_len", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("interface_id", pq.Encodings.DeltaBinaryPacked),
	)
	k, err := newSink(w, s, props, mem)
	if err != nil {
		return nil, err
	}
	t := &framesTable{sink: k, schema: s, full: make(chan *frameBatch, 1), free: make(chan *frameBatch, 1)}
	t.cur = newFrameBatch(batch)
	t.free <- newFrameBatch(batch)
	go t.encode()
	return t, nil
}

// encode writes each batch it is handed as a row group and hands the
// batch back; after an error it only hands them back.
func (t *framesTable) encode() {
	var err error
	for b := range t.full {
		if err == nil {
			if err = encodeSafely(func() error { return t.writeBatch(b) }); err != nil {
				t.fail(err)
			}
		}
		b.reset()
		t.free <- b
	}
	t.done <- err
}

// endRow counts a row of the current batch and, when the batch is full,
// hands it to the encoder and takes the other one.
func (t *framesTable) endRow() error {
	t.cur.n++
	t.total++
	if t.cur.n < t.cur.rows {
		return nil
	}
	return t.flush()
}

func (t *framesTable) flush() error {
	if err := t.failed(); err != nil {
		return err
	}
	if t.cur.n == 0 {
		return nil
	}
	t.full <- t.cur
	t.cur = <-t.free
	return nil
}

// close writes what is left and the footer.
func (t *framesTable) close() error {
	err := t.flush()
	close(t.full)
	return t.finish(err)
}

// writeBatch encodes a batch as one row group. The arrays wrap the
// batch's slices: they are not used once the columns are written (the
// column writers copy values into their pages).
func (t *framesTable) writeBatch(b *frameBatch) error {
	n := b.n
	bits := func(v []byte, nulls int) *memory.Buffer {
		if nulls == 0 {
			return nil
		}
		return memory.NewBufferBytes(v[:bitutil.BytesForBits(int64(n))])
	}
	prim := func(dt arrow.DataType, valid *memory.Buffer, nulls int, data []byte) arrow.Array {
		d := array.NewData(dt, n, []*memory.Buffer{valid, memory.NewBufferBytes(data)}, nil, nulls, 0)
		defer d.Release()
		return array.MakeFromData(d)
	}
	i64 := func(v []int64, valid *memory.Buffer, nulls int) arrow.Array {
		return prim(arrow.PrimitiveTypes.Int64, valid, nulls, arrow.Int64Traits.CastToBytes(v[:n]))
	}
	i32 := func(v []int32, valid *memory.Buffer, nulls int) arrow.Array {
		return prim(arrow.PrimitiveTypes.Int32, valid, nulls, arrow.Int32Traits.CastToBytes(v[:n]))
	}
	i16 := func(v []int16, valid *memory.Buffer, nulls int) arrow.Array {
		return prim(arrow.PrimitiveTypes.Int16, valid, nulls, arrow.Int16Traits.CastToBytes(v[:n]))
	}
	text := func(offs []int32, data []byte, valid *memory.Buffer, nulls int) arrow.Array {
		return array.NewStringData(array.NewData(arrow.BinaryTypes.String, n,
			[]*memory.Buffer{valid, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(offs[:n+1])), memory.NewBufferBytes(data)}, nil, nulls, 0))
	}
	vIP, vSrc, vDst := bits(b.vIP, b.nIP), bits(b.vSrc, b.nSrc), bits(b.vDst, b.nDst)
	vPort, vVLAN, vTCP := bits(b.vPort, b.nPort), bits(b.vVLAN, b.nVLAN), bits(b.vTCP, b.nTCP)
	// direction as strings: a record must have the file's schema to be
	// written into a buffered row group (pqarrow's WriteBuffered), where a
	// dictionary array would be another type.
	b.dirOffs = append(b.dirOffs[:0], 0)
	b.dirData = b.dirData[:0]
	for _, d := range b.dir[:n] {
		b.dirData = append(b.dirData, dirText[d&1]...)
		b.dirOffs = append(b.dirOffs, int32(len(b.dirData)))
	}
	cols := [...]arrow.Array{
		fFrameNumber: i64(b.num, nil, 0),
		fTs:          prim(tsType, nil, 0, arrow.Int64Traits.CastToBytes(b.ts[:n])),
		fTsNs:        i64(b.tsNs, nil, 0),
		fCapLen:      i32(b.capLen, nil, 0),
		fOrigLen:     i32(b.origLen, nil, 0),
		fGapBefore:   i64(b.gap, nil, 0),
		fFlowID:      i64(b.flow, nil, 0),
		fDirection:   text(b.dirOffs, b.dirData, nil, 0),
		fSrcIP:       text(b.srcOffs, b.srcData, vSrc, b.nSrc),
		fDstIP:       text(b.dstOffs, b.dstData, vDst, b.nDst),
		fSrcPort:     i32(b.sport, vPort, b.nPort),
		fDstPort:     i32(b.dport, vPort, b.nPort),
		fIPProto:     i16(b.proto, vIP, b.nIP),
		fVLAN:        i32(b.vlan, vVLAN, b.nVLAN),
		fTCPFlags:    i16(b.tcpFlags, vTCP, b.nTCP),
		fTCPSeq:      i64(b.seq, vTCP, b.nTCP),
		fTCPAck:      i64(b.ack, vTCP, b.nTCP),
		fPayloadLen:  i32(b.pay, vIP, b.nIP),
		fInterfaceID: i32(b.ifc, nil, 0),
	}
	rec := array.NewRecord(t.schema, cols[:], int64(n))
	for _, c := range cols {
		c.Release()
	}
	defer rec.Release()
	return t.fw.WriteBuffered(rec)
}
