package parquet

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/bitutil"
	"github.com/apache/arrow/go/v15/arrow/ipc"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pq "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/metadata"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// numFrameColumns is the number of columns of the frames table.
const numFrameColumns = fInterfaceID + 1

// framesFile is the frames table's Parquet file, written column by
// column from a batch's slices into arrow's column chunk writers, with
// no Arrow arrays in between but the direction column's dictionary
// indices (pqarrow's FileWriter would copy every
// string column into a new slice of byte slices per write, widen the
// int16 columns into a new buffer, and hash every row's direction into
// the column's dictionary). The file is what pqarrow.NewFileWriter makes
// of the same schema and properties: the same Parquet schema, the Arrow
// schema in the footer (ARROW:schema), buffered row groups of rowGroup
// rows.
type framesFile struct {
	*file.Writer
	bw       *bufio.Writer
	rgw      file.BufferedRowGroupWriter // the row group being built, or nil
	rows     int                         // rows in rgw
	rowGroup int
	dirDict  arrow.Array    // the direction column's dictionary: dirText
	dirType  arrow.DataType // dictionary<int32, string>
	enc      [2]colEncoder  // one per goroutine writing columns
}

// colEncoder is what a goroutine writing columns needs of its own.
type colEncoder struct {
	ctx  context.Context // pqarrow's write context (the direction column)
	strs []pq.ByteArray  // a string column's rows, for its writer
}

// frameColumnOrder is the order in which the two goroutines take the
// frames columns: the costliest first, so that they end together.
var frameColumnOrder = [numFrameColumns]int{
	fSrcIP, fDstIP, fTCPSeq, fTCPAck, fSrcPort, fDstPort, fPayloadLen,
	fTCPFlags, fIPProto, fFlowID, fCapLen, fOrigLen, fTsNs, fTs,
	fDirection, fFrameNumber, fGapBefore, fInterfaceID, fVLAN,
}

func newFramesFile(w io.Writer, s *arrow.Schema, props *pq.WriterProperties, rowGroup int) (*framesFile, error) {
	mem := props.Allocator()
	ap := arrowProps(mem)
	ps, err := pqarrow.ToParquet(s, props, ap)
	if err != nil {
		return nil, err
	}
	// ARROW:schema as pqarrow.NewFileWriter writes it (flight's
	// SerializeSchema: an IPC stream of the schema alone, base64).
	var schema bytes.Buffer
	iw := ipc.NewWriter(&schema, ipc.WithSchema(s), ipc.WithAllocator(mem))
	if err := iw.Close(); err != nil {
		return nil, err
	}
	meta := make(metadata.KeyValueMetadata, 0, 1)
	meta.Append("ARROW:schema", base64.StdEncoding.EncodeToString(schema.Bytes()))
	bw := bufio.NewWriterSize(w, sinkBuffer)
	ff := &framesFile{
		Writer:   file.NewParquetWriter(bw, ps.Root(), file.WithWriterProps(props), file.WithWriteMetadata(meta)),
		bw:       bw,
		rowGroup: rowGroup,
		dirType:  &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int32, ValueType: arrow.BinaryTypes.String},
	}
	for i := range ff.enc {
		ff.enc[i].ctx = pqarrow.NewArrowWriteContext(context.Background(), &ap)
	}
	db := array.NewStringBuilder(mem)
	db.AppendValues(dirText[:], nil)
	ff.dirDict = db.NewArray()
	db.Release()
	return ff, nil
}

// roll starts a row group when there is none or the current one is full.
func (ff *framesFile) roll() error {
	if ff.rgw != nil && ff.rows < ff.rowGroup {
		return nil
	}
	if ff.rgw != nil {
		if err := ff.rgw.Close(); err != nil {
			return err
		}
	}
	ff.rgw = ff.AppendBufferedRowGroup()
	ff.rows = 0
	return nil
}

// Close ends the last row group and writes the footer.
func (ff *framesFile) Close() error {
	var err error
	if ff.rgw != nil {
		err = ff.rgw.Close()
		ff.rgw = nil
	}
	if cerr := ff.Writer.Close(); err == nil {
		err = cerr
	}
	ff.dirDict.Release()
	return err
}

// levels fills the batch's definition levels from its validity bitmaps.
func (b *frameBatch) levels() {
	if cap(b.ones) < b.n {
		b.ones = make([]int16, b.rows)
		for i := range b.ones {
			b.ones[i] = 1
		}
	}
	for _, c := range b.columns() {
		if c.nulls == 0 {
			c.def = b.ones[:b.n]
			continue
		}
		if cap(c.own) < b.n {
			c.own = make([]int16, b.rows)
		}
		c.def = c.own[:b.n]
		for i := range c.def {
			c.def[i] = 0
			if bitutil.BitIsSet(c.valid, i) {
				c.def[i] = 1
			}
		}
	}
}

