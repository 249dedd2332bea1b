package analyze

import (
	"errors"
	"testing"
	"time"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
)

// TestValidate: negative limits and a kernel-drops total below -1 are
// ErrConfig with the flag's words; too many sidecars are join.ErrOptions;
// 0 limits and -1 (no total) are valid.
func TestValidate(t *testing.T) {
	two := []string{"a.pcap", "b.pcap"}
	for _, tc := range []struct {
		cfg  Config
		is   error
		want string
	}{
		{Config{Captures: two, KernelDrops: -1}, nil, ""},
		{Config{Captures: two, KernelDrops: 0, Engine: loss.Config{MaxFlows: 0, IdleTimeout: 0}}, nil, ""},
		{Config{Captures: two, KernelDrops: -1, Engine: loss.Config{MaxFlows: -1}}, ErrConfig, "--max-flows takes a number of 0 or more"},
		{Config{Captures: two, KernelDrops: -1, Engine: loss.Config{IdleTimeout: -time.Second}}, ErrConfig, "--idle-timeout takes a duration of 0 or more"},
		{Config{Captures: two, KernelDrops: -2}, ErrConfig, "--kernel-drops takes a number of 0 or more"},
		{Config{Captures: two, KernelDrops: -1, Join: join.Options{Sidecars: []string{"a", "b", "c"}}}, join.ErrOptions, "3 --sidecar files given for 2 captures"},
	} {
		err := tc.cfg.Validate()
		if tc.is == nil && err != nil || tc.is != nil && (!errors.Is(err, tc.is) || err.Error() != tc.want) {
			t.Errorf("%+v: %v, want %q", tc.cfg, err, tc.want)
		}
	}
}
