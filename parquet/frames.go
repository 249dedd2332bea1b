package parquet

import (
	"io"
	"net/netip"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gopacket/gopacket/layers"

	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pq "github.com/apache/arrow/go/v15/parquet"
)

// framesTable streams the frames table, the one table with a row per
// frame, without Arrow builders: a batch of rows (RowGroupBytes of
// columns) is plain Go slices filled by Frame (frameBatch), handed whole
// to a goroutine of its own that encodes its columns straight into the
// current row group's pages (framesFile), held compressed until the row
// group has RowGroupRows rows, while Frame fills
// another batch. Three batches: one filled, one encoded, one waiting,
// so that neither side waits for the other when one batch takes longer
// (a row group's end); with two, `gapan parquet` took 5 % more time on
// the uniform bench capture (docs/performance.md, round 6).
// Row groups stay large (few of them in the footer, which the writer
// holds to the end) while the rows in memory stay few.
//
// The address columns (src_ip, dst_ip) are plain strings (no Parquet
// dictionary): the batch formats each row's address text itself. A
// dictionary cost a hash of every distinct address per row group in
// arrow's memo table, most of the writer's garbage with many flows, where
// nearly every address of a row group is distinct; zstd takes the
// repeats out of the plain pages instead. direction ("fwd", "rev") is
// dictionary-encoded, the same dictionary page in every row group.
type framesTable struct {
	*sink
	file  *framesFile
	cur   *frameBatch
	full  chan *frameBatch // to the encoder
	free  chan *frameBatch // back from it
	total int64
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
	// int16 in the schema, int32 in Parquet: kept as the encoder takes them
	proto, tcpFlags []int32

	// the nullable columns' validity: ip (ip_proto, payload_len), src,
	// dst, ports, vlan, tcp (tcp_flags, tcp_seq, tcp_ack)
	cIP, cSrc, cDst, cPort, cVLAN, cTCP column

	// the address columns: text and offsets (row i is
	// data[offs[i]:offs[i+1]]; rows+1 offsets)
	srcData, dstData []byte
	srcOffs, dstOffs []int32
	// flows remembers where in the batch each recent flow's IPv6
	// addresses were written, so that a frame of a flow seen before in
	// the batch copies them instead of formatting them again;
	// direct-mapped by flow id, made at the batch's first IPv6 frame.
	// IPv4 addresses are formatted every time: that costs less than the
	// entry, which misses the cache when the frames interleave many
	// flows (8 % of `gapan parquet`'s time on the uniform bench capture).
	flows []flowAddrs
	gen   uint32 // batch generation (from 1): entries of older batches are stale
}

// frameRowBytes is the memory of a row of a frameBatch: 7 int64 and 11
// int32 columns, the validity bits of 6 nullable column groups, and two
// addresses of 15 bytes (IPv4) with their offsets. The IPv6 flow cache is not counted: it is
// made only for IPv6 traffic.
const frameRowBytes = 7*8 + 11*4 + 1 + 2*(15+4)

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
	b := &frameBatch{rows: rows}
	b.grow(min(rows, firstBatchRows))
	b.reset()
	return b
}

