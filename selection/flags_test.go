package selection

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/spf13/pflag"
)

// TestFlags: the flags as a command registers them, parsed into a Select;
// a bound or range that does not parse is ErrSelect.
func TestFlags(t *testing.T) {
	var s Flags
	f := pflag.NewFlagSet("report", pflag.ContinueOnError)
	s.AddFlags(f)
	if ff := f.ShorthandLookup("f"); ff == nil || ff.Name != "filter" {
		t.Fatalf("-f: %+v", ff)
	}
	if err := f.Parse([]string{"-f", "udp port 53", "--start", "+30s", "--end", "2024-05-01T12:00:00Z", "--frames", "100-"}); err != nil {
		t.Fatal(err)
	}
	sel, err := s.Select()
	end := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	if err != nil || sel.Filter != "udp port 53" || !sel.Start.Relative || sel.Start.Offset != 30*time.Second || !sel.End.At.Equal(end) || sel.FirstFrame != 100 || sel.LastFrame != 0 {
		t.Errorf("Select() = %+v, %v", sel, err)
	}
	for _, bad := range []Flags{{Frames: "9-3"}, {Start: "yesterday"}, {End: "30s"}} {
		if _, err := bad.Select(); !errors.Is(err, ErrSelect) {
			t.Errorf("%+v: %v, want ErrSelect", bad, err)
		}
	}
	if sel, err := (&Flags{}).Select(); err != nil || !sel.IsZero() {
		t.Errorf("no flags: %+v, %v", sel, err)
	}
}

// TestFlagsSplit: the filter words after the captures become the filter;
// after "--" every argument is a word; with --filter as well they are the
// filter given twice; with no capture before them, ErrNoCaptureArg.
func TestFlagsSplit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "a.pcap")
	if err := os.WriteFile(p, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s := Flags{Start: "+1s"}
	caps, err := s.Split([]string{p, "tcp", "port", "80"}, -1)
	if err != nil || !slices.Equal(caps, []string{p}) || s.Filter != "tcp port 80" || s.Start != "+1s" {
		t.Errorf("words: %q, %+v, %v", caps, s, err)
	}
	s = Flags{Filter: "udp"}
	caps, err = s.Split([]string{p}, -1)
	if err != nil || !slices.Equal(caps, []string{p}) || s.Filter != "udp" {
		t.Errorf("no words: %q, %+v, %v", caps, s, err)
	}
	_, err = s.Split([]string{p, "tcp"}, -1)
	if err == nil || err.Error() != `filter given twice: --filter "udp" and the words "tcp"` || s.Filter != "udp" {
		t.Errorf("twice: %v, filter %q", err, s.Filter)
	}
	s = Flags{}
	caps, err = s.Split([]string{p, p}, 1) // gapan report a.pcap -- a.pcap
	if err != nil || !slices.Equal(caps, []string{p}) || s.Filter != p {
		t.Errorf("after --: %q, %+v, %v", caps, s, err)
	}
	s = Flags{}
	if _, err := s.Split([]string{"tcp"}, 0); !errors.Is(err, ErrNoCaptureArg) || s.Filter != "" {
		t.Errorf("no capture: %v, filter %q", err, s.Filter)
	}
}
