package parquet_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/gapan/gapan/simulate"
)

const corpus = "../testdata/corpus/"

// simulated thins a corpus capture by model into dir and returns the path
// of the result (its ground-truth sidecar lies next to it).
func simulated(t testing.TB, dir, name, model string, seed uint64) string {
	t.Helper()
	m, err := simulate.ParseModel(model)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, name)
	if _, err := simulate.Run(simulate.Config{Input: corpus + name, Output: out, Model: m, Seed: seed}); err != nil {
		t.Fatal(err)
	}
	return out
}

// rows is a table read back: its schema and its rows as column name to a
// Go value (int64, float64, bool, string, []int64, or nil for null;
// timestamps as int64 microseconds).
type rows struct {
	schema *arrow.Schema
	rows   []map[string]any
	groups int
}

// openParquet opens a Parquet file; closing the reader closes the file.
func openParquet(t testing.TB, path string) *file.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	pr, err := file.NewParquetReader(f)
	if err != nil {
		f.Close()
		t.Fatalf("%s: %v", path, err)
	}
	return pr
}

// readParquet reads a whole Parquet file back with the Arrow reader.
func readParquet(t testing.TB, path string) rows {
	t.Helper()
	pr := openParquet(t, path)
	defer pr.Close()
	fr, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 1 << 16}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	out := rows{schema: tbl.Schema(), groups: pr.NumRowGroups()}
	out.rows = make([]map[string]any, tbl.NumRows())
	for i := range out.rows {
		out.rows[i] = map[string]any{}
	}
	for c := 0; c < int(tbl.NumCols()); c++ {
		col := tbl.Column(c)
		name := col.Name()
		off := 0
		for _, chunk := range col.Data().Chunks() {
			for i := 0; i < chunk.Len(); i++ {
				out.rows[off+i][name] = value(chunk, i)
			}
			off += chunk.Len()
		}
	}
	return out
}

func value(a arrow.Array, i int) any {
	if a.IsNull(i) {
		return nil
	}
	switch a := a.(type) {
	case *array.Int16:
		return int64(a.Value(i))
	case *array.Int32:
		return int64(a.Value(i))
	case *array.Int64:
		return a.Value(i)
	case *array.Float64:
		return a.Value(i)
	case *array.Boolean:
		return a.Value(i)
	case *array.String:
		return a.Value(i)
	case *array.Timestamp:
		return int64(a.Value(i))
	case *array.List:
		lo, hi := a.ValueOffsets(i)
		var out []int64
		for j := lo; j < hi; j++ {
			out = append(out, value(a.ListValues(), int(j)).(int64))
		}
		return out
	}
	panic("unexpected column type " + a.DataType().String())
}
