package report

import (
	"bufio"
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
	cw  *csv.Writer
	row []string
	err error
}

// NewCSVWriter returns a CSVWriter on w; it writes the header row at once
// (buffered: call Flush at the end).
func NewCSVWriter(w io.Writer) *CSVWriter {
	bw := bufio.NewWriterSize(w, 64<<10)
	c := &CSVWriter{bw: bw, cw: csv.NewWriter(bw), row: make([]string, len(loss.FlowColumns()))}
	c.err = c.cw.Write(CSVHeader())
	return c
}

// Flow writes one flow's row. Errors are kept and returned by Flush.
func (c *CSVWriter) Flow(f *loss.Flow) {
	if c.err != nil {
		return
	}
	csvRow(c.row, f)
	c.err = c.cw.Write(c.row)
}

// Flush writes out what is buffered and returns the first error.
func (c *CSVWriter) Flush() error {
	c.cw.Flush()
	if c.err == nil {
		c.err = c.cw.Error()
	}
	if err := c.bw.Flush(); c.err == nil {
		c.err = err
	}
	return c.err
}

// csvRow fills row with f's columns (loss.FlowColumns).
func csvRow(row []string, f *loss.Flow) {
	v := reflect.ValueOf(f).Elem()
	for i, col := range loss.FlowColumns() {
		if col.NeedsRecord && f.LossNotRecorded {
			row[i] = "" // unknown without a loss record, not 0
			continue
		}
		row[i] = csvValue(v.FieldByIndex(col.Field.Index))
	}
}

// csvValue formats one field: integers in decimal, estimates rounded to 6
// decimal places, booleans as true/false, VLAN ids joined with ".".
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
	c.cw.Flush() // the header row, before the rows written directly
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
