package parquet

import (
	"bytes"
	"context"
	"math"
	"math/rand"
	"net/netip"
	"slices"
	"testing"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"
)

// TestFrameColumnOrder checks that the goroutines writing a batch are
// handed every frames column once.
func TestFrameColumnOrder(t *testing.T) {
	if n := FramesSchema().NumFields(); n != numFrameColumns {
		t.Fatalf("frames schema has %d columns, numFrameColumns %d", n, numFrameColumns)
	}
	got := slices.Clone(frameColumnOrder[:])
	slices.Sort(got)
	for i, c := range got {
		if c != i {
			t.Fatalf("frameColumnOrder is not a permutation of the columns: %v", frameColumnOrder)
		}
	}
}

// TestFramesFileAsPqarrow writes the same rows, random and with nulls
// that come and go, with the frames table's writer and with pqarrow's
// FileWriter (Arrow arrays of the same schema and properties, the way the
// frames table was written before round 6 of issue 21), in row groups
// that batches straddle, and checks that the two files read back the
// same: schema, row groups, every value and every column's statistics.
// TestFramesFileAsPqarrow holds the frames file that gapan encodes to
// the one pqarrow's writer makes of the same rows with the same
// properties: the same values and column statistics, read back by arrow.
// The extreme rows test the delta encoding's wrap-around (int64 and
// int32 limits next to each other), the bit widths above 32, and nulls
// in runs long and short.
func TestFramesFileAsPqarrow(t *testing.T) {
	t.Run("random", func(t *testing.T) { testFramesFileAsPqarrow(t, 5000, 1800, 700, false) })
	t.Run("extreme", func(t *testing.T) { testFramesFileAsPqarrow(t, 9000, 4100, 1333, true) })
}

