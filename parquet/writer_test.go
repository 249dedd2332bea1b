package parquet_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/apache/arrow/go/v15/arrow"
	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/parquet"
	"github.com/gapan/gapan/report"
	"github.com/gopacket/gopacket/layers"
)

// testCase is a capture to write, with what its gaps must say.
type testCase struct {
	name    string
	capture func(t *testing.T, dir string) string
	source  string // expected gaps.source ("" when no gap)
	gaps    bool   // the capture has gaps
	tail    bool   // the capture has a tail gap
}

func cases() []testCase {
	plain := func(name string) func(*testing.T, string) string {
		return func(*testing.T, string) string { return corpus + name }
	}
	sim := func(name, model string) func(*testing.T, string) string {
		return func(t *testing.T, dir string) string { return simulated(t, dir, name, model, 7) }
	}
	return []testCase{
		// Loss placed by hand, including the last 9 frames: a tail gap.
		{"tls-list-tail", sim("tls-subjectaltname.pcap", "list:5,100-104,700,3130-3138"), "simulated", true, true},
		{"netflix-uniform", sim("ndpi-netflix.pcap", "uniform:0.03"), "simulated", true, false},
		{"rtp-burst", sim("ndpi-sip-rtp-t38-fax.pcap", "burst:p=0.01,r=0.3"), "simulated", true, false},
		{"vlan-uniform", sim("ndpi-ultrasurf-vlan.pcap", "uniform:0.05"), "simulated", true, false},
		{"epb-dropcount", plain("gopacket-pcapng-epb-dropcount.pcapng"), "pcapng", true, false},
		{"22-interfaces", plain("ndpi-sites-22if.pcapng"), "", false, false},
		{"qinq-pppoe", plain("zeek-pppoe-over-qinq.pcap"), "", false, false},
		{"ipv6", plain("ndpi-tumblr-ipv6.pcap"), "", false, false},
	}
}

// expectedFrame is what the frames table must hold for one frame, built
// from the same callback arguments the Writer sees.
func expectedFrame(f *join.Frame, info *loss.FrameInfo) map[string]any {
	p := info.Packet
	m := map[string]any{
		"frame_number": int64(f.Number), "ts_ns": f.TimestampNs, "ts": floorMicros(f.TimestampNs),
		"cap_len": int64(f.CapLen), "orig_len": int64(f.OrigLen), "gap_before": int64(f.GapBefore),
		"flow_id": int64(info.FlowID), "direction": info.Dir.String(), "interface_id": int64(f.InterfaceID),
		"src_ip": nil, "dst_ip": nil, "src_port": nil, "dst_port": nil, "ip_proto": nil, "vlan": nil,
		"tcp_flags": nil, "tcp_seq": nil, "tcp_ack": nil, "payload_len": nil,
	}
	if p.Flags&decode.FlagIP != 0 {
		m["src_ip"], m["dst_ip"] = p.Src.String(), p.Dst.String()
		m["ip_proto"], m["payload_len"] = int64(p.Proto), int64(p.PayloadLen)
	}
	if p.Flags&decode.FlagPorts != 0 {
		m["src_port"], m["dst_port"] = int64(p.SrcPort), int64(p.DstPort)
	}
	if p.VLANCount > 0 {
		m["vlan"] = int64(p.VLAN[0])
	}
	if p.Flags&decode.FlagTCP != 0 && p.Proto == layers.IPProtocolTCP {
		m["tcp_flags"], m["tcp_seq"], m["tcp_ack"] = int64(p.TCP.Flags), int64(p.TCP.Seq), int64(p.TCP.Ack)
	}
	return m
}

// newWriter returns a Writer of frames.parquet, gaps.parquet and
// flows.parquet in dir; the files are closed when the test ends.
func newWriter(t testing.TB, dir string, opt parquet.WriterOptions) *parquet.Writer {
	t.Helper()
	var files []*os.File
	for _, n := range []string{"frames", "gaps", "flows"} {
		f, err := os.Create(filepath.Join(dir, n+".parquet"))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		files = append(files, f)
	}
	w, err := parquet.NewWriter(files[0], files[1], files[2], opt)
	if err != nil {
		t.Fatal(err)
	}
	return w
}

