package parquet

import (
	"fmt"
	"reflect"
	"strings"
	"unsafe"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/gapan/gapan/loss"
)

// Table names, which are also the dataset's directory names.
const (
	FramesTable = "frames"
	GapsTable   = "gaps"
	FlowsTable  = "flows"
)

// Gap kinds of the gaps table's kind column.
const (
	KindGap  = "gap"  // frames lost just before a captured frame
	KindTail = "tail" // frames lost after an interface's last frame
)

func field(name string, t arrow.DataType, nullable bool) arrow.Field {
	return arrow.Field{Name: name, Type: t, Nullable: nullable}
}

var (
	i16 = arrow.PrimitiveTypes.Int16
	i32 = arrow.PrimitiveTypes.Int32
	i64 = arrow.PrimitiveTypes.Int64
	f64 = arrow.PrimitiveTypes.Float64
	str = arrow.BinaryTypes.String
)

// Frames columns, in schema order.
const (
	fFrameNumber = iota
	fTs
	fTsNs
	fCapLen
	fOrigLen
	fGapBefore
	fFlowID
	fDirection
	fSrcIP
	fDstIP
	fSrcPort
	fDstPort
	fIPProto
	fVLAN
	fTCPFlags
	fTCPSeq
	fTCPAck
	fPayloadLen
	fInterfaceID
)

// FramesSchema returns the schema of the frames table (docs/parquet.md).
// In a multi-capture dataset the capture column comes from the hive
// partition (capture=NAME), not from the files.
func FramesSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		field("frame_number", i64, false),
		field("ts", tsType, false),
		field("ts_ns", i64, false),
		field("cap_len", i32, false),
		field("orig_len", i32, false),
		field("gap_before", i64, false),
		field("flow_id", i64, false),
		field("direction", str, false),
		field("src_ip", str, true),
		field("dst_ip", str, true),
		field("src_port", i32, true),
		field("dst_port", i32, true),
		field("ip_proto", i16, true),
		field("vlan", i32, true),
		field("tcp_flags", i16, true),
		field("tcp_seq", i64, true),
		field("tcp_ack", i64, true),
		field("payload_len", i32, true),
		field("interface_id", i32, false),
	}, nil)
}

// Gaps columns, in schema order.
const (
	gFrameNumber = iota
	gPrevFrame
	gInterfaceID
	gTsBefore
	gTsAfter
	gTsBeforeNs
	gTsAfterNs
	gLost
	gSource
	gKind
)

// GapsSchema returns the schema of the gaps table (docs/parquet.md).
func GapsSchema() *arrow.Schema {
	return arrow.NewSchema([]arrow.Field{
		field("frame_number", i64, true),
		field("prev_frame", i64, true),
		field("interface_id", i32, false),
		field("ts_before", tsType, true),
		field("ts_after", tsType, true),
		field("ts_before_ns", i64, true),
		field("ts_after_ns", i64, true),
		field("lost", i64, false),
		field("source", str, false),
		field("kind", str, false),
	}, nil)
}

// flowCol is how one field of loss.Flow becomes a column.
type flowCol struct {
	name string
	// fc is the loss.FlowColumn whose typed getter reads the value; for a
	// timestamp column (first_ts, last_ts) it is the *_ts_ns column.
	fc   *loss.FlowColumn
	kind flowKind
	// needsRecord: null in a flow without a loss record
	// (loss.FlowColumn.NeedsRecord).
	needsRecord bool
}

type flowKind int

const (
	kindInt       flowKind = iota // unsigned or signed integer: int64 (uint8: int16, uint16: int32)
	kindInt16                     // uint8
	kindInt32                     // uint16
	kindFloat                     // float64
	kindBool                      // bool
	kindString                    // string; null when empty
	kindVLAN                      // []int: list<int32>; null when empty
	kindTimestamp                 // the *_ts strings: a TIMESTAMP from the *_ts_ns field
)

// flowCols are loss.FlowColumns with their Arrow types, so that the flows
// table carries every figure of the report under its JSON name.
var flowCols, flowSchema = buildFlowSchema()

