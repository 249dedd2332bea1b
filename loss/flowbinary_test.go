package loss

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"reflect"
	"testing"
)

// TestFlowBinaryRoundTrip: UnmarshalBinary gives back, field for field,
// every random flow AppendBinary wrote (after other bytes), into a Flow
// that held the previous one.
func TestFlowBinaryRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 21))
	var buf []byte
	var g Flow
	for i := range 3000 {
		f := randomFlow(rng)
		f.LossScore = rng.Float64() * 100
		var err error
		buf, err = f.AppendBinary(append(buf[:0], "prefix"...))
		if err != nil {
			t.Fatal(err)
		}
		if err := g.UnmarshalBinary(buf[len("prefix"):]); err != nil {
			t.Fatalf("flow %d: %v", i, err)
		}
		if !reflect.DeepEqual(&g, f) {
			t.Fatalf("flow %d:\n got %+v\nwant %+v", i, g, *f)
		}
		var shared Flow
		if err := shared.UnmarshalBinaryShared(buf[len("prefix"):]); err != nil || !reflect.DeepEqual(&shared, f) {
			t.Fatalf("flow %d shared: %v\n got %+v\nwant %+v", i, err, shared, *f)
		}
		for _, cut := range []int{1, len(buf) / 2, len(buf) - len("prefix") - 1} {
			var g Flow
			if err := g.UnmarshalBinary(buf[len("prefix") : len(buf)-cut]); !errors.Is(err, ErrFlowRecord) {
				t.Fatalf("flow %d cut by %d: %v, want ErrFlowRecord", i, cut, err)
			}
		}
	}
}

// FuzzFlowBinary: UnmarshalBinary of any bytes returns an error or a flow
// whose record (AppendBinary) reads back to a flow with the same record.
func FuzzFlowBinary(f *testing.F) {
	rng := rand.New(rand.NewPCG(1, 2))
	for range 5 {
		b, _ := randomFlow(rng).AppendBinary(nil)
		f.Add(b)
	}
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		var fl Flow
		if err := fl.UnmarshalBinary(data); err != nil {
			return
		}
		again, err := fl.AppendBinary(nil)
		if err != nil {
			t.Fatal(err)
		}
		var g Flow
		if err := g.UnmarshalBinary(again); err != nil {
			t.Fatalf("%+v does not read back: %v", fl, err)
		}
		if twice, _ := g.AppendBinary(nil); !bytes.Equal(twice, again) {
			t.Fatalf("%+v does not round-trip: %+v", fl, g)
		}
	})
}
