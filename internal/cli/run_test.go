package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"testing"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/internal/testfiles"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/selection"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// TestRunFlags: the flags fill the run's configuration as their fields
// mean (the defaults are the library's, -1 for no kernel drops), the
// selection is parsed, and what does not go together is a usage error.
func TestRunFlags(t *testing.T) {
	parse := func(argv ...string) *RunFlags {
		t.Helper()
		var fl RunFlags
		f := pflag.NewFlagSet("report", pflag.ContinueOnError)
		fl.AddFlags(f, "output file")
		if err := f.Parse(argv); err != nil {
			t.Fatal(err)
		}
		if u := f.Lookup("force").Usage; u != "replace an existing output file" {
			t.Errorf("--force: %q", u)
		}
		return &fl
	}
	cfg, err := parse().Config([]string{"a.pcap"})
	if err != nil || cfg.Engine.IdleTimeout != loss.DefaultIdleTimeout || cfg.KernelDrops != -1 || !cfg.Select.IsZero() || !slices.Equal(cfg.Captures, []string{"a.pcap"}) {
		t.Errorf("defaults: %+v, %v", cfg, err)
	}
	fl := parse("--idle-timeout", "0", "--sidecar", "x.gaps", "--keep-going", "--strict", "--allow-mismatch", "--max-flows", "7", "-q", "--force", "-f", "tcp", "--frames", "3-9")
	cfg, err = fl.Config([]string{"a.pcap"})
	j := cfg.Join
	if err != nil || cfg.Engine.IdleTimeout != 0 || cfg.Engine.MaxFlows != 7 || !slices.Equal(j.Sidecars, []string{"x.gaps"}) || !j.KeepGoing || !j.Strict || !j.AllowMismatch || j.NoSidecar {
		t.Errorf("set: %+v, %v", cfg, err)
	}
	if !fl.Quiet || !fl.Force || cfg.Select.Filter != "tcp" || cfg.Select.FirstFrame != 3 || cfg.Select.LastFrame != 9 {
		t.Errorf("quiet %v, force %v, selection %+v", fl.Quiet, fl.Force, cfg.Select)
	}
	for _, tc := range []struct {
		argv     []string
		captures int
		want     error
	}{
		{[]string{"--sidecar", "a.gaps", "--sidecar", "b.gaps"}, 1, nil},
		{[]string{"--sidecar", "a.gaps", "--no-sidecar"}, 1, nil},
		{[]string{"--max-flows", "-1"}, 1, analyze.ErrConfig},
		{[]string{"--idle-timeout", "-1s"}, 1, analyze.ErrConfig},
		{[]string{"--frames", "9-3"}, 1, selection.ErrSelect},
		{[]string{"--start", "yesterday"}, 1, nil},
	} {
		caps := make([]string, tc.captures)
		_, err := parse(tc.argv...).Config(caps)
		var ue UsageError
		if !errors.As(err, &ue) || (tc.want != nil && !errors.Is(err, tc.want)) {
			t.Errorf("%q: %v (%T), want a usage error", tc.argv, err, err)
		}
	}
}

