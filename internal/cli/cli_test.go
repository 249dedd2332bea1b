package cli

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

// commands returns a root "gapan" with the subcommands "gapan report"
// (with --allow-mismatch), "gapan sidecar dump" and "gapan sidecar
// import" (without), as Exit sees them.
func commands() (report, dump, imp *cobra.Command) {
	root := &cobra.Command{Use: "gapan"}
	report = &cobra.Command{Use: "report CAPTURE...", Run: func(*cobra.Command, []string) {}}
	report.Flags().Bool("allow-mismatch", false, "")
	sc := &cobra.Command{Use: "sidecar"}
	dump = &cobra.Command{Use: "dump FILE.gaps", Run: func(*cobra.Command, []string) {}}
	imp = &cobra.Command{Use: "import TEXT", Run: func(*cobra.Command, []string) {}}
	sc.AddCommand(dump, imp)
	root.AddCommand(report, sc)
	return report, dump, imp
}

// TestExit: the exit code of each kind of error, what is printed, and the
// library's errors about what was given worded as what to type.
func TestExit(t *testing.T) {
	report, dump, imp := commands()
	mismatch := fmt.Errorf("a.pcap.gaps: %w", join.ErrMismatch)
	for _, tc := range []struct {
		name   string
		cmd    *cobra.Command
		err    error
		code   int
		stderr string
	}{
		{"no error", report, nil, ExitOK, ""},
		{"failure", report, errors.New("a.pcap: no such file"), ExitFailure, "gapan: a.pcap: no such file\n"},
		{"usage error", report, Usagef("--top takes %d or more", 0), ExitUsage,
			"gapan: --top takes 0 or more\nRun 'gapan report --help' for usage.\n"},
		{"wrapped usage error", report, fmt.Errorf("reading flags: %w", Usage(errors.New("bad"))), ExitUsage,
			"gapan: reading flags: bad\nRun 'gapan report --help' for usage.\n"},
		{"cobra's unknown flag", dump, errors.New("unknown flag: --frobnicate"), ExitUsage,
			"gapan: unknown flag: --frobnicate\nRun 'gapan sidecar dump --help' for usage.\n"},
		{"cobra's unknown command", report, errors.New(`unknown command "reprot" for "gapan"`), ExitUsage,
			"gapan: unknown command \"reprot\" for \"gapan\"\nRun 'gapan report --help' for usage.\n"},
		{"a sidecar given as a capture", report, &join.IsSidecarError{Path: "a.pcap.gaps", Capture: "a.pcap"}, ExitUsage,
			"gapan: a.pcap.gaps is a gap sidecar, not a capture; did you mean \"gapan report a.pcap\"?\nRun 'gapan report --help' for usage.\n"},
		{"a sidecar without its capture", report, &join.IsSidecarError{Path: "x.gaps"}, ExitUsage,
			"gapan: x.gaps is a gap sidecar, not a capture\nRun 'gapan report --help' for usage.\n"},
		{"a capture named as a sidecar", report, &sidecar.CaptureGivenError{File: "a.pcap", Kind: "pcap capture", Sidecar: "a.pcap.gaps", Named: true}, ExitUsage,
			"gapan: a.pcap is a pcap capture, not a gap sidecar; did you mean \"--sidecar a.pcap.gaps\"?\nRun 'gapan report --help' for usage.\n"},
		{"a capture given to a sidecar command", dump, &sidecar.CaptureGivenError{File: "a.pcap", Kind: "pcap capture", Sidecar: "a.pcap.gaps"}, ExitUsage,
			"gapan: a.pcap is a pcap capture, not a gap sidecar; did you mean \"gapan sidecar dump a.pcap.gaps\"?\nRun 'gapan sidecar dump --help' for usage.\n"},
		{"import reads the text form: no suggestion", imp, &sidecar.CaptureGivenError{File: "a.pcap", Kind: "pcap capture", Sidecar: "a.pcap.gaps"}, ExitUsage,
			"gapan: a.pcap is a pcap capture, not a gap sidecar; its sidecar is a.pcap.gaps\nRun 'gapan sidecar import --help' for usage.\n"},
		{"a directory", report, fmt.Errorf("d is a directory, not a capture: %w", join.ErrDirectory), ExitUsage,
			"gapan: d is a directory, not a capture: join: a directory, not a capture\nRun 'gapan report --help' for usage.\n"},
		{"no capture", report, fmt.Errorf("no capture in d: %w", join.ErrNoCapture), ExitUsage,
			"gapan: no capture in d: join: no capture\nRun 'gapan report --help' for usage.\n"},
		{"a mismatch where --allow-mismatch is", report, mismatch, ExitFailure,
			"gapan: a.pcap.gaps: join: sidecar does not belong to its capture (--allow-mismatch uses it anyway, with a warning)\n"},
		{"a mismatch where it is not", dump, mismatch, ExitFailure,
			"gapan: a.pcap.gaps: join: sidecar does not belong to its capture\n"},
	} {
		var stderr bytes.Buffer
		if code := Exit(&stderr, tc.cmd, tc.err); code != tc.code || stderr.String() != tc.stderr {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", tc.name, code, stderr.String(), tc.code, tc.stderr)
		}
	}
}

