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

// csvColumn is one CSV column: a field of loss.Flow and its JSON name.
type csvColumn struct {
	name  string
	index []int
}

// flowColumns are the CSV columns, derived once from loss.Flow's JSON tags
// in field order so that the CSV header and the JSON flow objects use the
// same names and can never drift apart.
var flowColumns = func() []csvColumn {
	var cols []csvColumn
	var walk func(t reflect.Type, prefix []int)
	walk = func(t reflect.Type, prefix []int) {
		for i := 0; i < t.NumField(); i++ {
			f := t.Field(i)
			idx := append(append([]int(nil), prefix...), i)
			if f.Anonymous && f.Type.Kind() == reflect.Struct {
				walk(f.Type, idx)
				continue
			}
			tag := strings.Split(f.Tag.Get("json"), ",")[0]
			if tag == "" || tag == "-" {
				continue
			}
			cols = append(cols, csvColumn{name: tag, index: idx})
		}
	}
	walk(reflect.TypeFor[loss.Flow](), nil)
	return cols
}()

// CSVHeader returns the CSV column names: the JSON names of a flow, in
// order (docs/report.md).
func CSVHeader() []string {
	h := make([]string, len(flowColumns))
	for i, c := range flowColumns {
		h[i] = c.name
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
	c := &CSVWriter{bw: bw, cw: csv.NewWriter(bw), row: make([]string, len(flowColumns))}
	c.err = c.cw.Write(CSVHeader())
	return c
}

// Flow writes one flow's row. Errors are kept and returned by Flush.
func (c *CSVWriter) Flow(f *loss.Flow) {
	if c.err != nil {
		return
	}
	v := reflect.ValueOf(f).Elem()
	for i, col := range flowColumns {
		c.row[i] = csvValue(v.FieldByIndex(col.index))
	}
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

// csvValue formats one field: integers in decimal, estimates rounded to 6
// decimal places, booleans as true/false, VLAN ids joined with ".".
func csvValue(v reflect.Value) string {
	switch v.Kind() {
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return strconv.FormatUint(v.Uint(), 10)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		return strconv.FormatInt(v.Int(), 10)
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(round6(v.Float()), 'f', -1, 64)
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
