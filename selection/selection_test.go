package selection

import (
	"errors"
	"testing"
	"time"
)

func TestParseTime(t *testing.T) {
	tests := []struct {
		in   string
		want Time
		err  bool
	}{
		{"", Time{}, false},
		{"+30s", Time{Offset: 30 * time.Second, Relative: true}, false},
		{"+1m30.5s", Time{Offset: 90500 * time.Millisecond, Relative: true}, false},
		{"+0s", Time{Relative: true}, false},
		{"2024-05-01T12:00:00Z", Time{At: time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)}, false},
		{"2024-05-01T14:00:00.25+02:00", Time{At: time.Date(2024, 5, 1, 12, 0, 0, 250e6, time.UTC)}, false},
		{"30s", Time{}, true},
		{"+-5s", Time{}, true},
		{"+", Time{}, true},
		{"2024-05-01 12:00:00", Time{}, true},
		{"yesterday", Time{}, true},
	}
	for _, tc := range tests {
		got, err := ParseTime(tc.in)
		if tc.err {
			if !errors.Is(err, ErrSelect) {
				t.Errorf("ParseTime(%q) = %v, %v; want ErrSelect", tc.in, got, err)
			}
			continue
		}
		if err != nil || got.Relative != tc.want.Relative || got.Offset != tc.want.Offset || !got.At.Equal(tc.want.At) {
			t.Errorf("ParseTime(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestParseFrames(t *testing.T) {
	tests := []struct {
		in          string
		first, last uint64
		err         bool
	}{
		{"1-10", 1, 10, false},
		{"5-5", 5, 5, false},
		{"7", 7, 7, false},
		{"100-", 100, 0, false},
		{"-20", 0, 20, false},
		{"", 0, 0, true},
		{"-", 0, 0, true},
		{"0-5", 0, 0, true},
		{"10-2", 0, 0, true},
		{"a-b", 0, 0, true},
		{"1-2-3", 0, 0, true},
		{"-0", 0, 0, true},
	}
	for _, tc := range tests {
		first, last, err := ParseFrames(tc.in)
		if tc.err {
			if !errors.Is(err, ErrSelect) {
				t.Errorf("ParseFrames(%q) = %d, %d, %v; want ErrSelect", tc.in, first, last, err)
			}
			continue
		}
		if err != nil || first != tc.first || last != tc.last {
			t.Errorf("ParseFrames(%q) = %d, %d, %v; want %d, %d", tc.in, first, last, err, tc.first, tc.last)
		}
	}
}

// TestParse: the four textual parts fill a Select; empty parts leave it
// open, and any bad part is an ErrSelect.
func TestParse(t *testing.T) {
	sel, err := Parse("tcp port 443", "+30s", "2024-05-01T12:00:00Z", "10-20")
	if err != nil || sel.Filter != "tcp port 443" || !sel.Start.Relative || sel.Start.Offset != 30*time.Second ||
		!sel.End.At.Equal(time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)) || sel.FirstFrame != 10 || sel.LastFrame != 20 {
		t.Errorf("Parse = %+v, %v", sel, err)
	}
	if sel, err := Parse("", "", "", ""); err != nil || sel.Filter != "" || !sel.Start.IsZero() || !sel.End.IsZero() || sel.FirstFrame != 0 || sel.LastFrame != 0 {
		t.Errorf("Parse of nothing = %+v, %v", sel, err)
	}
	for _, bad := range [][4]string{{"", "30s", "", ""}, {"", "", "soon", ""}, {"", "", "", "0-5"}} {
		if _, err := Parse(bad[0], bad[1], bad[2], bad[3]); !errors.Is(err, ErrSelect) {
			t.Errorf("Parse(%q) = %v, want ErrSelect", bad, err)
		}
	}
}
