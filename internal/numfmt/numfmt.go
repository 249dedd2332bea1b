// Package numfmt formats the numbers people read in gapan's text output
// (the summaries of the commands, sidecar check) the way the report's text
// does: counts with thousands separators, loss ratios as percentages with
// the digits small loss needs.
//
//	numfmt.Int(2297)          // "2,297"
//	numfmt.Percent(0.285092)  // "28.5%"
package numfmt

import (
	"strconv"
	"strings"
)

// Int formats n with thousands separators: 1234567 -> "1,234,567".
func Int[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](n N) string {
	if n < 0 {
		return "-" + Int(uint64(-int64(n)))
	}
	s := strconv.FormatUint(uint64(n), 10)
	if len(s) <= 3 {
		return s
	}
	var b strings.Builder
	pre := len(s) % 3
	b.WriteString(s[:pre])
	for i := pre; i < len(s); i += 3 {
		if b.Len() > 0 {
			b.WriteByte(',')
		}
		b.WriteString(s[i : i+3])
	}
	return b.String()
}

// Percent formats a ratio as a percentage with enough digits to show small
// loss: 0.285 -> "28.5%", 0.01625 -> "1.625%", 0.0000123 -> "0.00123%".
func Percent(r float64) string {
	p := 100 * r
	switch {
	case p == 0:
		return "0%"
	case p >= 10:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	case p >= 0.01:
		return strconv.FormatFloat(p, 'f', 3, 64) + "%"
	}
	return strconv.FormatFloat(p, 'g', 3, 64) + "%"
}
