package loss

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"reflect"
	"sync"
	"unsafe"
)

// kindInts is the kind of the recordFields of type []int (the VLAN list),
// which the record holds as varints rather than as JSON.
const kindInts = reflect.UnsafePointer + 1

// recordFields are the fields of a Flow that AppendBinary writes: every
// exported one (the columns, and those without a JSON name such as
// LossNotRecorded), in declaration order, those of Counters in its place.
// They are derived on first use, not at start-up, which every command
// of the binary would pay for.
var recordFields = sync.OnceValue(func() []FlowColumn {
	return walkFlowFields(func(c *FlowColumn) bool {
		if c.Field.Type == reflect.TypeFor[[]int]() {
			c.kind = kindInts
		}
		return true
	})
})

// AppendBinary appends f's binary record to b: each exported field in
// turn, integers as varints, a float64 as the varint of its bits, a bool
// as a byte, a string as its varint length and bytes, and a field of
// another kind as the length and bytes of its encoding/json encoding (a
// []int, the VLAN list, as its length plus one, 0 for nil, and varints). UnmarshalBinary reads it back. It is a compact
// form for a Flow kept on the side (report.FlowSpill's temporary file),
// not a stable format: it changes with Flow.
func (f *Flow) AppendBinary(b []byte) ([]byte, error) {
	fields := recordFields()
	for i := range fields {
		c := &fields[i]
		switch c.kind {
		case reflect.Uint64: // most fields
			b = binary.AppendUvarint(b, *(*uint64)(c.ptr(f)))
		case reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
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
		case kindInts:
			// the length plus one, 0 for nil, then the elements
			if l := *(*[]int)(c.ptr(f)); l == nil {
				b = append(b, 0)
			} else {
				b = binary.AppendUvarint(b, uint64(len(l))+1)
				for _, v := range l {
					b = binary.AppendVarint(b, int64(v))
				}
			}
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
func (f *Flow) UnmarshalBinary(data []byte) error { return f.unmarshalBinary(data, false) }

// UnmarshalBinaryShared is UnmarshalBinary without a copy of the strings:
// those of f share data's bytes, so f is valid only as long as data is not
// changed. It allocates nothing (a VLAN list apart), for a reader that
// uses each flow at once and drops it before it reuses data
// (report.FlowSpill's merge).
func (f *Flow) UnmarshalBinaryShared(data []byte) error { return f.unmarshalBinary(data, true) }

func (f *Flow) unmarshalBinary(data []byte, share bool) error {
	fields := recordFields()
	for i := range fields {
		c := &fields[i]
		p := c.ptr(f)
		var err error
		switch c.kind {
		case reflect.Uint64: // most fields: no range to check
			v, n := binary.Uvarint(data)
			if n <= 0 {
				err = ErrFlowRecord
				break
			}
			data = data[n:]
			*(*uint64)(p) = v
		case reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
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
		case kindInts:
			data, err = c.setInts(p, data, share)
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
				switch sp := (*string)(p); {
				case share && len(s) > 0:
					*sp = unsafe.String(&s[0], len(s))
				case *sp != string(s):
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

// setInts reads a list of ints off the front of data into the []int field
// at p: in the field's own array when reuse is set (the Flow is the
// reader's alone), else in a new one.
func (c *FlowColumn) setInts(p unsafe.Pointer, data []byte, reuse bool) ([]byte, error) {
	n, data, err := uvarint(data)
	l := (*[]int)(p)
	switch {
	case err != nil:
		return data, err
	case n == 0:
		*l = nil
		return data, nil
	case n-1 > uint64(len(data)): // a varint is a byte at least
		return data, ErrFlowRecord
	case !reuse:
		*l = nil
	}
	*l = (*l)[:0]
	for range n - 1 {
		v, k := binary.Varint(data)
		if k <= 0 || v != int64(int(v)) {
			return data, ErrFlowRecord
		}
		*l = append(*l, int(v))
		data = data[k:]
	}
	if *l == nil {
		*l = []int{} // an empty list, not nil
	}
	return data, nil
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