func buildFlowSchema() ([]flowCol, *arrow.Schema) {
	all := loss.FlowColumns()
	byName := map[string]*loss.FlowColumn{}
	for i := range all {
		byName[all[i].Name] = &all[i]
	}
	var cols []flowCol
	var fields []arrow.Field
	for i := range all {
		fc := &all[i]
		sf, tag := fc.Field, fc.Name
		c := flowCol{name: tag, fc: fc, needsRecord: fc.NeedsRecord}
		var dt arrow.DataType
		nullable := fc.NeedsRecord // null without a loss record
		switch sf.Type.Kind() {
		case reflect.Uint8:
			c.kind, dt, nullable = kindInt16, i16, strings.Contains(sf.Tag.Get("json"), "omitempty")
		case reflect.Uint16:
			c.kind, dt = kindInt32, i32
		case reflect.Uint32, reflect.Uint64, reflect.Int, reflect.Int32, reflect.Int64:
			c.kind, dt = kindInt, i64
		case reflect.Float64:
			c.kind, dt = kindFloat, f64
		case reflect.Bool:
			c.kind, dt = kindBool, arrow.FixedWidthTypes.Boolean
		case reflect.String:
			if tag == "first_ts" || tag == "last_ts" {
				ns := byName[tag+"_ns"]
				if ns == nil || ns.Kind() != reflect.Int64 {
					panic("parquet: loss.Flow has " + sf.Name + " without its int64 " + tag + "_ns column")
				}
				c.kind, c.fc, dt = kindTimestamp, ns, tsType
			} else {
				c.kind, dt, nullable = kindString, str, true
			}
		case reflect.Slice:
			if sf.Type.Elem().Kind() != reflect.Int || len(sf.Index) != 1 {
				panic(fmt.Sprintf("parquet: no column type for loss.Flow.%s", sf.Name))
			}
			c.kind, dt, nullable = kindVLAN, arrow.ListOf(i32), true
		default:
			panic(fmt.Sprintf("parquet: no column type for loss.Flow.%s", sf.Name))
		}
		cols = append(cols, c)
		fields = append(fields, field(tag, dt, nullable))
	}
	return cols, arrow.NewSchema(fields, nil)
}

// FlowsSchema returns the schema of the flows table: one column per field
// of the report's JSON flow (loss.Flow), under the same name.
func FlowsSchema() *arrow.Schema { return flowSchema }

// flowAppender appends one column of a flow's row to its builder.
type flowAppender func(fl *loss.Flow)

// appender returns the function that appends column c of a flow to b, the
// column's builder: the value is read by the column's typed getter
// (loss.FlowColumn), so that a row costs no reflection (buildFlowSchema
// checked the types).
func (c flowCol) appender(b array.Builder) flowAppender {
	fc := c.fc
	var f flowAppender
	switch c.kind {
	case kindInt:
		ib := b.(*array.Int64Builder)
		switch fc.Kind() {
		case reflect.Uint32, reflect.Uint64:
			f = func(fl *loss.Flow) { ib.Append(int64(fc.Uint(fl))) }
		case reflect.Int, reflect.Int32, reflect.Int64:
			f = func(fl *loss.Flow) { ib.Append(fc.Int(fl)) }
		}
	case kindInt16:
		ib := b.(*array.Int16Builder)
		f = func(fl *loss.Flow) {
			if v := fc.Uint(fl); v == 0 {
				ib.AppendNull()
			} else {
				ib.Append(int16(v))
			}
		}
	case kindInt32:
		ib := b.(*array.Int32Builder)
		f = func(fl *loss.Flow) { ib.Append(int32(fc.Uint(fl))) }
	case kindFloat:
		fb := b.(*array.Float64Builder)
		f = func(fl *loss.Flow) { fb.Append(loss.Round6(fc.Float(fl))) }
	case kindBool:
		bb := b.(*array.BooleanBuilder)
		f = func(fl *loss.Flow) { bb.Append(fc.Bool(fl)) }
	case kindString:
		sb := b.(*array.StringBuilder)
		f = func(fl *loss.Flow) {
			if s := fc.Str(fl); s == "" {
				sb.AppendNull()
			} else {
				sb.Append(s)
			}
		}
	case kindTimestamp:
		tb := b.(*array.TimestampBuilder)
		f = func(fl *loss.Flow) { tb.Append(micros(fc.Int(fl))) }
	case kindVLAN:
		// The one list column, a field of Flow itself (buildFlowSchema).
		lb := b.(*array.ListBuilder)
		vb := lb.ValueBuilder().(*array.Int32Builder)
		off := fc.Field.Offset
		f = func(fl *loss.Flow) {
			v := *(*[]int)(unsafe.Add(unsafe.Pointer(fl), off))
			if len(v) == 0 {
				lb.AppendNull()
				return
			}
			lb.Append(true)
			for _, x := range v {
				vb.Append(int32(x))
			}
		}
	}
	if f == nil {
		panic(fmt.Sprintf("parquet: no appender for column %s", c.name))
	}
	if c.needsRecord {
		inner := f
		f = func(fl *loss.Flow) {
			if fl.LossNotRecorded {
				b.AppendNull() // unknown without a loss record, not 0
				return
			}
			inner(fl)
		}
	}
	return f
}
