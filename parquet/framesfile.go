package parquet

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"io"
	"sync/atomic"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	pq "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/apache/arrow/go/v15/parquet/schema"
)

// numFrameColumns is the number of columns of the frames table.
const numFrameColumns = fInterfaceID + 1

// framesFile is the frames table's Parquet file. gapan encodes its data
// pages itself, column by column from a batch's slices (pages.go), and
// arrow's metadata builders make each column chunk's metadata and the
// footer, as arrow's file writer does: the same Parquet schema, the
// Arrow schema in the footer (ARROW:schema), the same encodings,
// compression and column statistics as pqarrow.NewFileWriter with the
// same properties, in row groups of rowGroup rows (TestFramesFileAsPqarrow
// holds the two files to the same values and statistics). Arrow's column
// writers cost a call per value for definition levels and delta
// encoding and an allocation per page; written here, `gapan parquet`
// takes less CPU (docs/performance.md, round 9). A page ends at
// framesPageBytes of values or at a batch's end; the data pages are
// version 2 without page statistics (the column chunk's are in the
// footer).
type framesFile struct {
	props    *pq.WriterProperties
	Schema   *schema.Schema
	meta     *metadata.FileMetaDataBuilder
	bw       *bufio.Writer
	pos      int64 // bytes written to bw
	werr     error // the first write error
	cols     [numFrameColumns]frameCol
	rows     int // rows in the row group being built
	rowGroup int
	groups   int
	dictPage []byte        // the direction column's dictionary page
	enc      [2]colEncoder // one per goroutine writing columns
}

// frameCol is a frames column: how its pages are encoded, and its part
// of the row group being built.
type frameCol struct {
	descr    *schema.Column
	enc      pq.Encoding
	codec    compress.Codec
	level    int
	nullable bool
	stats    bool
	maxStats int // statistics longer than this are left out

	data         []byte // the chunk's data pages, headers included
	uncompressed int64  // data's size before compression, headers included
	values       int64  // values in the pages, nulls included
	nulls        int64
	pages        int32
	min, max     int64 // of the values, when hasMinMax
	hasMinMax    bool
}

// colEncoder is what a goroutine writing columns needs of its own.
type colEncoder struct {
	vals, levels, lit, comp, bits []byte
}

// frameColumnOrder is the order in which the two goroutines take the
// frames columns: the costliest first, so that they end together.
var frameColumnOrder = [numFrameColumns]int{
	fSrcIP, fDstIP, fTCPSeq, fTCPAck, fSrcPort, fDstPort, fPayloadLen,
	fTCPFlags, fIPProto, fFlowID, fCapLen, fOrigLen, fTsNs, fTs,
	fDirection, fFrameNumber, fGapBefore, fInterfaceID, fVLAN,
}

var parquetMagic = []byte("PAR1")

func newFramesFile(w io.Writer, s *arrow.Schema, props *pq.WriterProperties, rowGroup int) (*framesFile, error) {
	mem := props.Allocator()
	ap := arrowProps(mem)
	ps, err := pqarrow.ToParquet(s, props, ap)
	if err != nil {
		return nil, err
	}
	// ARROW:schema as pqarrow.NewFileWriter writes it (flight's
	// SerializeSchema: an IPC stream of the schema alone, base64).
	var sch bytes.Buffer
	iw := ipc.NewWriter(&sch, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := iw.Close(); err != nil {
		return nil, err
	}
	meta := make(metadata.KeyValueMetadata, 0, 1)
	meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(sch.Bytes()))
	ff := &framesFile{
		props:    props,
		Schema:   ps,
		meta:     metadata.NewFileMetadataBuilder(ps, props, meta),
		bw:       bufio.NewWriterSize(w, sinkBuffer),
		rowGroup: rowGroup,
	}
	for c := range ff.cols {
		fc := &ff.cols[c]
		fc.descr = ps.Column(c)
		path := fc.descr.Path()
		fc.enc = props.EncodingFor(path)
		if c == fDirection {
			if !props.DictionaryEnabledFor(path) {
				return nil, fmt.Errorf("%w: the direction column without a dictionary", ErrEncoder)
			}
			fc.enc = props.DictionaryIndexEncoding()
		} else if props.DictionaryEnabledFor(path) {
			return nil, fmt.Errorf("%w: a dictionary for frames column %s", ErrEncoder, fc.descr.Name())
		}
		if fc.codec, err = compress.GetCodec(props.CompressionFor(path)); err != nil {
			return nil, err
		}
		fc.level = props.CompressionLevelFor(path)
		fc.nullable = fc.descr.MaxDefinitionLevel() > 0
		fc.stats = props.StatisticsEnabledFor(path)
		fc.maxStats = int(props.MaxStatsSizeFor(path))
	}
	// the direction dictionary: dirText, PLAIN
	var dict []byte
	for _, d := range dirText {
		dict = binary.LittleEndian.AppendUint32(dict, uint32(len(d)))
		dict = append(dict, d...)
	}
	dc := ff.cols[fDirection]
	comp := dc.codec.EncodeLevel(nil, dict, dc.level)
	ff.dictPage = appendDictPageHeader(nil, int32(len(dict)), int32(len(comp)), int32(len(dirText)), props.DictionaryPageEncoding())
	ff.dictPage = append(ff.dictPage, comp...)
	ff.write(parquetMagic)
	return ff, nil
}

