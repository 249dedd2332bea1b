// Package plural writes counts with their noun in the right number, so that
// messages say "1 capture" and "2 captures", never "1 captures".
//
//	plural.Count(n, "frame") // "1 frame", "0 frames", "3 frames"
package plural

import "strconv"

// Count returns n and noun, with an "s" added to noun unless n is 1.
func Count[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](n N, noun string) string {
	return CountOf(n, noun, noun+"s")
}

// CountOf returns n with one when n is 1, else with many (for plurals
// that are not noun+"s", and for phrases: "frame lost", "frames lost").
func CountOf[N ~int | ~int64 | ~uint64 | ~uint32 | ~int32](n N, one, many string) string {
	s := strconv.FormatInt(int64(n), 10)
	if n >= 0 && uint64(n) > 1<<62 {
		s = strconv.FormatUint(uint64(n), 10)
	}
	if n == 1 {
		return s + " " + one
	}
	return s + " " + many
}
