package numfmt

import "testing"

func TestInt(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Int(0), "0"}, {Int(999), "999"}, {Int(1000), "1,000"}, {Int(2297), "2,297"},
		{Int(uint64(1234567)), "1,234,567"}, {Int(int64(-12345)), "-12,345"},
		{Int(uint64(18446744073709551615)), "18,446,744,073,709,551,615"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}

func TestPercent(t *testing.T) {
	for r, want := range map[float64]string{0: "0%", 0.28509181450357923: "28.5%", 0.01625: "1.625%", 0.0000123: "0.00123%", 1: "100.0%"} {
		if got := Percent(r); got != want {
			t.Errorf("Percent(%v) = %q, want %q", r, got, want)
		}
	}
}