// Properties returns the file's writer properties.
func (ff *framesFile) Properties() *pq.WriterProperties { return ff.props }

// AppendKeyValueMetadata adds a key/value pair to the footer.
func (ff *framesFile) AppendKeyValueMetadata(key, value string) error {
	return ff.meta.AppendKeyValueMetadata(key, value)
}

func (ff *framesFile) write(p []byte) {
	if ff.werr != nil {
		return
	}
	n, err := ff.bw.Write(p)
	ff.pos += int64(n)
	ff.werr = err
}

// Write is write for arrow's metadata writers.
func (ff *framesFile) Write(p []byte) (int, error) {
	ff.write(p)
	return len(p), ff.werr
}

// roll ends the row group being built when it is full.
func (ff *framesFile) roll() error {
	if ff.rows < ff.rowGroup {
		return nil
	}
	return ff.endRowGroup()
}

// endRowGroup writes the row group being built, if it has rows: each
// column chunk (the direction column's dictionary page first), then its
// metadata after it, as arrow's writer does.
func (ff *framesFile) endRowGroup() error {
	if ff.rows == 0 {
		return nil
	}
	rg := ff.meta.AppendRowGroup()
	var total int64
	for c := range ff.cols {
		fc := &ff.cols[c]
		cc := rg.NextColumnChunk()
		info := metadata.ChunkMetaInfo{NumValues: fc.values, IndexPageOffset: -1, DataPageOffset: ff.pos,
			CompressedSize: int64(len(fc.data)), UncompressedSize: fc.uncompressed}
		var es metadata.EncodingStats
		hasDict := c == fDirection
		if hasDict {
			info.DictPageOffset = ff.pos
			info.DataPageOffset += int64(len(ff.dictPage))
			info.CompressedSize += int64(len(ff.dictPage))
			info.UncompressedSize += int64(len(ff.dictPage)) // the dictionary is incompressible
			es.DictEncodingStats = map[pq.Encoding]int32{ff.props.DictionaryPageEncoding(): 1}
			ff.write(ff.dictPage)
		}
		es.DataEncodingStats = map[pq.Encoding]int32{fc.enc: fc.pages}
		ff.write(fc.data)
		total += info.CompressedSize
		if fc.stats {
			if err := fc.setStats(cc); err != nil {
				return err
			}
		}
		if err := cc.Finish(info, hasDict, false, es, nil); err != nil {
			return err
		}
		if _, err := cc.WriteTo(ff); err != nil {
			return err
		}
		fc.reset()
	}
	rg.SetNumRows(ff.rows)
	if err := rg.Finish(total, int16(ff.groups)); err != nil {
		return err
	}
	ff.groups++
	ff.rows = 0
	return ff.werr
}

