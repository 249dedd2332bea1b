package version

import (
	"runtime/debug"
	"strings"
	"testing"
)

func TestWithRevision(t *testing.T) {
	for _, tc := range []struct {
		settings []debug.BuildSetting
		want     string
	}{
		{nil, "1.2"},
		{[]debug.BuildSetting{{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "0123456789abcdef0123"}}, "1.2+0123456789ab"},
		{[]debug.BuildSetting{{Key: "vcs.revision", Value: "0123"}}, "1.2"}, // too short to be a revision
	} {
		if got := withRevision("1.2", tc.settings); got != tc.want {
			t.Errorf("withRevision(%v) = %q, want %q", tc.settings, got, tc.want)
		}
	}
	if s := String(); !strings.HasPrefix(s, Release) {
		t.Errorf("String() = %q, not starting with %q", s, Release)
	}
}
