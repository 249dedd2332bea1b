package plural

import "testing"

func TestCount(t *testing.T) {
	for _, tc := range []struct{ got, want string }{
		{Count(0, "frame"), "0 frames"},
		{Count(1, "frame"), "1 frame"},
		{Count(2, "capture"), "2 captures"},
		{Count(uint64(1), "interface"), "1 interface"},
		{Count(uint64(1<<63+1), "frame"), "9,223,372,036,854,775,809 frames"},
		{Count(2297, "frame"), "2,297 frames"},
		{Count(int64(-1), "frame"), "-1 frames"},
		{CountOf(1, "frame lost", "frames lost"), "1 frame lost"},
		{CountOf(3, "frame lost", "frames lost"), "3 frames lost"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