// setStats gives the column chunk its statistics, as arrow's column
// writer computes them: min and max of the values, the nulls.
func (fc *frameCol) setStats(cc *metadata.ColumnChunkMetaDataBuilder) error {
	st := metadata.NewStatistics(fc.descr, nil)
	if fc.hasMinMax {
		switch s := st.(type) {
		case *metadata.Int64Statistics:
			s.SetMinMax(fc.min, fc.max)
		case *metadata.Int32Statistics:
			s.SetMinMax(int32(fc.min), int32(fc.max))
		default:
			return fmt.Errorf("%w: statistics %T for frames column %s", ErrEncoder, st, fc.descr.Name())
		}
	}
	st.IncNulls(fc.nulls)
	st.IncNumValues(fc.values - fc.nulls)
	enc, err := st.Encode()
	if err != nil {
		return err
	}
	enc.ApplyStatSizeLimits(fc.maxStats)
	enc.Signed = fc.descr.SortOrder() == schema.SortSIGNED
	if enc.IsSet() {
		cc.SetStats(enc)
	}
	return nil
}

func (fc *frameCol) reset() {
	fc.data = fc.data[:0]
	fc.uncompressed, fc.values, fc.nulls, fc.pages = 0, 0, 0, 0
	fc.hasMinMax = false
}

// Close ends the last row group and writes the footer.
func (ff *framesFile) Close() error {
	if err := ff.endRowGroup(); err != nil {
		return err
	}
	md, err := ff.meta.Finish()
	if err != nil {
		return err
	}
	n, err := md.WriteTo(ff, nil)
	if err != nil {
		return err
	}
	ff.write(binary.LittleEndian.AppendUint32(nil, uint32(n)))
	ff.write(parquetMagic)
	return ff.werr
}

// writeRows writes rows lo to hi of batch b into the row group, the
// columns shared out between this goroutine and another: each column
// has its own pages (frameCol), so that the columns can be encoded at
// once (the file is written when the row group ends, one column after
// the other).
func (ff *framesFile) writeRows(b *frameBatch, lo, hi int) error {
	var next atomic.Int32
	run := func(e *colEncoder) error {
		for {
			i := int(next.Add(1)) - 1
			if i >= len(frameColumnOrder) {
				return nil
			}
			c := frameColumnOrder[i]
			if err := ff.writeColumn(e, c, b, lo, hi); err != nil {
				return fmt.Errorf("frames column %s: %w", ff.Schema.Column(c).Name(), err)
			}
		}
	}
	// Both sides recover from a panic of the encoder, so that this one
	// always waits for the other before the batch goes back to Frame.
	other := make(chan error, 1)
	go func() { other <- encodeSafely(func() error { return run(&ff.enc[1]) }) }()
	err := encodeSafely(func() error { return run(&ff.enc[0]) })
	if oerr := <-other; err == nil {
		err = oerr
	}
	return err
}

// Rows per page at most: a fixed-width column's page holds
// framesPageBytes of values; a delta-encoded one, whose values take a
// few bytes each, and the direction column (a bit per row) more rows.
const (
	deltaPageRows = framesPageBytes / 2
	dirPageRows   = framesPageBytes
	maxPageRows   = 1 << 16 // rows of a page of a column that has nulls
)

// littleEndian is whether this machine stores integers as PLAIN does.
var littleEndian = binary.NativeEndian.Uint16([]byte{1, 0}) == 1

// validity returns the validity bitmap of batch b's column c, or nil
// when all of its rows have a value.
func (b *frameBatch) validity(c int) []byte {
	var col *column
	switch c {
	case fSrcIP:
		col = &b.cSrc
	case fDstIP:
		col = &b.cDst
	case fSrcPort, fDstPort:
		col = &b.cPort
	case fIPProto, fPayloadLen:
		col = &b.cIP
	case fVLAN:
		col = &b.cVLAN
	case fTCPFlags, fTCPSeq, fTCPAck:
		col = &b.cTCP
	}
	if col == nil || col.nulls == 0 {
		return nil
	}
	return col.valid
}