// batchWriter is arrow's column chunk writer of values of type T.
type batchWriter[T any] interface {
	WriteBatch(values []T, defLevels, repLevels []int16) (int64, error)
	WriteBatchSpaced(values []T, defLevels, repLevels []int16, validBits []byte, validBitsOffset int64)
}

// writeValues writes rows lo to hi of a column, v, nullable when c is
// not nil: as pqarrow does, with the values of the null rows left out
// when the rows have any (WriteBatchSpaced), all of them otherwise.
func writeValues[T any](cw file.ColumnChunkWriter, v []T, c *column, lo, hi int) error {
	return writeRange(cw, v[lo:hi], c, lo, hi)
}

// writeRange is writeValues with the values of rows lo to hi only.
func writeRange[T any](cw file.ColumnChunkWriter, v []T, c *column, lo, hi int) error {
	w, ok := cw.(batchWriter[T])
	if !ok {
		return fmt.Errorf("%w: column writer %T for %T values", ErrEncoder, cw, v)
	}
	if c == nil {
		_, err := w.WriteBatch(v, nil, nil)
		return err
	}
	if c.nulls == 0 || bitutil.CountSetBits(c.valid, lo, hi-lo) == hi-lo {
		_, err := w.WriteBatch(v, c.def[lo:hi], nil)
		return err
	}
	w.WriteBatchSpaced(v, c.def[lo:hi], nil, c.valid, int64(lo))
	return nil
}

// writeStrings writes rows lo to hi of a string column (its text in data,
// row i at offs[i] to offs[i+1]).
func (e *colEncoder) writeStrings(cw file.ColumnChunkWriter, offs []int32, data []byte, c *column, lo, hi int) error {
	if cap(e.strs) < hi-lo {
		e.strs = make([]pq.ByteArray, hi-lo)
	}
	s := e.strs[:hi-lo]
	for i := range s {
		s[i] = data[offs[lo+i]:offs[lo+i+1]]
	}
	return writeRange(cw, s, c, lo, hi)
}

// writeRows writes rows lo to hi of batch b into the row group, the
// columns shared out between this goroutine and another: in a buffered
// row group each column has its own writer and pages, so that the
// columns can be encoded at once (the file is written when the row
// group closes, one column after the other).
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

// writeColumn writes rows lo to hi of batch b's column c.
func (ff *framesFile) writeColumn(e *colEncoder, c int, b *frameBatch, lo, hi int) error {
	cw, err := ff.rgw.Column(c)
	if err != nil {
		return err
	}
	switch c {
	case fFrameNumber:
		return writeValues(cw, b.num, nil, lo, hi)
	case fTs:
		return writeValues(cw, b.ts, nil, lo, hi)
	case fTsNs:
		return writeValues(cw, b.tsNs, nil, lo, hi)
	case fCapLen:
		return writeValues(cw, b.capLen, nil, lo, hi)
	case fOrigLen:
		return writeValues(cw, b.origLen, nil, lo, hi)
	case fGapBefore:
		return writeValues(cw, b.gap, nil, lo, hi)
	case fFlowID:
		return writeValues(cw, b.flow, nil, lo, hi)
	case fDirection:
		// as dictionary indices into dirText: the column's dictionary
		// is set once per row group, not looked up for every row
		idx := array.NewData(arrow.PrimitiveTypes.Int32, hi-lo,
			[]*memory.Buffer{nil, memory.NewBufferBytes(arrow.Int32Traits.CastToBytes(b.dir[lo:hi]))}, nil, 0, 0)
		defer idx.Release()
		ia := array.MakeFromData(idx)
		defer ia.Release()
		d := array.NewDictionaryArray(ff.dirType, ia, ff.dirDict)
		defer d.Release()
		return pqarrow.WriteArrowToColumn(e.ctx, cw, d, nil, nil, false)
	case fSrcIP:
		return e.writeStrings(cw, b.srcOffs, b.srcData, &b.cSrc, lo, hi)
	case fDstIP:
		return e.writeStrings(cw, b.dstOffs, b.dstData, &b.cDst, lo, hi)
	case fSrcPort:
		return writeValues(cw, b.sport, &b.cPort, lo, hi)
	case fDstPort:
		return writeValues(cw, b.dport, &b.cPort, lo, hi)
	case fIPProto:
		return writeValues(cw, b.proto, &b.cIP, lo, hi)
	case fVLAN:
		return writeValues(cw, b.vlan, &b.cVLAN, lo, hi)
	case fTCPFlags:
		return writeValues(cw, b.tcpFlags, &b.cTCP, lo, hi)
	case fTCPSeq:
		return writeValues(cw, b.seq, &b.cTCP, lo, hi)
	case fTCPAck:
		return writeValues(cw, b.ack, &b.cTCP, lo, hi)
	case fPayloadLen:
		return writeValues(cw, b.pay, &b.cIP, lo, hi)
	case fInterfaceID:
		return writeValues(cw, b.ifc, nil, lo, hi)
	}
	return fmt.Errorf("%w: no frames column %d", ErrEncoder, c)
}
