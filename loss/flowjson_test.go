package loss

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

// flowFields is Flow without its MarshalJSON: what encoding/json writes
// for its fields, the independent reference of FlowJSON.
type flowFields Flow

// referenceFlowJSON is what FlowJSON must write for f: encoding/json's
// encoding of f's fields (rounded first with round6), the values of the
// figures that need a loss record replaced by null (with a regular
// expression, not FlowJSON's code) when f.LossNotRecorded.
func referenceFlowJSON(t testing.TB, f *Flow, prefix, indent string, round6 bool) string {
	t.Helper()
	c := *f
	v := reflect.ValueOf(&c).Elem()
	for _, col := range FlowColumns() {
		fv := v.FieldByIndex(col.Field.Index)
		switch {
		case col.NeedsRecord && f.LossNotRecorded:
			fv.SetZero() // null whatever it holds (also a NaN)
		case round6 && fv.Kind() == reflect.Float64:
			fv.SetFloat(Round6(fv.Float()))
		}
	}
	var b []byte
	var err error
	if prefix == "" && indent == "" {
		b, err = json.Marshal((*flowFields)(&c))
	} else {
		b, err = json.MarshalIndent((*flowFields)(&c), prefix, indent)
	}
	if err != nil {
		return "error: " + err.Error()
	}
	s := string(b)
	if f.LossNotRecorded {
		for _, col := range FlowColumns() {
			if col.NeedsRecord {
				re := regexp.MustCompile(`("` + col.Name + `": ?)[-+.0-9eE]+`)
				s = re.ReplaceAllString(s, "${1}null")
			}
		}
	}
	return s
}

// randomFlow fills every column of a flow (through reflection, so that a
// column added to Flow is covered without a change here) with a value
// drawn from rng, the strings and floats from pools of the hard cases.
func randomFlow(rng *rand.Rand) *Flow {
	strs := []string{"", "tcp", "10.0.0.1", "fe80::1", "2026-12-05T02:00:00.123456789Z", "a<b>&c",
		`quote"back\slash`, "tab\tnl\n", "\x00\x1f\x7f", "é ü 中", "\u2028\u2029", "bad\xffutf8", " lead"}
	floats := []float64{0, 1, -1, 0.5, 1.0 / 3, 1e-7, 1.2345678e-7, 1e21, 123456789.123456789, 0.0000015, 2.5e-6, math.MaxFloat64, math.SmallestNonzeroFloat64}
	f := &Flow{}
	v := reflect.ValueOf(f).Elem()
	for _, col := range FlowColumns() {
		fv := v.FieldByIndex(col.Field.Index)
		zero := rng.IntN(4) == 0 // omitempty and zero values
		switch fv.Kind() {
		case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
			if !zero {
				fv.SetUint(rng.Uint64() >> rng.UintN(64))
			}
		case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
			if !zero {
				fv.SetInt(rng.Int64() >> rng.UintN(64) * int64(1-2*rng.IntN(2)))
			}
		case reflect.Float64:
			if !zero {
				fv.SetFloat(floats[rng.IntN(len(floats))] * float64(1-2*rng.IntN(2)))
			}
		case reflect.Bool:
			fv.SetBool(!zero)
		case reflect.String:
			if !zero {
				fv.SetString(strs[rng.IntN(len(strs))])
			}
		case reflect.Slice:
			switch rng.IntN(3) {
			case 0: // nil
			case 1:
				fv.Set(reflect.MakeSlice(fv.Type(), 0, 0))
			case 2:
				s := reflect.MakeSlice(fv.Type(), 1+rng.IntN(3), 3)
				for i := range s.Len() {
					s.Index(i).SetInt(int64(rng.IntN(4096)))
				}
				fv.Set(s)
			}
		default:
			panic("randomFlow: no values for the kind of " + col.Name)
		}
	}
	f.LossNotRecorded = rng.IntN(2) == 0
	return f
}

// TestFlowJSONMatchesEncodingJSON holds FlowJSON, in every layout the
// outputs use, to encoding/json over random flows.
func TestFlowJSONMatchesEncodingJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 5))
	layouts := []struct {
		prefix, indent string
		round6         bool
	}{{"", "", false}, {"", "", true}, {"    ", "  ", true}, {"", "\t", false}}
	var buf []byte
	for i := range 3000 {
		f := randomFlow(rng)
		for _, l := range layouts {
			want := referenceFlowJSON(t, f, l.prefix, l.indent, l.round6)
			var err error
			buf, err = NewFlowJSON(l.prefix, l.indent, l.round6).Append(buf[:0], f)
			if err != nil {
				buf = []byte("error: " + err.Error())
			}
			if string(buf) != want {
				t.Fatalf("flow %d, layout %+v:\n got %s\nwant %s", i, l, buf, want)
			}
		}
		m, err := f.MarshalJSON()
		if err != nil {
			m = []byte("error: " + err.Error())
		}
		if string(m) != referenceFlowJSON(t, f, "", "", false) {
			t.Fatalf("flow %d: MarshalJSON %s, %v", i, m, err)
		}
	}
}