// writeRun runs the pipeline over capture with a Writer into dir and
// returns the run (with every flow and gap kept) and the expected frames.
func writeRun(t *testing.T, capture, dir string, opt parquet.WriterOptions) (*analyze.Result, []map[string]any, parquet.Stats) {
	t.Helper()
	w := newWriter(t, dir, opt)
	var want []map[string]any
	r, err := analyze.Run(analyze.Config{
		Captures: []string{capture}, KernelDrops: -1,
		Engine: loss.Config{KeepFlows: true, KeepGaps: true, OnFlow: w.Flow},
		Frame: func(f *join.Frame, info *loss.FrameInfo) {
			want = append(want, expectedFrame(f, info))
			w.Frame(f, info)
		},
	})
	if err != nil {
		w.Abort()
		t.Fatal(err)
	}
	if err := w.Finish(r); err != nil {
		t.Fatal(err)
	}
	return r, want, w.Stats()
}

func TestTablesMatchTheRun(t *testing.T) {
	for _, tc := range cases() {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			capture := tc.capture(t, dir)
			r, want, st := writeRun(t, capture, dir, parquet.WriterOptions{RowGroupRows: 1000})
			s := r.Summary

			// frames: every value of every row.
			frames := readParquet(t, filepath.Join(dir, "frames.parquet"))
			if uint64(len(frames.rows)) != s.FramesCaptured || st.Frames != int64(len(frames.rows)) {
				t.Fatalf("frames: %d rows (stats %d), report captured %d", len(frames.rows), st.Frames, s.FramesCaptured)
			}
			if wantGroups := (len(want) + 999) / 1000; frames.groups != wantGroups {
				t.Errorf("frames: %d row groups, want %d", frames.groups, wantGroups)
			}
			var gapSum uint64
			for i, row := range frames.rows {
				if !reflect.DeepEqual(row, want[i]) {
					t.Fatalf("frame row %d:\n got %v\nwant %v", i, row, want[i])
				}
				gapSum += uint64(row["gap_before"].(int64))
			}
			if gapSum != s.FramesLost-s.TailGap {
				t.Errorf("sum(gap_before) = %d, report frames_lost %d - tail %d", gapSum, s.FramesLost, s.TailGap)
			}

			// gaps: the report's gap list, then one tail row per interface.
			gaps := readParquet(t, filepath.Join(dir, "gaps.parquet"))
			if tc.gaps != (len(s.Gaps) > 0) || tc.tail != (s.TailGap > 0) {
				t.Fatalf("capture has %d gaps, tail %d: the test case expects gaps=%v tail=%v", len(s.Gaps), s.TailGap, tc.gaps, tc.tail)
			}
			var lost uint64
			var tails []map[string]any
			for i, row := range gaps.rows {
				lost += uint64(row["lost"].(int64))
				if row["source"] != tc.source {
					t.Errorf("gap row %d: source %v, want %q", i, row["source"], tc.source)
				}
				if row["kind"] == parquet.KindTail {
					tails = append(tails, row)
					continue
				}
				if i >= len(s.Gaps) {
					t.Fatalf("gap row %d beyond the report's %d gaps: %v", i, len(s.Gaps), row)
				}
				g := s.Gaps[i]
				exp := map[string]any{
					"frame_number": int64(g.Frame), "lost": int64(g.Lost), "interface_id": int64(g.Interface),
					"ts_after_ns": g.Ns, "ts_after": floorMicros(g.Ns),
					"prev_frame": nil, "ts_before": nil, "ts_before_ns": nil, "source": tc.source, "kind": parquet.KindGap,
				}
				if g.PrevFrame > 0 {
					exp["prev_frame"], exp["ts_before_ns"], exp["ts_before"] = int64(g.PrevFrame), g.PrevNs, floorMicros(g.PrevNs)
				}
				if !reflect.DeepEqual(row, exp) {
					t.Errorf("gap row %d:\n got %v\nwant %v", i, row, exp)
				}
			}
			if len(gaps.rows)-len(tails) != len(s.Gaps) {
				t.Errorf("%d gap rows, report has %d gaps", len(gaps.rows)-len(tails), len(s.Gaps))
			}
			if lost != s.FramesLost || st.Lost != lost {
				t.Errorf("sum(lost) = %d (stats %d), report frames_lost %d", lost, st.Lost, s.FramesLost)
			}
			var tailWant int
			for _, tg := range r.Files[0].Tail {
				if tg.Lost > 0 {
					tailWant++
				}
			}
			if len(tails) != tailWant {
				t.Errorf("%d tail rows, sidecar has %d interfaces with a tail", len(tails), tailWant)
			}
			for _, row := range tails {
				if row["frame_number"] != nil || row["ts_after"] != nil {
					t.Errorf("tail row with a frame or ts_after: %v", row)
				}
				// The tail follows the interface's last frame.
				last := lastFrameOn(want, row["interface_id"].(int64))
				if row["prev_frame"] != last["frame_number"] || row["ts_before_ns"] != last["ts_ns"] {
					t.Errorf("tail row %v: want after frame %v at %v", row, last["frame_number"], last["ts_ns"])
				}
			}

			// flows: the same flows as the report, figure by figure.
			flows := readParquet(t, filepath.Join(dir, "flows.parquet"))
			compareFlows(t, flows, reportJSONFlows(t, r))
		})
	}
}

