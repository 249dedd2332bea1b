package selection

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestSplitArgs: the captures are the leading arguments that exist (the
// first always, "-" always), the rest the filter; after "--" everything is
// filter words.
func TestSplitArgs(t *testing.T) {
	files := map[string]bool{"a.pcap": true, "b.pcap": true, "port": true, "dir": true}
	exists := func(name string) bool { return files[name] }
	for _, tc := range []struct {
		args     []string
		dashAt   int
		captures []string
		filter   string
		err      error
	}{
		{[]string{"a.pcap"}, -1, []string{"a.pcap"}, "", nil},
		{[]string{"a.pcap", "b.pcap", "dir"}, -1, []string{"a.pcap", "b.pcap", "dir"}, "", nil},
		{[]string{"a.pcap", "tcp", "port", "80"}, -1, []string{"a.pcap"}, "tcp port 80", nil},
		{[]string{"missing.pcap", "tcp"}, -1, []string{"missing.pcap"}, "tcp", nil},
		{[]string{"-", "-", "udp"}, -1, []string{"-", "-"}, "udp", nil},
		{[]string{"a.pcap", "port", "80"}, -1, []string{"a.pcap", "port"}, "80", nil},
		{[]string{"a.pcap", "port", "80"}, 1, []string{"a.pcap"}, "port 80", nil},
		{[]string{"a.pcap", "b.pcap"}, 2, []string{"a.pcap", "b.pcap"}, "", nil},
		{[]string{"tcp"}, 0, nil, "", ErrNoCaptureArg},
		{nil, -1, nil, "", ErrNoCaptureArg},
	} {
		caps, filter, err := SplitArgs(tc.args, tc.dashAt, exists)
		if !errors.Is(err, tc.err) || !slices.Equal(caps, tc.captures) || filter != tc.filter {
			t.Errorf("SplitArgs(%q, %d) = %q, %q, %v; want %q, %q, %v", tc.args, tc.dashAt, caps, filter, err, tc.captures, tc.filter, tc.err)
		}
	}
}

// TestSplitArgsStat: with exists nil, SplitArgs asks the file system.
func TestSplitArgsStat(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "x.pcap")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	caps, filter, err := SplitArgs([]string{p, dir, "host", "10.0.0.1"}, -1, nil)
	if err != nil || !slices.Equal(caps, []string{p, dir}) || filter != "host 10.0.0.1" {
		t.Errorf("got %q, %q, %v", caps, filter, err)
	}
}