// TestFlowJSONCheck holds Check to encoding/json: over random flows, some
// with an infinite or NaN figure in a random float column (null when the
// flow has no loss record and the column needs one, or the float has
// omitempty), Check fails exactly when encoding/json does, with its error.
func TestFlowJSONCheck(t *testing.T) {
	rng := rand.New(rand.NewPCG(21, 6))
	var floats []FlowColumn
	for _, c := range FlowColumns() {
		if c.Kind() == reflect.Float64 {
			floats = append(floats, c)
		}
	}
	bad := []float64{math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64}
	failed := 0
	for i := range 3000 {
		f := randomFlow(rng)
		if rng.IntN(2) == 0 {
			c := floats[rng.IntN(len(floats))]
			reflect.ValueOf(f).Elem().FieldByIndex(c.Field.Index).SetFloat(bad[rng.IntN(len(bad))])
		}
		for _, round6 := range []bool{false, true} {
			want := referenceFlowJSON(t, f, "    ", "  ", round6)
			got := "no error"
			if err := NewFlowJSON("    ", "  ", round6).Check(f); err != nil {
				got = "error: " + err.Error()
				failed++
			}
			if strings.HasPrefix(want, "error: ") != (got != "no error") || (got != "no error" && got != want) {
				t.Fatalf("flow %d, round6 %v: Check %s, encoding/json %.80s", i, round6, got, want)
			}
		}
	}
	if failed == 0 {
		t.Fatal("no flow failed: the test checks nothing")
	}
}

// TestFlowJSONUnsupported: an estimate JSON cannot hold is encoding/json's
// error, not a number.
func TestFlowJSONUnsupported(t *testing.T) {
	for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		f := &Flow{Counters: Counters{EstLost: v}}
		_, err := f.MarshalJSON()
		_, want := json.Marshal((*flowFields)(f))
		if err == nil || want == nil || err.Error() != want.Error() {
			t.Errorf("EstLost %v: error %v, encoding/json's %v", v, err, want)
		}
	}
}

// TestFlowColumnGetters: the typed getters read what reflection reads.
func TestFlowColumnGetters(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 21))
	for range 200 {
		f := randomFlow(rng)
		v := reflect.ValueOf(f).Elem()
		for _, col := range FlowColumns() {
			fv := v.FieldByIndex(col.Field.Index)
			var got, want any
			switch fv.Kind() {
			case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
				got, want = col.Uint(f), fv.Uint()
			case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
				got, want = col.Int(f), fv.Int()
			case reflect.Float64:
				got, want = col.Float(f), fv.Float()
			case reflect.Bool:
				got, want = col.Bool(f), fv.Bool()
			case reflect.String:
				got, want = col.Str(f), fv.String()
			default:
				got, want = col.Value(f).Interface(), fv.Interface()
			}
			if !reflect.DeepEqual(got, want) {
				t.Fatalf("%s: got %v, want %v", col.Name, got, want)
			}
		}
	}
}

// FuzzFlowJSON holds FlowJSON to encoding/json for arbitrary strings and
// figures.
func FuzzFlowJSON(f *testing.F) {
	f.Add("tcp", "10.0.0.1", "2026-12-05T02:00:00Z", uint64(7), 0.25, false)
	f.Add("a<b>", "\xff\u2028", "\"\\", uint64(0), 1e-7, true)
	f.Add("udp", "::1", "", uint64(1), math.Inf(1), false)
	f.Fuzz(func(t *testing.T, proto, ip, ts string, n uint64, est float64, unrecorded bool) {
		fl := &Flow{FlowID: n, Proto: proto, SrcIP: ip, DstIP: ip, FirstTs: ts, LastTs: ts, EndReason: proto,
			Counters: Counters{Packets: n, EstLost: est}, LossNotRecorded: unrecorded}
		for _, l := range [][2]string{{"", ""}, {"    ", "  "}} {
			got, err := NewFlowJSON(l[0], l[1], true).Append(nil, fl)
			if err != nil {
				got = []byte("error: " + err.Error())
			}
			if want := referenceFlowJSON(t, fl, l[0], l[1], true); string(got) != want {
				t.Fatalf("got %s (%v)\nwant %s", got, err, want)
			}
		}
	})
}

// BenchmarkFlowJSON measures the JSON report's encoding of a flow
// (indented, rounded) over random flows.
func BenchmarkFlowJSON(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	flows := make([]*Flow, 256)
	for i := range flows {
		flows[i] = randomFlow(rng)
		flows[i].VLAN = nil // the common case: no VLAN tag
		v := reflect.ValueOf(flows[i]).Elem()
		for _, col := range FlowColumns() {
			switch col.Kind() {
			case reflect.Float64: // finite once rounded
				v.FieldByIndex(col.Field.Index).SetFloat(rng.Float64() * 10)
			case reflect.String: // nothing to escape, as in a real flow
				v.FieldByIndex(col.Field.Index).SetString("2026-12-05T02:00:00.123456789Z")
			}
		}
	}
	e := NewFlowJSON("    ", "  ", true)
	var buf []byte
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		var err error
		if buf, err = e.Append(buf[:0], flows[i%len(flows)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "flows/s")
}