func lastFrameOn(frames []map[string]any, iface int64) map[string]any {
	for i := len(frames) - 1; i >= 0; i-- {
		if frames[i]["interface_id"] == iface {
			return frames[i]
		}
	}
	return nil
}

// reportJSONFlows renders r as `gapan report --format json` does and
// returns its flows, decoded generically.
func reportJSONFlows(t *testing.T, r *analyze.Result) []map[string]any {
	t.Helper()
	var buf bytes.Buffer
	if err := report.WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	var doc struct{ Flows []map[string]any }
	d := json.NewDecoder(&buf)
	d.UseNumber()
	if err := d.Decode(&doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Flows) == 0 {
		t.Fatal("the report has no flows")
	}
	return doc.Flows
}

// compareFlows checks that the flows table holds the report's flows (in
// any order) with every JSON figure under its JSON name.
func compareFlows(t *testing.T, table rows, want []map[string]any) {
	t.Helper()
	if len(table.rows) != len(want) {
		t.Fatalf("flows table has %d rows, the report %d flows", len(table.rows), len(want))
	}
	byID := map[int64]map[string]any{}
	for _, row := range table.rows {
		byID[row["flow_id"].(int64)] = row
	}
	cols := map[string]bool{}
	for _, f := range table.schema.Fields() {
		cols[f.Name] = true
	}
	seen := map[string]bool{}
	compared := 0
	for _, jf := range want {
		id, _ := jf["flow_id"].(json.Number).Int64()
		row := byID[id]
		if row == nil {
			t.Fatalf("flow %d of the report is not in the table", id)
		}
		for k, jv := range jf {
			seen[k] = true
			if !cols[k] {
				t.Errorf("report field %q has no column", k)
				continue
			}
			if err := sameFigure(row[k], jv); err != nil {
				t.Errorf("flow %d %s: %v", id, k, err)
			}
			compared++
		}
		for c := range cols {
			if _, ok := jf[c]; !ok && row[c] != nil {
				t.Errorf("flow %d: column %s = %v where the report omits it", id, c, row[c])
			}
		}
	}
	for c := range cols {
		if !seen[c] && !omitEmpty(c) {
			t.Errorf("column %s is in no flow of the report", c)
		}
	}
	if compared < len(want)*40 {
		t.Errorf("only %d figures compared for %d flows", compared, len(want))
	}
}

// omitEmpty reports whether the JSON flow may leave out the field.
func omitEmpty(name string) bool {
	switch name {
	case "ip_version", "src_ip", "dst_ip", "vlan", "ether_type":
		return true
	}
	return false
}

