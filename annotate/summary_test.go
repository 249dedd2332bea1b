package annotate

import (
	"errors"
	"reflect"
	"testing"
)

// TestSummaries: the words gapan annotate and gapan sidecar extract print,
// in the singular and the plural, with thousands separators.
func TestSummaries(t *testing.T) {
	for _, tc := range []struct {
		st   Stats
		want string
	}{
		{Stats{Frames: 1, Interfaces: 1, GapFrames: 1, Lost: 1}, "1 frame, 1 interface; 1 frame with a gap before it, 1 frame lost (tail 0)"},
		{Stats{Frames: 12345, Interfaces: 2, GapFrames: 3, Lost: 1000, Tail: 7}, "12,345 frames, 2 interfaces; 3 frames with a gap before them, 1,007 frames lost (tail 7)"},
	} {
		if got := tc.st.Summary(); got != tc.want {
			t.Errorf("%+v: %q, want %q", tc.st, got, tc.want)
		}
	}
	ex := ExtractStats{Frames: 2000, DropCountFrames: 2000, Records: 1, Lost: 5, Tail: 2}
	if got := ex.Summary(); got != "2,000 frames, 2000 with epb_dropcount; 1 record, 7 frames lost (tail 2)" {
		t.Errorf("extract summary %q", got)
	}
	if w := ex.Warnings("x.pcapng"); len(w) != 0 {
		t.Errorf("warnings %q, want none", w)
	}
	bad := ExtractStats{Damage: errors.New("cut"), Inconsistent: 2}
	want := []string{"stopped at damage (--keep-going): cut", "x.pcapng has no epb_dropcount option; the sidecar records no loss",
		"2 interfaces report an isb_ifdrop below the sum of its drop counts; no tail inferred"}
	if w := bad.Warnings("x.pcapng"); !reflect.DeepEqual(w, want) {
		t.Errorf("warnings %q, want %q", w, want)
	}
}
