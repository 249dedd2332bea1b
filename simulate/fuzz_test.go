package simulate

import (
	"errors"
	"math/rand/v2"
	"testing"
)

// FuzzParseModel feeds arbitrary strings to the --loss-model parser (seeds
// in testdata/fuzz/FuzzParseModel). It must never panic or hang, every
// error wraps ErrModel, and a uniform or burst model prints as a string
// that parses back to the same model.
func FuzzParseModel(f *testing.F) {
	for _, s := range []string{"uniform:0.01", "burst:p=0.1,r=0.5", "burst:p=0.1,r=0.5,k=0.01,h=0.9", "list:1,5-9", "list:18446744073709551610-18446744073709551615", "list:1-16777216,16777217-33554432"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		m, err := ParseModel(s)
		if err != nil {
			if !errors.Is(err, ErrModel) {
				t.Fatalf("%q: error %v does not wrap ErrModel", s, err)
			}
			return
		}
		switch m := m.(type) {
		case List:
			if n := m.Len(); n == 0 || n > MaxListFrames {
				t.Fatalf("%q: list of %d frames", s, n)
			}
			for i := 1; i < len(m.Ranges); i++ {
				if m.Ranges[i][0] <= m.Ranges[i-1][1]+1 {
					t.Fatalf("%q: ranges %v not merged", s, m.Ranges)
				}
			}
			for _, r := range m.Ranges {
				if !m.Drop(r[0], nil) || !m.Drop(r[1], nil) || r[0] > 1 && m.Drop(r[0]-1, nil) {
					t.Fatalf("%q: Drop disagrees with range %v", s, r)
				}
			}
		default:
			again, err := ParseModel(m.String())
			if err != nil || again.String() != m.String() {
				t.Fatalf("%q prints as %q, which parses to %v, %v", s, m.String(), again, err)
			}
		}
		rng := rand.New(rand.NewPCG(1, 2))
		for i := range uint64(64) {
			m.Drop(i+1, rng)
		}
	})
}
