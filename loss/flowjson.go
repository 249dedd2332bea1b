package loss

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"sync"
)

// FlowJSON encodes flows as JSON objects, byte for byte as encoding/json
// encodes Flow's fields (json.Marshal, or json.MarshalIndent with a prefix
// and an indent), except that the figures that need a loss record
// (FlowColumn.NeedsRecord) are null in a flow with LossNotRecorded, and
// that the floating point figures are rounded to 6 decimals (Round6) when
// the encoder is made to. It is the one JSON encoding of a flow:
// Flow.MarshalJSON, the JSON report and NDJSON all use it.
//
// It walks FlowColumns with the typed getters (FlowColumn.Uint, ...) and
// strconv's appenders: no reflection and no allocation per flow, except
// for a column of a kind the getters do not cover (the VLAN list, written
// by encoding/json) and a string encoding/json would escape.
type FlowJSON struct {
	cols    []jsonColumn
	checked []*FlowColumn // the columns Append may refuse (Check)
	compact bool
	close   string // after the last member
	inner   string // the prefix of a member's nested lines (the VLAN list)
	ind     string
	round   bool
}

// jsonColumn is a column with its member name as FlowJSON writes it.
type jsonColumn struct {
	col   *FlowColumn
	first string // the member's start when it is the first: "{" and "name":
	next  string // when it is not: the separator and "name":
}

// compactFlowJSON is Flow.MarshalJSON's encoder.
var compactFlowJSON = sync.OnceValue(func() *FlowJSON { return NewFlowJSON("", "", false) })

// NewFlowJSON returns an encoder of flows in the layout of
// json.MarshalIndent(flow, prefix, indent), or of json.Marshal when both
// are empty. With round6, every floating point figure is written rounded
// to 6 decimal places (Round6), as the reports show them.
func NewFlowJSON(prefix, indent string, round6 bool) *FlowJSON {
	e := &FlowJSON{compact: prefix == "" && indent == "", close: "}", round: round6, inner: prefix + indent, ind: indent}
	first, sep, colon := "{", ",", ":"
	if !e.compact {
		first = "{\n" + prefix + indent
		sep = ",\n" + prefix + indent
		e.close = "\n" + prefix + "}"
		colon = ": "
	}
	cols := flowColumns()
	for i := range cols {
		c := &cols[i]
		k, _ := json.Marshal(c.Name)
		e.cols = append(e.cols, jsonColumn{col: c, first: first + string(k) + colon, next: sep + string(k) + colon})
		switch c.kind {
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint,
			reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int,
			reflect.Bool, reflect.String:
		default:
			e.checked = append(e.checked, c)
		}
	}
	return e
}

// Append appends the JSON object of f to dst and returns the extended
// slice. The error is encoding/json's for a value JSON cannot hold (an
// infinite or NaN estimate); dst then holds a partial object.
func (e *FlowJSON) Append(dst []byte, f *Flow) ([]byte, error) {
	n := 0
	for i := range e.cols {
		jc := &e.cols[i]
		c := jc.col
		if c.OmitEmpty && c.empty(f) {
			continue
		}
		if n == 0 {
			dst = append(dst, jc.first...)
		} else {
			dst = append(dst, jc.next...)
		}
		n++
		if c.NeedsRecord && f.LossNotRecorded {
			dst = append(dst, "null"...)
			continue
		}
		var err error
		switch c.kind {
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
			if v := c.Uint(f); v < 10 { // most counters of most flows
				dst = append(dst, byte('0'+v))
			} else {
				dst = strconv.AppendUint(dst, v, 10)
			}
		case reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int:
			dst = strconv.AppendInt(dst, c.Int(f), 10)
		case reflect.Float64:
			v := c.Float(f)
			if e.round {
				v = Round6(v)
			}
			dst, err = appendJSONFloat(dst, v)
		case reflect.Bool:
			dst = strconv.AppendBool(dst, c.Bool(f))
		case reflect.String:
			dst, err = appendJSONString(dst, c.Str(f))
		default:
			dst, err = e.appendOther(dst, c.Value(f))
		}
		if err != nil {
			return dst, err
		}
	}
	if n == 0 {
		return append(dst, "{}"...), nil
	}
	return append(dst, e.close...), nil
}