// TestUsage: a usage error reads as its cause and unwraps to it.
func TestUsage(t *testing.T) {
	cause := errors.New("cause")
	err := Usage(cause)
	var ue UsageError
	if !errors.As(err, &ue) || !errors.Is(err, cause) || err.Error() != "cause" {
		t.Errorf("Usage: %v (%T)", err, err)
	}
	err = Usagef("wrapped: %w", cause)
	if !errors.As(err, &ue) || !errors.Is(err, cause) || err.Error() != "wrapped: cause" {
		t.Errorf("Usagef: %v (%T)", err, err)
	}
	if errors.As(cause, &ue) {
		t.Error("a plain error taken for a usage error")
	}
}

// TestArgs: a failed positional check is a usage error that shows the
// usage line and what was given.
func TestArgs(t *testing.T) {
	c := &cobra.Command{Use: "dump FILE.gaps"}
	check := Args(cobra.ExactArgs(1))
	for _, tc := range []struct {
		args []string
		want string
	}{
		{nil, "usage: dump FILE.gaps (no argument given)"},
		{[]string{"a.gaps", "b.gaps"}, "usage: dump FILE.gaps (2 arguments given: a.gaps b.gaps)"},
		{[]string{"a.gaps"}, ""},
	} {
		err := check(c, tc.args)
		var ue UsageError
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v, want none", tc.args, err)
		case tc.want != "" && (!errors.As(err, &ue) || err.Error() != tc.want):
			t.Errorf("%q: %v (%T), want the usage error %q", tc.args, err, err, tc.want)
		}
	}
}

// TestWarn: each warning on a line of its own, after "gapan: warning: ".
func TestWarn(t *testing.T) {
	var b bytes.Buffer
	Warnf(&b, "%d frames had %s", 3, "no timestamp")
	WarnAll(&b, []error{errors.New("e1"), errors.New("e2")})
	WarnAll(&b, []string{"s1"})
	WarnAll(&b, []error(nil))
	want := "gapan: warning: 3 frames had no timestamp\ngapan: warning: e1\ngapan: warning: e2\ngapan: warning: s1\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
}

// TestOrList: the lists of the flags' help and the usage errors.
func TestOrList(t *testing.T) {
	for _, tc := range []struct {
		s    []string
		want string
	}{
		{nil, ""},
		{[]string{"text"}, "text"},
		{[]string{"text", "json"}, "text or json"},
		{[]string{"text", "json", "csv"}, "text, json or csv"},
	} {
		if got := orList(tc.s); got != tc.want {
			t.Errorf("orList(%q) = %q, want %q", tc.s, got, tc.want)
		}
	}
}

// TestFormatFlag: --format defaults to the first format, lists them in
// its help and completes them; CheckFormat refuses any other as a usage
// error.
func TestFormatFlag(t *testing.T) {
	var format string
	c := &cobra.Command{Use: "dump"}
	formats := []string{"text", "csv", "json"}
	FormatFlag(c, &format, formats)
	f := c.Flags().Lookup("format")
	if format != "text" || f == nil || f.DefValue != "text" || f.Usage != "output format: text, csv or json" {
		t.Fatalf("--format: %+v, value %q", f, format)
	}
	complete, ok := c.GetFlagCompletionFunc("format")
	if !ok {
		t.Fatal("no completion for --format")
	}
	if got, dir := complete(c, nil, ""); strings.Join(got, " ") != "text csv json" || dir != cobra.ShellCompDirectiveNoFileComp {
		t.Errorf("completion: %q, %v", got, dir)
	}
	if err := CheckFormat("csv", formats...); err != nil {
		t.Errorf("csv: %v", err)
	}
	err := CheckFormat("xml", formats...)
	var ue UsageError
	if !errors.As(err, &ue) || err.Error() != `unknown --format "xml": want text, csv or json` {
		t.Errorf("xml: %v (%T)", err, err)
	}
}

// TestOutputFlags: -o/--output with the command's help, --force off by
// default.
func TestOutputFlags(t *testing.T) {
	var out string
	var force bool
	c := &cobra.Command{Use: "export"}
	OutputFlags(c, &out, &force, "write to `FILE`")
	if err := c.Flags().Parse([]string{"-o", "x.txt", "--force"}); err != nil {
		t.Fatal(err)
	}
	o, f := c.Flags().Lookup("output"), c.Flags().Lookup("force")
	if out != "x.txt" || !force || o.Shorthand != "o" || o.Usage != "write to `FILE`" || f.DefValue != "false" || f.Usage != "replace an existing output file" {
		t.Errorf("out %q, force %v, -o %+v, --force %+v", out, force, o, f)
	}
}
