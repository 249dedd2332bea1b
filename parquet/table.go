package parquet

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	pq "github.com/apache/arrow/go/v15/parquet"
	"github.com/apache/arrow/go/v15/parquet/compress"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// Defaults of WriterOptions.
const (
	// DefaultRowGroupRows is the largest number of rows of a row group:
	// the frames table's row groups (1 to 3 MB compressed; 262,144 rows
	// until issue 21, whose pages held compressed until the group ends
	// were 5 MB more at a million flows).
	DefaultRowGroupRows = 1 << 17
	// DefaultRowGroupBytes bounds the memory of the rows a table builds
	// at a time: 15,087 frames, 22,795 gaps, about 4,500 flows
	// (docs/parquet.md).
	DefaultRowGroupBytes = 2 << 20
)

// tsType is the type of every timestamp column: microseconds, UTC (Spark 3
// rejects nanosecond Parquet timestamps; DuckDB reads them as
// microseconds anyway). The exact nanoseconds are in *_ns columns.
var tsType = &arrow.TimestampType{Unit: arrow.Microsecond, TimeZone: "UTC"}

// micros converts nanoseconds since the epoch to microseconds, rounding
// towards minus infinity so that ts <= ts_ns holds before the epoch too.
func micros(ns int64) arrow.Timestamp {
	us := ns / 1000
	if ns%1000 < 0 {
		us--
	}
	return arrow.Timestamp(us)
}

// table streams the rows of one Parquet file: rows are built into a record
// of rowGroup rows, which a goroutine of its own encodes as one row group
// while the next is built (the pipeline and the encoding overlap). Each
// record is written whole (pqarrow's FileWriter.Write): only one column
// chunk's pages are in the encoder at a time, where a buffered row group
// would hold every column's until the group ends.
type table struct {
	*sink
	pw       *pqarrow.FileWriter
	rb       *array.RecordBuilder
	rows     int // rows in rb
	rowGroup int
	total    int64

	recs chan arrow.Record // to the encoder; at most one waits
}

// sink is the end of a table's pipeline: the Parquet writer an encoding
// goroutine of its own writes to, and that goroutine's errors.
type sink struct {
	meta [][2]string // key/value metadata written into the footer
	fw   fileWriter
	bw   *bufio.Writer
	done chan error // the encoder's result, once its input is closed
	werr atomic.Pointer[error]
}

// fileWriter is what a sink needs of its Parquet file's writer: the
// footer's key/value metadata, and the close that writes the footer.
type fileWriter interface {
	AppendKeyValueMetadata(key, value string) error
	Close() error
}

// sinkBuffer is the buffer between a table's Parquet writer and its file.
const sinkBuffer = 256 << 10

// arrowProps are the Arrow properties of every table: the Arrow schema is
// stored in the footer (ARROW:schema), so that Arrow readers get the
// exact types back (int16, timestamps with their zone).
func arrowProps(mem memory.Allocator) pqarrow.ArrowWriterProperties {
	return pqarrow.NewArrowWriterProperties(pqarrow.WithAllocator(mem), pqarrow.WithStoreSchema())
}

// ErrEncoder is returned when the Parquet encoder panicked; the table is
// not written, and no other capture of the run is affected.
var ErrEncoder = errors.New("encoder failed")

// encodeSafely runs an encoding step, turning a panic of the encoder (a
// bug of ours or of arrow's) into an error: it runs on a goroutine of its
// own, where a panic would end the whole process and leave the temporary
// dataset behind.
func encodeSafely(write func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", ErrEncoder, r)
		}
	}()
	return write()
}

// failed returns the encoder's first error, if any, so that the builder
// stops early.
func (k *sink) failed() error {
	if e := k.werr.Load(); e != nil {
		return *e
	}
	return nil
}

// fail records the encoder's error.
func (k *sink) fail(err error) { k.werr.Store(&err) }

// finish waits for the encoder, whose input the caller has closed, then
// writes the footer and flushes; it returns err or the first error after
// it.
func (k *sink) finish(err error) error {
	if werr := <-k.done; err == nil {
		err = werr
	}
	for _, kv := range k.meta {
		if merr := k.fw.AppendKeyValueMetadata(kv[0], kv[1]); err == nil {
			err = merr
		}
	}
	if cerr := k.fw.Close(); err == nil {
		err = cerr
	}
	if ferr := k.bw.Flush(); err == nil {
		err = ferr
	}
	return err
}

