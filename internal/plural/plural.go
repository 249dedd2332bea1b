// Package plural writes counts with their noun in the right number, so that
// messages say "1 capture" and "2 captures", never "1 captures".
//
//	plural.Count(n, "frame") // "1 frame", "0 frames", "2,297 frames"
package plural

import "github.com/gapan/gapan/internal/numfmt"

// Count returns n (with thousands separators, numfmt.Int) and noun, with
// an "s" added to noun unless n is 1.
func Count[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](n N, noun string) string {
	return CountOf(n, noun, noun+"s")
}

// CountOf returns n with one when n is 1, else with many (for plurals
// that are not noun+"s", and for phrases: "frame lost", "frames lost").
func CountOf[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](n N, one, many string) string {
	s := numfmt.Int(n)
	if n == 1 {
		return s + " " + one
	}
	return s + " " + many
}