// sameFigure compares a table value with a JSON value.
func sameFigure(got, jv any) error {
	switch jv := jv.(type) {
	case json.Number:
		if i, err := jv.Int64(); err == nil && reflect.TypeOf(got) != reflect.TypeFor[float64]() {
			if got != i {
				return fmt.Errorf("table %v (%T), report %v", got, got, jv)
			}
			return nil
		}
		f, _ := jv.Float64()
		if got != f {
			return fmt.Errorf("table %v, report %v", got, jv)
		}
	case string:
		if ts, err := time.Parse(time.RFC3339Nano, jv); err == nil {
			us := floorMicros(ts.UnixNano())
			if got != us {
				return fmt.Errorf("table %v µs, report %s", got, jv)
			}
			return nil
		}
		if got != jv {
			return fmt.Errorf("table %v, report %q", got, jv)
		}
	case bool:
		if got != jv {
			return fmt.Errorf("table %v, report %v", got, jv)
		}
	case []any:
		var ints []int64
		for _, x := range jv {
			i, _ := x.(json.Number).Int64()
			ints = append(ints, i)
		}
		if !slices.Equal(got.([]int64), ints) {
			return fmt.Errorf("table %v, report %v", got, jv)
		}
	case nil: // a figure unknown without a loss record: null in both
		if got != nil {
			return fmt.Errorf("table %v, report null", got)
		}
	default:
		return fmt.Errorf("unexpected JSON value %v (%T)", jv, jv)
	}
	return nil
}

// TestSchemaTypes checks the type choices that let Spark, pandas, polars
// and DuckDB read the tables: signed integers only, microsecond UTC
// timestamps, strings for addresses, one column per JSON flow field.
func TestSchemaTypes(t *testing.T) {
	for _, s := range []*arrow.Schema{parquet.FramesSchema(), parquet.GapsSchema(), parquet.FlowsSchema()} {
		for _, f := range s.Fields() {
			switch f.Type.ID() {
			case arrow.INT16, arrow.INT32, arrow.INT64, arrow.FLOAT64, arrow.BOOL, arrow.STRING:
			case arrow.TIMESTAMP:
				ts := f.Type.(*arrow.TimestampType)
				if ts.Unit != arrow.Microsecond || ts.TimeZone != "UTC" {
					t.Errorf("%s: %s, want timestamp[us, UTC]", f.Name, ts)
				}
			case arrow.LIST:
				if f.Name != "vlan" {
					t.Errorf("%s: unexpected list", f.Name)
				}
			default:
				t.Errorf("%s: type %s is not one of the analysis types", f.Name, f.Type)
			}
		}
	}
	rt := reflect.TypeFor[loss.Flow]()
	var names []string
	for _, sf := range reflect.VisibleFields(rt) {
		if tag := sf.Tag.Get("json"); tag != "" && tag != "-" && !sf.Anonymous {
			name, _, _ := bytes.Cut([]byte(tag), []byte(","))
			names = append(names, string(name))
		}
	}
	var cols []string
	for _, f := range parquet.FlowsSchema().Fields() {
		cols = append(cols, f.Name)
	}
	if !slices.Equal(names, cols) {
		t.Errorf("flows columns %v\nwant the JSON names %v", cols, names)
	}
	want := []string{"frame_number", "ts", "ts_ns", "cap_len", "orig_len", "gap_before", "flow_id", "direction", "src_ip", "dst_ip",
		"src_port", "dst_port", "ip_proto", "vlan", "tcp_flags", "tcp_seq", "tcp_ack", "payload_len", "interface_id"}
	var got []string
	for _, f := range parquet.FramesSchema().Fields() {
		got = append(got, f.Name)
	}
	if !slices.Equal(got, want) {
		t.Errorf("frames columns %v, want %v", got, want)
	}
}

// floorMicros is ns in whole microseconds, rounded towards minus infinity.
func floorMicros(ns int64) int64 {
	us := ns / 1000
	if ns%1000 < 0 {
		us--
	}
	return us
}