// grow gives every column room for n rows, keeping the rows so far.
func (b *frameBatch) grow(n int) {
	for _, p := range []*[]int64{&b.num, &b.ts, &b.tsNs, &b.gap, &b.flow, &b.seq, &b.ack} {
		*p = append(make([]int64, 0, n), (*p)[:b.n]...)[:n]
	}
	for _, p := range []*[]int32{&b.capLen, &b.origLen, &b.sport, &b.dport, &b.vlan, &b.pay, &b.ifc, &b.dir, &b.proto, &b.tcpFlags} {
		*p = append(make([]int32, 0, n), (*p)[:b.n]...)[:n]
	}
	for _, p := range []*[]int32{&b.srcOffs, &b.dstOffs} {
		*p = append(make([]int32, 0, n+1), (*p)[:min(len(*p), b.n+1)]...)[:n+1]
	}
	bytes := int(bitutil.BytesForBits(int64(n)))
	for _, c := range b.columns() {
		c.valid = append(make([]byte, 0, bytes), c.valid[:bitutil.BytesForBits(int64(b.n))]...)[:bytes]
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
	for _, c := range b.columns() {
		c.nulls = 0
	}
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
	if b.flows == nil {
		cache := 1
		for cache < b.rows && cache < maxFlowCache {
			cache <<= 1
		}
		b.flows = make([]flowAddrs, cache)
	}
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
	b.cIP.set(i, ip)
	src, dst := ip && p.Src.IsValid(), ip && p.Dst.IsValid()
	b.cSrc.set(i, src)
	b.cDst.set(i, dst)
	b.proto[i], b.pay[i] = 0, 0
	if ip {
		b.proto[i] = int32(p.Proto)
		b.pay[i] = int32(p.PayloadLen)
		switch {
		case src && dst && p.Src.Is4() && p.Dst.Is4():
			b.srcData = p.Src.AppendTo(b.srcData)
			b.dstData = p.Dst.AppendTo(b.dstData)
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
	b.cPort.set(i, ports)
	b.sport[i], b.dport[i] = int32(p.SrcPort), int32(p.DstPort)
	vlan := p.VLANCount > 0
	b.cVLAN.set(i, vlan)
	b.vlan[i] = 0
	if vlan {
		b.vlan[i] = int32(p.VLAN[0])
	}
	tcp := p.Flags&decode.FlagTCP != 0 && p.Proto == layers.IPProtocolTCP
	b.cTCP.set(i, tcp)
	b.tcpFlags[i], b.seq[i], b.ack[i] = 0, 0, 0
	if tcp {
		b.tcpFlags[i] = int32(p.TCP.Flags)
		b.seq[i] = int64(p.TCP.Seq)
		b.ack[i] = int64(p.TCP.Ack)
	}
	b.ifc[i] = int32(f.InterfaceID)
}

// column is a nullable column's validity in a batch: its bitmap (LSB
// first, as Arrow's) and its null count.
type column struct {
	valid []byte
	nulls int
}

// columns returns the batch's nullable columns.
func (b *frameBatch) columns() [6]*column {
	return [...]*column{&b.cIP, &b.cSrc, &b.cDst, &b.cPort, &b.cVLAN, &b.cTCP}
}

// set records row i's validity and counts a null.
func (c *column) set(i int, ok bool) {
	bitutil.SetBitTo(c.valid, i, ok)
	if !ok {
		c.nulls++
	}
}

// framesPageBytes is the data page size of the frames table (its values
// before compression; a page also ends where a batch does): the pages of
// the row group being built are held compressed until it ends, and each
// encoding goroutine holds one page uncompressed. With gapan's own page
// encoding, 32 KB pages took `gapan parquet` 0.957 of the time of 16 KB
// ones on the uniform bench capture and 0.969 on Zipf (6 alternated
// rounds each; 64 KB 0.972), for frames files 2 % smaller
// (docs/performance.md, round 9). (With arrow's column writers, 16 KB
// had been faster than 64 KB: their buffers per page stayed in Go's
// small size classes; session 18.)
const framesPageBytes = 32 << 10

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
		// write, and delta does little for them). gap_before and
		// interface_id, nearly always the same value, are plain: zstd
		// takes their runs out for less than arrow's delta encoder,
		// which costs a reflect call per value (`gapan parquet` 2 %
		// faster on the Zipf bench capture, the files 0.4 % larger).
		pq.WithEncodingFor("frame_number", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("ts", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("ts_ns", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("flow_id", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("cap_len", pq.Encodings.DeltaBinaryPacked),
		pq.WithEncodingFor("orig_len", pq.Encodings.DeltaBinaryPacked),
	)
	ff, err := newFramesFile(w, s, props, rowGroup)
	if err != nil {
		return nil, err
	}
	t := &framesTable{sink: &sink{fw: ff, bw: ff.bw, done: make(chan error, 1)}, file: ff,
		full: make(chan *frameBatch, 1), free: make(chan *frameBatch, 2)}
	t.cur = newFrameBatch(batch)
	t.free <- newFrameBatch(batch)
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

// writeBatch encodes a batch into the row group being built, starting a
// new one when it has rowGroup rows (as pqarrow's WriteBuffered does).
func (t *framesTable) writeBatch(b *frameBatch) error {
	for lo := 0; lo < b.n; {
		if err := t.file.roll(); err != nil {
			return err
		}
		hi := min(b.n, lo+t.file.rowGroup-t.file.rows)
		if err := t.file.writeRows(b, lo, hi); err != nil {
			return err
		}
		t.file.rows += hi - lo
		lo = hi
	}
	return nil
}
