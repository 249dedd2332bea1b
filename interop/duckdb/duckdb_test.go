// Package duckdb checks gapan's Parquet datasets with an independent
// reader: DuckDB (through github.com/duckdb/duckdb-go). It is a separate
// module so that the main module does not depend on cgo or DuckDB.
//
//	cd interop/duckdb && go test ./...
package duckdb

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/apache/arrow/go/v15/arrow/memory"
	"github.com/apache/arrow/go/v15/parquet/file"
	"github.com/apache/arrow/go/v15/parquet/pqarrow"

	_ "github.com/duckdb/duckdb-go/v2"
	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/parquet"
	"github.com/gapan/gapan/simulate"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

const corpus = "../../testdata/corpus/"

func simulated(t *testing.T, dir, name, model string, seed uint64) string {
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

// gapanReport is gapan's own report of one capture (the figures of
// `gapan report --format json`).
func gapanReport(t *testing.T, capture string) *analyze.Result {
	t.Helper()
	r, err := analyze.Run(analyze.Config{Captures: []string{capture}, KernelDrops: -1, Engine: loss.Config{KeepFlows: true, KeepGaps: true}})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func open(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

func one[T any](t *testing.T, db *sql.DB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := db.QueryRow(q, args...).Scan(&v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

// describe returns column name -> DuckDB type of a query's result.
func describe(t *testing.T, db *sql.DB, from string) map[string]string {
	t.Helper()
	rows, err := db.Query("DESCRIBE SELECT * FROM " + from)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	out := map[string]string{}
	cols, _ := rows.Columns()
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			t.Fatal(err)
		}
		out[fmt.Sprint(vals[0])] = fmt.Sprint(vals[1])
	}
	return out
}

// wantTypes are the DuckDB types of the columns whose type was chosen for
// the engines (docs/parquet.md).
var wantTypes = map[string]map[string]string{
	"frames": {
		"frame_number": "BIGINT", "ts": "TIMESTAMP WITH TIME ZONE", "ts_ns": "BIGINT", "cap_len": "INTEGER",
		"orig_len": "INTEGER", "gap_before": "BIGINT", "flow_id": "BIGINT", "direction": "VARCHAR",
		"src_ip": "VARCHAR", "dst_ip": "VARCHAR", "src_port": "INTEGER", "dst_port": "INTEGER",
		"ip_proto": "SMALLINT", "vlan": "INTEGER", "tcp_flags": "SMALLINT", "tcp_seq": "BIGINT",
		"tcp_ack": "BIGINT", "payload_len": "INTEGER", "interface_id": "INTEGER",
	},
	"gaps": {
		"frame_number": "BIGINT", "prev_frame": "BIGINT", "interface_id": "INTEGER", "ts_before": "TIMESTAMP WITH TIME ZONE",
		"ts_after": "TIMESTAMP WITH TIME ZONE", "lost": "BIGINT", "source": "VARCHAR", "kind": "VARCHAR",
	},
	"flows": {
		"flow_id": "BIGINT", "proto": "VARCHAR", "src_ip": "VARCHAR", "src_port": "INTEGER", "vlan": "INTEGER[]",
		"first_ts": "TIMESTAMP WITH TIME ZONE", "packets": "BIGINT", "bytes": "BIGINT", "est_lost": "DOUBLE",
		"capture_lost_segments": "BIGINT", "missed_bytes": "BIGINT", "rtp": "BOOLEAN", "rtp_lost_capture": "BIGINT",
	},
}

func checkTypes(t *testing.T, db *sql.DB, table, from string, extra map[string]string) {
	t.Helper()
	got := describe(t, db, from)
	want := map[string]string{}
	for k, v := range wantTypes[table] {
		want[k] = v
	}
	for k, v := range extra {
		want[k] = v
	}
	for col, typ := range want {
		if got[col] != typ {
			t.Errorf("%s.%s: DuckDB type %q, want %q", table, col, got[col], typ)
		}
	}
	for col, typ := range got {
		if strings.HasPrefix(typ, "U") {
			t.Errorf("%s.%s: unsigned type %s (Spark reads it as a decimal)", table, col, typ)
		}
	}
}

// checkCapture compares the tables read by DuckDB (filtered by where)
// with gapan's own report of the capture.
func checkCapture(t *testing.T, db *sql.DB, ds, where string, r *analyze.Result) {
	t.Helper()
	s := r.Summary
	frames := fmt.Sprintf("read_parquet('%s/frames/**/*.parquet', hive_partitioning = true) %s", ds, where)
	gaps := fmt.Sprintf("read_parquet('%s/gaps/**/*.parquet', hive_partitioning = true) %s", ds, where)
	flows := fmt.Sprintf("read_parquet('%s/flows/**/*.parquet', hive_partitioning = true) %s", ds, where)

	if n := one[int64](t, db, "SELECT count(*) FROM "+frames); uint64(n) != s.FramesCaptured {
		t.Errorf("frames: DuckDB counts %d rows, gapan captured %d", n, s.FramesCaptured)
	}
	if n := one[int64](t, db, "SELECT coalesce(sum(gap_before), 0) FROM "+frames); uint64(n) != s.FramesLost-s.TailGap {
		t.Errorf("frames: sum(gap_before) = %d, gapan %d lost before frames", n, s.FramesLost-s.TailGap)
	}
	if n := one[int64](t, db, "SELECT coalesce(sum(lost), 0) FROM "+gaps); uint64(n) != s.FramesLost {
		t.Errorf("gaps: sum(lost) = %d, gapan frames_lost %d", n, s.FramesLost)
	}
	if n := one[int64](t, db, "SELECT count(*) FROM "+gaps+" AND kind = 'gap'"); uint64(n) != s.GapEvents {
		t.Errorf("gaps: %d gap rows, gapan %d gap events", n, s.GapEvents)
	}
	if n := one[int64](t, db, "SELECT coalesce(sum(lost), 0) FROM "+gaps+" AND kind = 'tail' AND frame_number IS NULL"); uint64(n) != s.TailGap {
		t.Errorf("gaps: tail rows sum %d, gapan tail_gap %d", n, s.TailGap)
	}
	// Frame numbers run 1..N in order, timestamps as the capture's (the
	// delta-encoded columns read back by another implementation).
	if n := one[int64](t, db, "SELECT count(*) FROM (SELECT frame_number - lag(frame_number) OVER (ORDER BY frame_number) AS d FROM "+frames+") WHERE d <> 1"); n != 0 {
		t.Errorf("frames: %d frame numbers that do not follow the previous one by 1", n)
	}
	if n := one[int64](t, db, "SELECT max(frame_number) - count(*) FROM "+frames); n != 0 {
		t.Errorf("frames: max(frame_number) - count(*) = %d", n)
	}
	// Per flow from the frames table: packets and bytes (orig_len), joined
	// with the flows table.
	if n := one[int64](t, db, "SELECT count(*) FROM (SELECT flow_id, count(*) AS p, sum(orig_len) AS b FROM "+frames+
		" GROUP BY flow_id) f FULL JOIN (SELECT flow_id, packets, bytes FROM "+flows+") l USING (flow_id) WHERE f.p IS DISTINCT FROM l.packets OR f.b IS DISTINCT FROM l.bytes"); n != 0 {
		t.Errorf("%d flows whose frames' count or sum(orig_len) differ from the flows table", n)
	}
	// Each frame's addresses are its flow's, by direction (the frames
	// table's dictionary-encoded string columns read by another
	// implementation).
	if n := one[int64](t, db, "SELECT count(*) FROM (SELECT flow_id, direction, src_ip, dst_ip FROM "+frames+
		") f JOIN (SELECT flow_id, src_ip AS a, dst_ip AS b FROM "+flows+") l USING (flow_id) WHERE f.src_ip IS NOT NULL AND"+
		" ((direction = 'fwd' AND (f.src_ip <> a OR f.dst_ip <> b)) OR (direction = 'rev' AND (f.src_ip <> b OR f.dst_ip <> a)) OR direction NOT IN ('fwd', 'rev'))"); n != 0 {
		t.Errorf("%d frames whose addresses are not their flow's for their direction", n)
	}
	if n := one[int64](t, db, "SELECT count(*) FROM "+frames+" AND src_ip IS NOT NULL"); n == 0 {
		t.Error("no frame with an address")
	}
	if n := one[int64](t, db, "SELECT count(*) FROM "+flows); n != int64(len(s.List)) {
		t.Errorf("flows: %d rows, gapan %d flows", n, len(s.List))
	}
	// Per flow: bytes, packets and the loss figures, joined on flow_id.
	rows, err := db.Query("SELECT flow_id, bytes, packets, capture_lost_segments, upstream_lost_segments, missed_bytes, rtp_lost_capture, frames_lost_during, round(est_lost, 6) FROM " + flows)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	byID := map[uint64]*loss.Flow{}
	for _, f := range s.List {
		byID[f.FlowID] = f
	}
	var n int
	var byteSum uint64
	for rows.Next() {
		var id, bytes, pkts, cls, uls, missed, rtpc, fld int64
		var est float64
		if err := rows.Scan(&id, &bytes, &pkts, &cls, &uls, &missed, &rtpc, &fld, &est); err != nil {
			t.Fatal(err)
		}
		f := byID[uint64(id)]
		if f == nil {
			t.Fatalf("flow %d is not in gapan's report", id)
		}
		got := []int64{bytes, pkts, cls, uls, missed, rtpc, fld}
		want := []int64{int64(f.Bytes), int64(f.Packets), int64(f.CaptureLostSegments), int64(f.UpstreamLostSegments), int64(f.MissedBytes), int64(f.RTPLostCapture), int64(f.FramesLostDuring)}
		for i := range got {
			if got[i] != want[i] {
				t.Errorf("flow %d: DuckDB %v, gapan %v (bytes, packets, capture_lost, upstream_lost, missed_bytes, rtp_lost_capture, frames_lost_during)", id, got, want)
				break
			}
		}
		if d := est - f.EstLost; d > 1e-6 || d < -1e-6 {
			t.Errorf("flow %d: est_lost %v, gapan %v", id, est, f.EstLost)
		}
		byteSum += uint64(bytes)
		n++
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	if n != len(s.List) || byteSum != s.Flows.Bytes {
		t.Errorf("flows: %d rows with %d bytes, gapan %d flows with %d bytes", n, byteSum, len(s.List), s.Flows.Bytes)
	}
}

func TestDuckDBSingleCapture(t *testing.T) {
	dir := t.TempDir()
	capture := simulated(t, dir, "tls-subjectaltname.pcap", "burst:p=0.004,r=0.25", 11)
	ds := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{Writer: parquet.WriterOptions{RowGroupRows: 1000}}); err != nil {
		t.Fatal(err)
	}
	db := open(t)
	for _, tbl := range []string{"frames", "gaps", "flows"} {
		checkTypes(t, db, tbl, fmt.Sprintf("'%s/%s/*.parquet'", ds, tbl), nil)
	}
	r := gapanReport(t, capture)
	if r.Summary.FramesLost == 0 {
		t.Fatal("the simulation lost nothing")
	}
	checkCapture(t, db, ds, "WHERE true", r)

	// Row groups carry ts statistics, so engines can skip them by time.
	q := fmt.Sprintf("SELECT count(*), count(stats_min_value), min(row_group_num_rows) FROM parquet_metadata('%s/frames/*.parquet') WHERE path_in_schema = 'ts'", ds)
	var groups, withStats, minRows int64
	if err := db.QueryRow(q).Scan(&groups, &withStats, &minRows); err != nil {
		t.Fatal(err)
	}
	if want := int64((r.Summary.FramesCaptured + 999) / 1000); groups != want || withStats != groups {
		t.Errorf("frames: %d row groups (%d with ts statistics), want %d with statistics", groups, withStats, want)
	}
	codec := one[string](t, db, fmt.Sprintf("SELECT any_value(compression) FROM parquet_metadata('%s/frames/*.parquet')", ds))
	if codec != "ZSTD" {
		t.Errorf("frames compression %s, want ZSTD", codec)
	}
	// ts is ts_ns in microseconds.
	if n := one[int64](t, db, fmt.Sprintf("SELECT count(*) FROM '%s/frames/*.parquet' WHERE epoch_us(ts) <> ts_ns // 1000", ds)); n != 0 {
		t.Errorf("%d frames whose ts is not ts_ns in microseconds", n)
	}
}

func TestDuckDBManyCaptures(t *testing.T) {
	dir := t.TempDir()
	caps := []string{
		simulated(t, dir, "ndpi-netflix.pcap", "uniform:0.02", 1),
		simulated(t, dir, "ndpi-sip-rtp-t38-fax.pcap", "burst:p=0.01,r=0.3", 2),
		simulated(t, dir, "tls-subjectaltname.pcap", "list:5,100-104,3130-3138", 3),
	}
	ds := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(ds, caps, parquet.Options{}); err != nil {
		t.Fatal(err)
	}
	db := open(t)
	for _, tbl := range []string{"frames", "gaps", "flows"} {
		checkTypes(t, db, tbl, fmt.Sprintf("read_parquet('%s/%s/**/*.parquet', hive_partitioning = true)", ds, tbl), map[string]string{"capture": "VARCHAR"})
	}
	var total uint64
	for _, c := range caps {
		r := gapanReport(t, c)
		total += r.Summary.FramesLost
		checkCapture(t, db, ds, fmt.Sprintf("WHERE capture = '%s'", filepath.Base(c)), r)
	}
	if n := one[int64](t, db, fmt.Sprintf("SELECT count(DISTINCT capture) FROM read_parquet('%s/frames/**/*.parquet', hive_partitioning = true)", ds)); n != 3 {
		t.Errorf("%d captures in the frames table, want 3", n)
	}
	if n := one[int64](t, db, fmt.Sprintf("SELECT sum(lost) FROM read_parquet('%s/gaps/**/*.parquet', hive_partitioning = true)", ds)); uint64(n) != total {
		t.Errorf("sum(lost) over the dataset %d, gapan %d", n, total)
	}
}

// TestDuckDBFramesAsArrow reads every frames column of real captures
// (IPv6, VLAN and QinQ, PPPoE, Linux SLL2, many interfaces, many
// connections) with DuckDB
// and with arrow's Parquet reader, in small row groups and batches so
// that pages end at many places, and requires the same value in every
// row: the pages gapan encodes itself (levels, delta, dictionary) read
// the same in two readers nobody here wrote.
func TestDuckDBFramesAsArrow(t *testing.T) {
	dir := t.TempDir()
	names := []string{"ndpi-tumblr-ipv6.pcap", "ndpi-ultrasurf-vlan.pcap", "zeek-pppoe-over-qinq.pcap",
		"ndpi-sites-22if.pcapng", "suricata-decode-sll2-02.pcap", "zeek-echo-connections.pcap"}
	var caps []string
	for _, n := range names {
		caps = append(caps, corpus+n)
	}
	ds := filepath.Join(dir, "ds")
	if _, err := parquet.WriteDataset(ds, caps, parquet.Options{Writer: parquet.WriterOptions{RowGroupRows: 777, RowGroupBytes: 20000}}); err != nil {
		t.Fatal(err)
	}
	db := open(t)
	total := 0
	cols := "frame_number, epoch_us(ts), ts_ns, cap_len, orig_len, gap_before, flow_id, direction, src_ip, dst_ip, src_port, dst_port, ip_proto, vlan, tcp_flags, tcp_seq, tcp_ack, payload_len, interface_id"
	for _, n := range names {
		files, err := filepath.Glob(filepath.Join(ds, "frames", "capture="+n, "*.parquet"))
		if err != nil || len(files) != 1 {
			t.Fatalf("%s: frames files %v (%v)", n, files, err)
		}
		want := arrowRows(t, files[0])
		truth := pcapgoRecords(t, corpus+n)
		rows, err := db.Query(fmt.Sprintf("SELECT %s FROM read_parquet('%s') ORDER BY frame_number", cols, files[0]))
		if err != nil {
			t.Fatal(err)
		}
		var got [][]string
		for rows.Next() {
			v := make([]sql.NullString, 19)
			p := make([]any, len(v))
			for i := range v {
				p[i] = &v[i]
			}
			if err := rows.Scan(p...); err != nil {
				t.Fatal(err)
			}
			row := make([]string, len(v))
			for i, s := range v {
				row[i] = "NULL"
				if s.Valid {
					row[i] = s.String
				}
			}
			got = append(got, row)
		}
		rows.Close()
		total += len(got)
		if len(got) != len(want) || len(got) != len(truth) || len(got) == 0 {
			t.Fatalf("%s: DuckDB %d rows, arrow %d, pcapgo %d records", n, len(got), len(want), len(truth))
		}
		for i, r := range truth {
			// frame_number, ts_ns, cap_len, orig_len, interface_id as
			// gopacket's pcapgo reads the capture
			if g := []string{got[i][0], got[i][2], got[i][3], got[i][4], got[i][18]}; strings.Join(g, " ") != r {
				t.Fatalf("%s row %d: DuckDB %v, pcapgo %s", n, i, g, r)
			}
		}
		if len(got) != len(want) || len(got) == 0 {
			t.Fatalf("%s: DuckDB %d rows, arrow %d", n, len(got), len(want))
		}
		bad := 0
		for i := range got {
			if strings.Join(got[i], " ") != strings.Join(want[i], " ") {
				if bad++; bad <= 3 {
					t.Errorf("%s row %d:\nDuckDB %v\narrow  %v", n, i, got[i], want[i])
				}
			}
		}
		if bad > 0 {
			t.Errorf("%s: %d of %d rows differ", n, bad, len(got))
		}
	}
	if total < 5000 {
		t.Errorf("%d frames in all: too few to cross many pages", total)
	}
}

// pcapgoRecords reads a capture with gopacket's pcapgo: each record's
// frame number, timestamp in nanoseconds, captured and original lengths
// and interface, as text.
func pcapgoRecords(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var next func() ([]byte, gopacket.CaptureInfo, error)
	if strings.HasSuffix(name, ".pcapng") {
		r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			t.Fatal(err)
		}
		next = r.ZeroCopyReadPacketData
	} else {
		r, err := pcapgo.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		next = r.ZeroCopyReadPacketData
	}
	var out []string
	for {
		_, ci, err := next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, fmt.Sprintf("%d %d %d %d %d", len(out)+1, ci.Timestamp.UnixNano(), ci.CaptureLength, ci.Length, ci.InterfaceIndex))
	}
}

// arrowRows reads a frames file with arrow's Parquet reader: each row's
// values as text, NULL for a null, ts in microseconds.
func arrowRows(t *testing.T, name string) [][]string {
	t.Helper()
	f, err := file.OpenParquetFile(name, false)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := pqarrow.NewFileReader(f, pqarrow.ArrowReadProperties{}, memory.DefaultAllocator)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := fr.ReadTable(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer tbl.Release()
	out := make([][]string, tbl.NumRows())
	for i := range out {
		out[i] = make([]string, tbl.NumCols())
	}
	for c := 0; c < int(tbl.NumCols()); c++ {
		row := 0
		for _, ch := range tbl.Column(c).Data().Chunks() {
			for k := 0; k < ch.Len(); k, row = k+1, row+1 {
				s := "NULL"
				if ch.IsValid(k) {
					switch a := ch.(type) {
					case *array.Int64:
						s = strconv.FormatInt(a.Value(k), 10)
					case *array.Int32:
						s = strconv.FormatInt(int64(a.Value(k)), 10)
					case *array.Int16:
						s = strconv.FormatInt(int64(a.Value(k)), 10)
					case *array.Timestamp:
						s = strconv.FormatInt(int64(a.Value(k)), 10)
					case *array.String:
						s = a.Value(k)
					case *array.Dictionary:
						s = a.Dictionary().(*array.String).Value(a.GetValueIndex(k))
					default:
						t.Fatalf("column %d: %T", c, ch)
					}
				}
				out[row][c] = s
			}
		}
	}
	return out
}