// TestCaptures: filter words after the captures become the selection's
// filter, a directory its captures with a note on stderr; a filter given
// twice and words with no capture before them are usage errors.
func TestCaptures(t *testing.T) {
	dir := t.TempDir()
	pcapHeader := []byte{0xd4, 0xc3, 0xb2, 0xa1, 2, 0, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 0, 0, 1, 0, 0, 0}
	for _, name := range []string{"b.pcap", "a.pcap"} {
		if err := os.WriteFile(filepath.Join(dir, name), pcapHeader, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "README"), []byte("notes\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	exec := func(argv ...string) (caps []string, sel selection.Flags, stderr string, err error) {
		var b bytes.Buffer
		c := &cobra.Command{Use: "report", RunE: func(cmd *cobra.Command, a []string) error {
			caps, err = Captures(cmd, &sel, a)
			return nil
		}}
		sel.AddFlags(c.Flags())
		c.SetArgs(argv)
		c.SetErr(&b)
		if err := c.Execute(); err != nil {
			t.Fatal(err)
		}
		return caps, sel, b.String(), err
	}
	caps, sel, stderr, err := exec(dir, "tcp", "port", "80")
	want := []string{filepath.Join(dir, "a.pcap"), filepath.Join(dir, "b.pcap")}
	if err != nil || !slices.Equal(caps, want) || sel.Filter != "tcp port 80" || stderr != "gapan: note: skipped "+filepath.Join(dir, "README")+": not a capture\n" {
		t.Errorf("captures %q, filter %q, stderr %q, err %v", caps, sel.Filter, stderr, err)
	}
	caps, sel, _, err = exec(filepath.Join(dir, "a.pcap"), "--", filepath.Join(dir, "b.pcap"))
	if err != nil || !slices.Equal(caps, want[:1]) || sel.Filter != filepath.Join(dir, "b.pcap") {
		t.Errorf("after --: captures %q, filter %q, err %v", caps, sel.Filter, err)
	}
	var ue UsageError
	_, _, _, err = exec(dir, "--filter", "udp", "tcp")
	if !errors.As(err, &ue) || err.Error() != `filter given twice: --filter "udp" and the words "tcp"` {
		t.Errorf("filter twice: %v (%T)", err, err)
	}
	_, _, _, err = exec("--", "tcp")
	if !errors.As(err, &ue) || !errors.Is(err, selection.ErrNoCaptureArg) {
		t.Errorf("no capture: %v (%T)", err, err)
	}
}

// TestMetered: the soft memory limit is the base during the run unless
// GOMEMLIMIT is set, and the one before after it; no meter unless stderr
// is a terminal and quiet is false; the run's error is returned.
func TestMetered(t *testing.T) {
	const before, base = 3 << 40, 5 << 40
	prev := debug.SetMemoryLimit(before)
	defer debug.SetMemoryLimit(prev)
	boom := errors.New("boom")
	var stderr bytes.Buffer
	t.Setenv("GOMEMLIMIT", "")
	err := Metered(&stderr, false, "report", base, 1.1, func(m *progress.Meter) error {
		if l := debug.SetMemoryLimit(-1); l != base {
			t.Errorf("limit during the run: %d, want %d", l, base)
		}
		if m != nil {
			t.Error("a meter on a buffer")
		}
		return boom
	})
	if err != boom || stderr.Len() != 0 {
		t.Errorf("err %v, stderr %q", err, stderr.String())
	}
	if l := debug.SetMemoryLimit(-1); l != before {
		t.Errorf("limit after the run: %d, want %d back", l, before)
	}
	t.Setenv("GOMEMLIMIT", "1GiB")
	Metered(&stderr, false, "report", base, 1.1, func(*progress.Meter) error {
		if l := debug.SetMemoryLimit(-1); l != before {
			t.Errorf("GOMEMLIMIT set: limit %d, want %d kept", l, before)
		}
		return nil
	})
	tty := testfiles.Terminal(t)
	for _, quiet := range []bool{false, true} {
		Metered(tty, quiet, "report", base, 1.1, func(m *progress.Meter) error {
			if (m != nil) == quiet {
				t.Errorf("terminal, quiet %v: meter %v", quiet, m)
			}
			return nil
		})
	}
}

// TestKeepGoingHint: damage after some frames gets the hint, and stays
// what it was underneath; damage before any frame and other errors do not.
func TestKeepGoingHint(t *testing.T) {
	fe := &reader.FormatError{File: "a.pcap", Frame: 19, Offset: 3695, FramesRead: 18, Err: reader.ErrTruncated}
	err := KeepGoingHint(fmt.Errorf("reading: %w", fe))
	want := "reading: a.pcap: frame 19 at byte offset 3695: " + reader.ErrTruncated.Error() + " (18 frames read); --keep-going reports the 18 frames before the damage"
	if err == nil || err.Error() != want || !errors.Is(err, reader.ErrTruncated) {
		t.Errorf("got %v, want %q", err, want)
	}
	first := &reader.FormatError{File: "a.pcap", Frame: 1, Offset: 24, Err: reader.ErrTruncated}
	other := errors.New("a.pcap: no such file")
	for _, e := range []error{first, other, nil} {
		if got := KeepGoingHint(e); got != e {
			t.Errorf("KeepGoingHint(%v) = %v, want it unchanged", e, got)
		}
	}
}

// TestOpenOutput: binary data is refused on a terminal with a usage error
// that says what to type; a file is written atomically.
func TestOpenOutput(t *testing.T) {
	p := filepath.Join(t.TempDir(), "x.gaps")
	o, err := OpenOutput(nil, p, atomicfile.Options{Binary: "a binary sidecar"})
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("data"))
	if _, err := os.Stat(p); !os.IsNotExist(err) {
		t.Errorf("%s before Finish: %v", p, err)
	}
	if err := o.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if b, err := os.ReadFile(p); err != nil || string(b) != "data" {
		t.Errorf("%s: %q, %v", p, b, err)
	}
	tty := testfiles.Terminal(t)
	_, err = OpenOutput(tty, "-", atomicfile.Options{Binary: "pcapng"})
	var ue UsageError
	if !errors.As(err, &ue) || err.Error() != "not writing pcapng to a terminal: redirect standard output (> FILE, or a pipe) or give -o FILE" {
		t.Errorf("binary to a terminal: %v (%T)", err, err)
	}
	if o, err := OpenOutput(tty, "", atomicfile.Options{}); err != nil || o.Name() != "standard output" {
		t.Errorf("text to a terminal: %v", err)
	}
}