// Check returns the error Append would return for f, without encoding
// it. encoding/json refuses only a float that is infinite or NaN (a
// string it writes with any invalid UTF-8 replaced), so Check looks at the
// floats Append writes, rounded as Append rounds them, and encodes only a
// column of a kind the getters do not cover (the VLAN list). It is for a
// caller that encodes f later (report.FlowSpill keeps a flow's binary
// record and encodes it at the merge) and must fail now.
func (e *FlowJSON) Check(f *Flow) error {
	for _, c := range e.checked {
		var v float64
		if c.kind == reflect.Float64 {
			if v = c.Float(f); e.round {
				v = Round6(v)
			}
			if !math.IsInf(v, 0) && !math.IsNaN(v) {
				continue // omitted or null or not, a finite float is written
			}
		}
		if (c.OmitEmpty && c.empty(f)) || (c.NeedsRecord && f.LossNotRecorded) {
			continue
		}
		if c.kind == reflect.Float64 {
			_, err := appendJSONFloat(nil, v) // its error
			return err
		}
		if _, err := e.appendOther(nil, c.Value(f)); err != nil {
			return err
		}
	}
	return nil
}

// CheckLive is Check of every flow of l, without building their records:
// Check reads only the floats of a record and its VLAN list (a list of
// integers, which encoding/json never refuses), and each flow is checked
// as its figures alone (LiveFlows.figures).
func (e *FlowJSON) CheckLive(l *LiveFlows) error {
	var f Flow
	for i := range l.Len() {
		if err := e.Check(l.figures(i, &f)); err != nil {
			return err
		}
	}
	return nil
}

// appendOther appends v as encoding/json writes it at depth one of the
// object.
func (e *FlowJSON) appendOther(dst []byte, v reflect.Value) ([]byte, error) {
	b, err := json.Marshal(v.Interface())
	if err != nil || e.compact {
		return append(dst, b...), err
	}
	var buf bytes.Buffer
	if err := json.Indent(&buf, b, e.inner, e.ind); err != nil {
		return dst, err
	}
	return append(dst, buf.Bytes()...), nil
}

// empty says whether encoding/json's omitempty leaves the column of f out.
func (c *FlowColumn) empty(f *Flow) bool {
	switch c.kind {
	case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
		return c.Uint(f) == 0
	case reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int:
		return c.Int(f) == 0
	case reflect.Float64:
		return c.Float(f) == 0
	case reflect.Bool:
		return !c.Bool(f)
	case reflect.String:
		return c.Str(f) == ""
	}
	v := c.Value(f)
	switch v.Kind() {
	case reflect.Array, reflect.Map, reflect.Slice, reflect.String:
		return v.Len() == 0
	case reflect.Float32, reflect.Interface, reflect.Pointer:
		return v.IsZero()
	}
	return false
}

// appendJSONFloat appends v as encoding/json writes a float64.
func appendJSONFloat(dst []byte, v float64) ([]byte, error) {
	if math.IsInf(v, 0) || math.IsNaN(v) {
		return dst, &json.UnsupportedValueError{Value: reflect.ValueOf(v), Str: strconv.FormatFloat(v, 'g', -1, 64)}
	}
	format := byte('f')
	if abs := math.Abs(v); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	dst = strconv.AppendFloat(dst, v, format, -1, 64)
	if format == 'e' {
		// e-09 to e-9, as encoding/json does
		n := len(dst)
		if n >= 4 && dst[n-4] == 'e' && dst[n-3] == '-' && dst[n-2] == '0' {
			dst[n-2] = dst[n-1]
			dst = dst[:n-1]
		}
	}
	return dst, nil
}

// appendJSONString appends s quoted as encoding/json writes a string: a
// string of printable ASCII that needs no escape (encoding/json also
// escapes <, > and &) as it is, any other through encoding/json.
func appendJSONString(dst []byte, s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, err := json.Marshal(s)
			return append(dst, b...), err
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"'), nil
}
