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