// writeColumn writes rows lo to hi of batch b's column c as data pages.
func (ff *framesFile) writeColumn(e *colEncoder, c int, b *frameBatch, lo, hi int) error {
	fc := &ff.cols[c]
	valid := b.validity(c)
	if valid != nil && !fc.nullable {
		return fmt.Errorf("%w: nulls in required frames column %s", ErrEncoder, fc.descr.Name())
	}
	switch c {
	case fFrameNumber:
		return writeInts(fc, e, b.num, valid, lo, hi)
	case fTs:
		return writeInts(fc, e, b.ts, valid, lo, hi)
	case fTsNs:
		return writeInts(fc, e, b.tsNs, valid, lo, hi)
	case fCapLen:
		return writeInts(fc, e, b.capLen, valid, lo, hi)
	case fOrigLen:
		return writeInts(fc, e, b.origLen, valid, lo, hi)
	case fGapBefore:
		return writeInts(fc, e, b.gap, valid, lo, hi)
	case fFlowID:
		return writeInts(fc, e, b.flow, valid, lo, hi)
	case fDirection:
		return fc.writeDirection(e, b.dir, lo, hi)
	case fSrcIP:
		return fc.writeStrings(e, b.srcOffs, b.srcData, valid, lo, hi)
	case fDstIP:
		return fc.writeStrings(e, b.dstOffs, b.dstData, valid, lo, hi)
	case fSrcPort:
		return writeInts(fc, e, b.sport, valid, lo, hi)
	case fDstPort:
		return writeInts(fc, e, b.dport, valid, lo, hi)
	case fIPProto:
		return writeInts(fc, e, b.proto, valid, lo, hi)
	case fVLAN:
		return writeInts(fc, e, b.vlan, valid, lo, hi)
	case fTCPFlags:
		return writeInts(fc, e, b.tcpFlags, valid, lo, hi)
	case fTCPSeq:
		return writeInts(fc, e, b.seq, valid, lo, hi)
	case fTCPAck:
		return writeInts(fc, e, b.ack, valid, lo, hi)
	case fPayloadLen:
		return writeInts(fc, e, b.pay, valid, lo, hi)
	case fInterfaceID:
		return writeInts(fc, e, b.ifc, valid, lo, hi)
	}
	return fmt.Errorf("%w: no frames column %d", ErrEncoder, c)
}

// writeInts writes rows lo to hi of an integer column, v, as pages of its
// encoding (PLAIN or DELTA_BINARY_PACKED), nulls where valid (nil: none)
// has a zero bit.
func writeInts[T int32 | int64](fc *frameCol, e *colEncoder, v []T, valid []byte, lo, hi int) error {
	var width int
	switch any(v).(type) {
	case []int32:
		width = 4
		if fc.descr.PhysicalType() != pq.Types.Int32 {
			return fmt.Errorf("%w: int32 values for frames column %s", ErrEncoder, fc.descr.Name())
		}
	default:
		width = 8
		if fc.descr.PhysicalType() != pq.Types.Int64 {
			return fmt.Errorf("%w: int64 values for frames column %s", ErrEncoder, fc.descr.Name())
		}
	}
	delta := fc.enc == pq.Encodings.DeltaBinaryPacked
	if !delta && fc.enc != pq.Encodings.Plain {
		return fmt.Errorf("%w: encoding %s for frames column %s", ErrEncoder, fc.enc, fc.descr.Name())
	}
	rows := framesPageBytes / width
	if delta {
		rows = deltaPageRows
	}
	var gathered []T
	for p := lo; p < hi; {
		q := min(hi, p+rows)
		page := v[p:q]
		if valid != nil {
			// a page of rows values at most, and of maxPageRows rows
			gathered = gathered[:0]
			for q = p; q < hi && len(gathered) < rows && q-p < maxPageRows; q++ {
				if valid[q>>3]&(1<<(q&7)) != 0 {
					gathered = append(gathered, v[q])
				}
			}
			page = gathered
		}
		if len(page) > 0 {
			mn, mx := page[0], page[0]
			for _, x := range page {
				mn = min(mn, x)
				mx = max(mx, x)
			}
			fc.minMax(int64(mn), int64(mx))
		}
		e.vals = e.vals[:0]
		switch {
		case len(page) == 0 && delta:
			e.vals = appendDeltaEmpty(e.vals)
		case delta && width == 4:
			e.vals = appendDelta(e.vals, any(page).([]int32), 1<<32-1)
		case delta:
			e.vals = appendDelta(e.vals, any(page).([]int64), ^uint64(0))
		case littleEndian && len(page) > 0:
			// PLAIN is the values' little-endian bytes: this machine's
			e.vals = append(e.vals, unsafe.Slice((*byte)(unsafe.Pointer(&page[0])), len(page)*width)...)
		case width == 4:
			for _, x := range page {
				e.vals = binary.LittleEndian.AppendUint32(e.vals, uint32(x))
			}
		default:
			for _, x := range page {
				e.vals = binary.LittleEndian.AppendUint64(e.vals, uint64(x))
			}
		}
		fc.page(e, valid, p, q)
		p = q
	}
	return nil
}

