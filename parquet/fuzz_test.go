package parquet_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/fuzzgen"
	"github.com/gapan/gapan/parquet"
)

// FuzzWriter writes arbitrary flows (any strings, extreme counts) into the
// three tables (seeds in testdata/fuzz/FuzzWriter). Writing must succeed,
// and the flows table must read back with every flow once, in order, with
// its id and src_ip as written; an incomplete sidecar is in the metadata.
func FuzzWriter(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte("\x03cap\x02sc\x05\x00\x00\x00\x00\x00\x00\x00\x01\x02tcp\x04,\"\n<"))
	f.Fuzz(func(t *testing.T, data []byte) {
		flows, files := fuzzgen.Flows(data)
		r := &analyze.Result{Summary: fuzzgen.Summary(flows, files), Files: files, KernelDrops: -1}
		var fr, gp, fl bytes.Buffer
		w, err := parquet.NewWriter(&fr, &gp, &fl, parquet.WriterOptions{RowGroupRows: 13})
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range flows {
			w.Flow(f)
		}
		if err := w.Finish(r); err != nil {
			t.Fatalf("Finish: %v", err)
		}
		pr, err := file.NewParquetReader(bytes.NewReader(fl.Bytes()))
		if err != nil {
			t.Fatal(err)
		}
		defer pr.Close()
		if v := pr.MetaData().KeyValueMetadata().FindValue(parquet.MetaLossUnknown); (v != nil) != (files[0].SidecarIncomplete || !r.LossRecorded()) {
			t.Fatalf("%s = %v with sidecar incomplete %v, loss recorded %v", parquet.MetaLossUnknown, v, files[0].SidecarIncomplete, r.LossRecorded())
		}
		ar, err := pqarrow.NewFileReader(pr, pqarrow.ArrowReadProperties{BatchSize: 1024}, memory.DefaultAllocator)
		if err != nil {
			t.Fatal(err)
		}
		tbl, err := ar.ReadTable(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		defer tbl.Release()
		if tbl.NumRows() != int64(len(flows)) {
			t.Fatalf("flows table has %d rows, want %d", tbl.NumRows(), len(flows))
		}
		idIdx := tbl.Schema().FieldIndices("flow_id")
		ipIdx := tbl.Schema().FieldIndices("src_ip")
		if len(idIdx) != 1 || len(ipIdx) != 1 {
			t.Fatalf("schema %v", tbl.Schema())
		}
		i := 0
		for _, c := range tbl.Column(idIdx[0]).Data().Chunks() {
			ids := c.(*array.Int64)
			for j := range ids.Len() {
				if uint64(ids.Value(j)) != flows[i].FlowID {
					t.Fatalf("row %d: flow_id %d, want %d", i, ids.Value(j), flows[i].FlowID)
				}
				i++
			}
		}
		i = 0
		for _, c := range tbl.Column(ipIdx[0]).Data().Chunks() {
			for j := range c.Len() {
				want := flows[i].SrcIP
				got := ""
				if !c.IsNull(j) {
					got = c.ValueStr(j)
				}
				if got != want && !(want == "" && c.IsNull(j)) {
					t.Fatalf("row %d: src_ip %q, want %q", i, got, want)
				}
				i++
			}
		}
	})
}
