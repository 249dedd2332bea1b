package report

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"strconv"
	"strings"

	"github.com/gapan/gapan/loss"
)

// CSVHeader returns the CSV column names: the JSON names of a flow, in
// order (docs/report.md).
func CSVHeader() []string {
	cols := loss.FlowColumns()
	h := make([]string, len(cols))
	for i, c := range cols {
		h[i] = c.Name
	}
	return h
}

// CSVWriter writes flows as CSV, one row per flow, under a header row.
// Its Flow method fits loss.Config.OnFlow for streaming.
type CSVWriter struct {
	bw  *bufio.Writer
	row []byte // the row being written, reused
	err error
}

// NewCSVWriter returns a CSVWriter on w; it writes the header row at once
// (buffered: call Flush at the end).
func NewCSVWriter(w io.Writer) *CSVWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := &CSVWriter{bw: bw}
	cw := csv.NewWriter(bw)
	c.err = cw.Write(CSVHeader())
	cw.Flush()
	if c.err == nil {
		c.err = cw.Error()
	}
	return c
}

// Flow writes one flow's row. Errors are kept and returned by Flush.
func (c *CSVWriter) Flow(f *loss.Flow) {
	if c.err != nil {
		return
	}
	c.row, c.err = appendCSVRow(c.row[:0], f)
	if c.err == nil {
		_, c.err = c.bw.Write(c.row)
	}
}

// Flush writes out what is buffered and returns the first error.
func (c *CSVWriter) Flush() error {
	if err := c.bw.Flush(); c.err == nil {
		c.err = err
	}
	return c.err
}

// appendCSVRow appends f's row (loss.FlowColumns), line end included, to
// dst, byte for byte as encoding/csv's Writer writes it: integers in
// decimal, estimates rounded to 6 decimal places, booleans as true/false,
// VLAN ids joined with ".", and an empty cell for a figure that needs a
// loss record in a flow without one (unknown, not 0).
func appendCSVRow(dst []byte, f *loss.Flow) ([]byte, error) {
	cols := loss.FlowColumns()
	for i := range cols {
		c := &cols[i]
		if i > 0 {
			dst = append(dst, ',')
		}
		if c.NeedsRecord && f.LossNotRecorded {
			continue
		}
		switch c.Kind() {
		case reflect.Uint64, reflect.Uint32, reflect.Uint16, reflect.Uint8, reflect.Uint:
			dst = strconv.AppendUint(dst, c.Uint(f), 10)
		case reflect.Int64, reflect.Int32, reflect.Int16, reflect.Int8, reflect.Int:
			dst = strconv.AppendInt(dst, c.Int(f), 10)
		case reflect.Float64:
			dst = strconv.AppendFloat(dst, loss.Round6(c.Float(f)), 'f', -1, 64)
		case reflect.Bool:
			dst = strconv.AppendBool(dst, c.Bool(f))
		case reflect.String:
			dst = appendCSVField(dst, c.Str(f))
		default:
			dst = appendCSVField(dst, csvValue(c.Value(f)))
		}
	}
	return append(dst, '\n'), nil
}

// appendCSVField appends s as a cell, quoted as encoding/csv quotes it: a
// cell of printable ASCII without a comma or a quote that does not start
// with a space is written as it is, any other through encoding/csv.
func appendCSVField(dst []byte, s string) []byte {
	plain := s != `\.` && (s == "" || s[0] != ' ')
	for i := 0; plain && i < len(s); i++ {
		c := s[i]
		plain = c >= 0x20 && c < 0x7f && c != ',' && c != '"'
	}
	if plain {
		return append(dst, s...)
	}
	var b bytes.Buffer
	cw := csv.NewWriter(&b)
	cw.Write([]string{s}) // into memory: no error with the default comma
	cw.Flush()
	return append(dst, bytes.TrimSuffix(b.Bytes(), []byte("\n"))...)
}

// csvValue formats one field of a kind the typed getters do not cover
// (the VLAN list: ids joined with "."), or an element of it.
func csvValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(loss.Round6(v.Float()), 'f', -1, 64)
	case reflect.Bool:
		return strconv.FormatBool(v.Bool())
	case reflect.String:
		return v.String()
	case reflect.Slice:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = csvValue(v.Index(i))
		}
		return strings.Join(parts, ".")
	}
	return ""
}

// WriteCSVFlows is WriteCSV of the flows of a FlowSpill made with
// CSVFlowEncoding (the run's loss.Config.OnFlow), sorted by flow id: the
// same output as WriteCSV of Summary.List, in memory bounded by the
// spill's budget. It releases flows.
func WriteCSVFlows(w io.Writer, flows *FlowSpill) error {
	if err := flows.Err(); err != nil {
		flows.Close()
		return err // before a byte is written
	}
	c := NewCSVWriter(w)
	err := flows.Each(func(b []byte) error {
		_, err := c.bw.Write(b)
		return err
	})
	if ferr := c.Flush(); err == nil {
		err = ferr
	}
	return err
}

// WriteCSV writes flows as CSV: a header row of the flows' JSON names, then
// one row per flow in the order given.
func WriteCSV(w io.Writer, flows []*loss.Flow) error {
	c := NewCSVWriter(w)
	for _, f := range flows {
		c.Flow(f)
	}
	return c.Flush()
}