func (fc *frameCol) minMax(mn, mx int64) {
	if !fc.hasMinMax {
		fc.min, fc.max, fc.hasMinMax = mn, mx, true
		return
	}
	fc.min = min(fc.min, mn)
	fc.max = max(fc.max, mx)
}

// writeStrings writes rows lo to hi of a string column (its text in data,
// row i at offs[i] to offs[i+1]) as PLAIN pages.
func (fc *frameCol) writeStrings(e *colEncoder, offs []int32, data []byte, valid []byte, lo, hi int) error {
	if fc.enc != pq.Encodings.Plain || fc.descr.PhysicalType() != pq.Types.ByteArray {
		return fmt.Errorf("%w: encoding %s of %s for frames column %s", ErrEncoder, fc.enc, fc.descr.PhysicalType(), fc.descr.Name())
	}
	for p := lo; p < hi; {
		e.vals = e.vals[:0]
		q := p
		for ; q < hi && len(e.vals) < framesPageBytes && q-p < maxPageRows; q++ {
			if valid != nil && valid[q>>3]&(1<<(q&7)) == 0 {
				continue
			}
			s := data[offs[q]:offs[q+1]]
			e.vals = binary.LittleEndian.AppendUint32(e.vals, uint32(len(s)))
			e.vals = append(e.vals, s...)
		}
		fc.page(e, valid, p, q)
		p = q
	}
	return nil
}

// writeDirection writes rows lo to hi of the direction column (0: fwd,
// 1: rev) as RLE_DICTIONARY pages: indices of 1 bit into the chunk's
// dictionary page (dirText).
func (fc *frameCol) writeDirection(e *colEncoder, dir []int32, lo, hi int) error {
	if fc.enc != pq.Encodings.RLEDict || fc.nullable {
		return fmt.Errorf("%w: encoding %s for the direction column", ErrEncoder, fc.enc)
	}
	for p := lo; p < hi; {
		q := min(hi, p+dirPageRows)
		n := q - p
		e.bits = append(e.bits[:0], make([]byte, (n+7)/8)...) // zeros
		for i, d := range dir[p:q] {
			if d&1 != 0 {
				e.bits[i>>3] |= 1 << (i & 7)
			}
		}
		e.vals = append(e.vals[:0], 1) // the indices' bit width
		e.vals, e.lit = appendBits(e.vals, e.lit, e.bits, 0, n)
		fc.page(e, nil, p, q)
		p = q
	}
	return nil
}

// page adds a data page of rows p to q, whose values are encoded in
// e.vals: its definition levels (when the column is nullable), then the
// values compressed.
func (fc *frameCol) page(e *colEncoder, valid []byte, p, q int) {
	n := q - p
	nulls := 0
	e.levels = e.levels[:0]
	if fc.nullable {
		e.levels, e.lit = appendBits(e.levels, e.lit, valid, p, n)
		if valid != nil {
			nulls = n - bitutil.CountSetBits(valid, p, n)
		}
	}
	e.comp = fc.codec.EncodeLevel(e.comp[:0], e.vals, fc.level)
	uncompressed := len(e.levels) + len(e.vals)
	compressed := len(e.levels) + len(e.comp)
	start := len(fc.data)
	fc.data = appendDataPageV2Header(fc.data, int32(uncompressed), int32(compressed), int32(n), int32(nulls), int32(n),
		fc.enc, int32(len(e.levels)), true)
	hdr := len(fc.data) - start
	fc.data = append(fc.data, e.levels...)
	fc.data = append(fc.data, e.comp...)
	fc.uncompressed += int64(hdr + uncompressed)
	fc.values += int64(n)
	fc.nulls += int64(nulls)
	fc.pages++
}