func testFramesFileAsPqarrow(t *testing.T, rows, rowGroup, batch int, extreme bool) {
	r := rand.New(rand.NewSource(1))
	ext64 := []int64{math.MinInt64, math.MaxInt64, 0, -1, 1, math.MinInt32, math.MaxInt32, 1 << 40}
	ext32 := []int64{math.MinInt32, math.MaxInt32, 0, -1, 1, 1 << 20}
	runIP, runTCP := true, true
	var ours bytes.Buffer
	ft, err := newFramesTable(&ours, rowGroup, batch)
	if err != nil {
		t.Fatal(err)
	}
	s := FramesSchema()
	mem := memory.NewGoAllocator()
	rb := array.NewRecordBuilder(mem, s)
	defer rb.Release()
	for i := 0; i < rows; i++ {
		b := ft.cur
		j := b.next()
		ip, tcp, ports, vlan := r.Intn(8) > 0, r.Intn(4) > 0, r.Intn(5) > 0, r.Intn(10) == 0
		vals := []int64{int64(i + 1), int64(1e6 + i*10), int64(1e9 + i*10000), int64(60 + r.Intn(1400)), int64(60 + r.Intn(1400)),
			int64(r.Intn(3) / 2 * r.Intn(50)), int64(1 + r.Intn(40)), int64(r.Intn(2))}
		if extreme {
			// nulls in runs: a run ends with probability 1/20
			if r.Intn(20) == 0 {
				runIP = !runIP
			}
			if r.Intn(20) == 0 {
				runTCP = !runTCP
			}
			ip, tcp, vlan = runIP, runTCP && i%3000 < 2500, false
			for _, c := range []int{0, 1, 2, 5} {
				if r.Intn(3) == 0 {
					vals[c] = ext64[r.Intn(len(ext64))]
				}
			}
			for _, c := range []int{3, 4} {
				if r.Intn(3) == 0 {
					vals[c] = ext32[r.Intn(len(ext32))]
				}
			}
		}
		// a flow's addresses, IPv6 for every fifth flow, swapped in the
		// reverse direction
		fl := byte(vals[6])
		src, dst := netip.AddrFrom4([4]byte{10, 0, fl, 1}), netip.AddrFrom4([4]byte{192, 168, fl, 2})
		if fl%5 == 0 {
			src, dst = netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 15: fl}), netip.AddrFrom16([16]byte{0x20, 0x01, 0x0d, 0xb8, 14: 1, 15: fl})
		}
		if vals[7] == 1 {
			src, dst = dst, src
		}
		b.num[j], b.ts[j], b.tsNs[j], b.capLen[j], b.origLen[j], b.gap[j], b.flow[j], b.dir[j] =
			vals[0], vals[1], vals[2], int32(vals[3]), int32(vals[4]), vals[5], vals[6], int32(vals[7])
		b.cIP.set(j, ip)
		b.cSrc.set(j, ip)
		b.cDst.set(j, ip)
		b.proto[j], b.pay[j] = 0, 0
		if ip {
			b.proto[j], b.pay[j] = 6, int32(r.Intn(1400))
			if src.Is4() {
				b.srcData, b.dstData = src.AppendTo(b.srcData), dst.AppendTo(b.dstData)
			} else {
				b.setAddrs(uint64(vals[6]), b.dir[j], src, dst)
			}
		}
		b.srcOffs[j+1], b.dstOffs[j+1] = int32(len(b.srcData)), int32(len(b.dstData))
		b.cPort.set(j, ports)
		b.sport[j], b.dport[j] = int32(r.Intn(65536)), int32(r.Intn(1024))
		b.cVLAN.set(j, vlan)
		b.vlan[j] = int32(r.Intn(4096))
		b.cTCP.set(j, tcp)
		b.tcpFlags[j], b.seq[j], b.ack[j] = int32(r.Intn(64)), int64(r.Uint32()), int64(r.Uint32())
		if extreme && r.Intn(4) == 0 {
			b.seq[j] = ext64[r.Intn(len(ext64))]
		}
		b.ifc[j] = int32(r.Intn(2))

		// the same row through Arrow builders
		for c, v := range vals[:7] {
			switch bl := rb.Field(c).(type) {
			case *array.Int64Builder:
				bl.Append(v)
			case *array.Int32Builder:
				bl.Append(int32(v))
			case *array.TimestampBuilder:
				bl.Append(arrow.Timestamp(v))
			}
		}
		rb.Field(fDirection).(*array.StringBuilder).Append(dirText[vals[7]])
		str := func(c int, ok bool, a netip.Addr) {
			if ok {
				rb.Field(c).(*array.StringBuilder).Append(a.String())
			} else {
				rb.Field(c).AppendNull()
			}
		}
		str(fSrcIP, ip, src)
		str(fDstIP, ip, dst)
		i32 := func(c int, ok bool, v int32) {
			if ok {
				rb.Field(c).(*array.Int32Builder).Append(v)
			} else {
				rb.Field(c).AppendNull()
			}
		}
		i16 := func(c int, ok bool, v int32) {
			if ok {
				rb.Field(c).(*array.Int16Builder).Append(int16(v))
			} else {
				rb.Field(c).AppendNull()
			}
		}
		i64 := func(c int, ok bool, v int64) {
			if ok {
				rb.Field(c).(*array.Int64Builder).Append(v)
			} else {
				rb.Field(c).AppendNull()
			}
		}
		i32(fSrcPort, ports, b.sport[j])
		i32(fDstPort, ports, b.dport[j])
		i16(fIPProto, ip, b.proto[j])
		i32(fVLAN, vlan, b.vlan[j])
		i16(fTCPFlags, tcp, b.tcpFlags[j])
		i64(fTCPSeq, tcp, b.seq[j])
		i64(fTCPAck, tcp, b.ack[j])
		i32(fPayloadLen, ip, b.pay[j])
		rb.Field(fInterfaceID).(*array.Int32Builder).Append(b.ifc[j])
		if err := ft.endRow(); err != nil {
			t.Fatal(err)
		}
	}
	if err := ft.close(); err != nil {
		t.Fatal(err)
	}

	// pqarrow's writer, with the frames table's properties
	var theirs bytes.Buffer
	pw, err := pqarrow.NewFileWriter(s, &theirs, ft.file.Properties(), arrowProps(mem))
	if err != nil {
		t.Fatal(err)
	}
	rec := rb.NewRecord()
	defer rec.Release()
	for off := int64(0); off < rec.NumRows(); off += int64(batch) {
		sl := rec.NewSlice(off, min(off+int64(batch), rec.NumRows()))
		if err := pw.WriteBuffered(sl); err != nil {
			t.Fatal(err)
		}
		sl.Release()
	}
	if err := pw.Close(); err != nil {
		t.Fatal(err)
	}

	read := func(name string, b []byte) (*file.Reader, arrow.Table) {
		fr, err := file.NewParquetReader(bytes.NewReader(b))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		ar, err := pqarrow.NewFileReader(fr, pqarrow.ArrowReadProperties{}, mem)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		tbl, err := ar.ReadTable(context.Background())
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		return fr, tbl
	}
	fo, to := read("ours", ours.Bytes())
	ft2, tt := read("pqarrow's", theirs.Bytes())
	defer to.Release()
	defer tt.Release()
	if !to.Schema().Equal(tt.Schema()) {
		t.Fatalf("schemas differ:\n%v\n%v", to.Schema(), tt.Schema())
	}
	if to.NumRows() != int64(rows) || tt.NumRows() != int64(rows) {
		t.Fatalf("%d and %d rows, want %d", to.NumRows(), tt.NumRows(), rows)
	}
	if g, w := fo.NumRowGroups(), ft2.NumRowGroups(); g != w || g != (rows+rowGroup-1)/rowGroup {
		t.Fatalf("%d and %d row groups, want %d", g, w, (rows+rowGroup-1)/rowGroup)
	}
	for c := 0; c < int(to.NumCols()); c++ {
		if !array.ChunkedEqual(to.Column(c).Data(), tt.Column(c).Data()) {
			t.Errorf("column %s differs", s.Field(c).Name)
			ca, _ := array.Concatenate(to.Column(c).Data().Chunks(), mem)
			cb, _ := array.Concatenate(tt.Column(c).Data().Chunks(), mem)
			for k := 0; k < ca.Len() && k < cb.Len(); k++ {
				if ca.ValueStr(k) != cb.ValueStr(k) {
					t.Errorf("row %d: %q, pqarrow's %q", k, ca.ValueStr(k), cb.ValueStr(k))
					break
				}
			}
			ca.Release()
			cb.Release()
		}
	}
	for g := 0; g < fo.NumRowGroups(); g++ {
		for c := 0; c < numFrameColumns; c++ {
			a, _ := fo.MetaData().RowGroup(g).ColumnChunk(c)
			b, _ := ft2.MetaData().RowGroup(g).ColumnChunk(c)
			sa, _ := a.Statistics()
			sb, _ := b.Statistics()
			if (sa == nil) != (sb == nil) {
				t.Fatalf("row group %d column %s: statistics %v and %v", g, s.Field(c).Name, sa, sb)
			}
			if sa != nil && (sa.NullCount() != sb.NullCount() || !bytes.Equal(sa.EncodeMin(), sb.EncodeMin()) || !bytes.Equal(sa.EncodeMax(), sb.EncodeMax())) {
				t.Errorf("row group %d column %s: statistics differ", g, s.Field(c).Name)
			}
		}
	}
}