// writerProps returns the Parquet properties of a table: zstd, statistics
// on every column (engines skip row groups by ts), dictionary encoding for
// the string columns only (numbers compress better without it and cost
// less to write).
func writerProps(s *arrow.Schema, rowGroup int, mem memory.Allocator, extra ...pq.WriterProperty) *pq.WriterProperties {
	opts := []pq.WriterProperty{
		pq.WithAllocator(mem),
		pq.WithCompression(compress.Codecs.Zstd),
		pq.WithCompressionLevel(1),
		pq.WithStats(true),
		pq.WithMaxRowGroupLength(int64(rowGroup)),
		pq.WithDictionaryDefault(false),
		pq.WithCreatedBy("gapan"),
		// V2 data pages: arrow v15 grows a V1 page's definition-level
		// buffer a few bytes per literal run (its 4-byte length prefix
		// is an offset that PooledBufferWriter.Reserve adds to the
		// capacity each time), so a nullable column whose nulls come
		// and go cost time quadratic in the page size (65 % of a run on
		// real traffic); V2 pages keep levels without that prefix.
		pq.WithDataPageVersion(pq.DataPageV2),
	}
	for _, f := range s.Fields() {
		if f.Type.ID() == arrow.STRING {
			opts = append(opts, pq.WithDictionaryFor(f.Name, true))
		}
	}
	return pq.NewWriterProperties(append(opts, extra...)...)
}

func newTable(w io.Writer, s *arrow.Schema, rowGroup int) (*table, error) {
	mem := memory.NewGoAllocator()
	bw := bufio.NewWriterSize(w, sinkBuffer)
	pw, err := pqarrow.NewFileWriter(s, bw, writerProps(s, rowGroup, mem), arrowProps(mem))
	if err != nil {
		return nil, err
	}
	rb := array.NewRecordBuilder(mem, s)
	// no Reserve: the builders grow with the rows, so a table that gets
	// none (flows during the frames, gaps without loss) costs nothing
	t := &table{sink: &sink{fw: pw, bw: bw, done: make(chan error, 1)}, pw: pw, rb: rb, rowGroup: rowGroup, recs: make(chan arrow.Record, 1)}
	go t.encode()
	return t, nil
}

// rowBytes estimates the memory of one row of a table with schema s while
// it is built: the width of each fixed-size column, 16 bytes for a string
// or a list.
func rowBytes(s *arrow.Schema) int {
	n := 0
	for _, f := range s.Fields() {
		if fw, ok := f.Type.(arrow.FixedWidthDataType); ok {
			n += max(fw.BitWidth()/8, 1)
		} else {
			n += 16
		}
	}
	return n
}

// encode writes each record it is handed as a row group; after an error
// it only releases them.
func (t *table) encode() {
	var err error
	for rec := range t.recs {
		if err == nil {
			if err = encodeSafely(func() error { return t.pw.Write(rec) }); err != nil {
				t.fail(err)
			}
		}
		rec.Release()
	}
	t.done <- err
}

// endRow counts a row whose every column has been appended.
func (t *table) endRow() error {
	t.rows++
	t.total++
	if t.rows >= t.rowGroup {
		return t.flush()
	}
	return nil
}

// flush hands the rows built so far to the encoder.
func (t *table) flush() error {
	if err := t.failed(); err != nil {
		return err
	}
	if t.rows == 0 {
		return nil
	}
	t.recs <- t.rb.NewRecord()
	t.rows = 0
	// The builders start the next row group empty: a table that had
	// rows gets room for a whole one at once, not by doubling (at a
	// million flows the flows table's doubling was a quarter of
	// gapan parquet's allocations, garbage the collector then chased).
	t.rb.Reserve(t.rowGroup)
	return nil
}

// close writes what is left and the footer.
func (t *table) close() error {
	err := t.flush()
	close(t.recs)
	err = t.finish(err)
	t.rb.Release()
	return err
}
