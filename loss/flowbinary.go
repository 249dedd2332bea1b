package loss

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"unsafe"
)

// recordFields are the fields of a Flow that AppendBinary writes: every
// exported one (the columns, and those without a JSON name such as
// LossNotRecorded), in declaration order, those of Counters in its place.
var recordFields = func() []FlowColumn {
	var out []FlowColumn
	t := reflect.TypeFor[Flow]()
	for _, sf := range reflect.VisibleFields(t) {
		if sf.Anonymous || !sf.IsExported() {
			continue
		}
		out = append(out, FlowColumn{Name: sf.Name, Field: sf, offset: fieldOffset(t, sf.Index), kind: sf.Type.Kind()})
	}
	return out
}()

// AppendBinary appends f's binary record to b: each exported field in
// turn, integers as varints, a float64 as the varint of its bits, a bool
// as a byte, a string as its varint length and bytes, and a field of
// another kind (the VLAN list) as the length and bytes of its
// encoding/json encoding. UnmarshalBinary reads it back. It is a compact
// form for a Flow kept on the side (report.FlowSpill's temporary file),
// not a stable format: it changes with Flow.
func (f *Flow) AppendBinary(b []byte) ([]byte, error) {
	for i := range recordFields {
		c := &recordFields[i]
		switch c.kind {
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
			b = binary.AppendUvarint(b, c.Uint(f))
		case reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int:
			b = binary.AppendVarint(b, c.Int(f))
		case reflect.Float64:
			b = binary.AppendUvarint(b, math.Float64bits(c.Float(f)))
		case reflect.Bool:
			v := byte(0)
			if c.Bool(f) {
				v = 1
			}
			b = append(b, v)
		case reflect.String:
			s := c.Str(f)
			b = binary.AppendUvarint(b, uint64(len(s)))
			b = append(b, s...)
		default:
			j, err := json.Marshal(c.Value(f).Interface())
			if err != nil {
				return b, err
			}
			b = binary.AppendUvarint(b, uint64(len(j)))
			b = append(b, j...)
		}
	}
	return b, nil
}

// ErrFlowRecord is the error of UnmarshalBinary for bytes that are not a
// record AppendBinary wrote.
var ErrFlowRecord = errors.New("loss: not a flow record")

// UnmarshalBinary sets f to the flow of the record data (AppendBinary),
// which it must be whole; f keeps no reference to data. A string field
// that already holds the record's value keeps its string: a Flow reused
// to read many records allocates only the strings that change.
func (f *Flow) UnmarshalBinary(data []byte) error {
	for i := range recordFields {
		c := &recordFields[i]
		p := c.ptr(f)
		var err error
		switch c.kind {
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
			var v uint64
			if v, data, err = uvarint(data); err == nil {
				err = c.setUint(p, v)
			}
		case reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int:
			v, n := binary.Varint(data)
			if n <= 0 {
				err = ErrFlowRecord
				break
			}
			data = data[n:]
			err = c.setInt(p, v)
		case reflect.Float64:
			var v uint64
			if v, data, err = uvarint(data); err == nil {
				*(*float64)(p) = math.Float64frombits(v)
			}
		case reflect.Bool:
			if len(data) == 0 || data[0] > 1 {
				err = ErrFlowRecord
				break
			}
			*(*bool)(p) = data[0] == 1
			data = data[1:]
		default:
			var s []byte
			if s, data, err = lengthPrefixed(data); err != nil {
				break
			}
			if c.kind == reflect.String {
				if sp := (*string)(p); *sp != string(s) {
					*sp = string(s)
				}
				break
			}
			if jerr := json.Unmarshal(s, reflect.NewAt(c.Field.Type, p).Interface()); jerr != nil {
				err = fmt.Errorf("%w: %s: %w", ErrFlowRecord, c.Name, jerr)
			}
		}
		if err != nil {
			return err
		}
	}
	if len(data) != 0 {
		return fmt.Errorf("%w: %d bytes after the last field", ErrFlowRecord, len(data))
	}
	return nil
}

// uvarint reads a varint off the front of data.
func uvarint(data []byte) (uint64, []byte, error) {
	v, n := binary.Uvarint(data)
	if n <= 0 {
		return 0, data, ErrFlowRecord
	}
	return v, data[n:], nil
}

// lengthPrefixed reads a varint length and that many bytes off the front
// of data.
func lengthPrefixed(data []byte) (s, rest []byte, err error) {
	n, data, err := uvarint(data)
	if err != nil || n > uint64(len(data)) {
		return nil, data, ErrFlowRecord
	}
	return data[:n], data[n:], nil
}

// setUint stores v in the unsigned integer field at p, if it fits.
func (c *FlowColumn) setUint(p unsafe.Pointer, v uint64) error {
	if size := c.Field.Type.Size(); size < 8 && v>>(8*size) != 0 {
		return fmt.Errorf("%w: %s %d out of range", ErrFlowRecord, c.Name, v)
	}
	switch c.kind {
	case reflect.Uint64:
		*(*uint64)(p) = v
	case reflect.Uint32:
		*(*uint32)(p) = uint32(v)
	case reflect.Uint16:
		*(*uint16)(p) = uint16(v)
	case reflect.Uint8:
		*(*uint8)(p) = uint8(v)
	case reflect.Uint:
		*(*uint)(p) = uint(v)
	}
	return nil
}

// setInt stores v in the signed integer field at p, if it fits.
func (c *FlowColumn) setInt(p unsafe.Pointer, v int64) error {
	if bits := 8 * c.Field.Type.Size(); bits < 64 && (v < -1<<(bits-1) || v >= 1<<(bits-1)) {
		return fmt.Errorf("%w: %s %d out of range", ErrFlowRecord, c.Name, v)
	}
	switch c.kind {
	case reflect.Int64:
		*(*int64)(p) = v
	case reflect.Int32:
		*(*int32)(p) = int32(v)
	case reflect.Int16:
		*(*int16)(p) = int16(v)
	case reflect.Int8:
		*(*int8)(p) = int8(v)
	case reflect.Int:
		*(*int)(p) = int(v)
	}
	return nil
}
