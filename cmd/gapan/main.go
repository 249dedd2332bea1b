// Command gapan finds where a packet capture lost frames: it joins a capture
// with its gap sidecar and reports the loss by position, by flow, and as
// capture versus upstream loss. See docs/ for each command.
//
// Each command's long help and examples are in help/COMMAND.txt. The
// command reference under docs/cli/ (Markdown, one page per command) and
// docs/man/ (man pages) is generated from the cobra commands by TestCLIDocs
// in docs_test.go, which also fails when the committed pages differ from
// what the commands say now. Regenerate with go generate.
package main

//go:generate go test -run ^TestCLIDocs$ -update .

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/internal/version"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Exit codes (docs/cli.md).
const (
	exitOK      = 0
	exitFailure = 1
	exitUsage   = 2
)

// usageError marks an error in how gapan was called.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error {
	return usageError{fmt.Errorf(format, args...)}
}

// warnf prints a warning on stderr.
func warnf(stderr io.Writer, format string, a ...any) {
	fmt.Fprintf(stderr, "gapan: warning: "+format+"\n", a...)
}

// warnAll prints each warning (an error or a string) on stderr.
func warnAll[W any](stderr io.Writer, warnings []W) {
	for _, w := range warnings {
		warnf(stderr, "%v", w)
	}
}

// args wraps a cobra positional-argument check so that its errors are
// usage errors that show the command's usage line ("requires at least 1
// arg(s), only received 0" said neither what nor how).
func args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			got := "no argument given"
			if len(a) > 0 {
				got = plural.Count(len(a), "argument") + " given: " + strings.Join(a, " ")
			}
			return usagef("usage: %s (%s)", cmd.UseLine(), got)
		}
		return nil
	}
}

//go:embed help/*.txt
var helpFiles embed.FS

// withHelp sets c's long help and examples from help/name.txt: the long
// help, then the examples after a line "Examples:".
func withHelp(name string, c *cobra.Command) *cobra.Command {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		panic(err) // not embedded: a build without its help files
	}
	long, example, _ := strings.Cut("\n\n"+strings.TrimSuffix(string(b), "\n"), "\n\nExamples:\n")
	c.Long, c.Example = strings.TrimPrefix(long, "\n\n"), example
	return c
}

func newRootCmd() *cobra.Command {
	root := withHelp("gapan", &cobra.Command{
		Use:           "gapan",
		Short:         "Find where a packet capture lost frames, which flows lost what, and who lost it",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       version.String(),
	})
	root.SetVersionTemplate("gapan {{.Version}}\n") // what gapan version prints
	root.Flags().Bool("version", false, "print gapan's version")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err}
	})
	root.AddCommand(newReportCmd(), newParquetCmd(), newAnnotateCmd(), newSidecarCmd(), newSimulateCmd(), newInferCmd(), newRecordCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return withHelp("version", &cobra.Command{
		Use:   "version",
		Short: "Print gapan's version (also gapan --version)",
		Args:  args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := fmt.Fprintf(cmd.OutOrStdout(), "gapan %s\n", version.String())
			return err
		},
	})
}

func main() {
	os.Exit(run(os.Args[1:]))
}

func run(argv []string) int {
	root := newRootCmd()
	root.SetArgs(argv)
	cmd, err := root.ExecuteC()
	if err == nil {
		return exitOK
	}
	err = explain(cmd, err)
	fmt.Fprintf(os.Stderr, "gapan: %v\n", err)
	var ue usageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(os.Stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return exitUsage
	}
	return exitFailure
}

// captureArgs tells the captures from the filter words in a command's
// arguments (selectFlags.split), then applies join.ExpandCaptures, the one
// rule for capture arguments (a directory means its captures, a sidecar
// among captures is left out), and prints its notes on stderr.
func captureArgs(cmd *cobra.Command, sel *selectFlags, a []string) ([]string, error) {
	a, err := sel.split(cmd, a)
	if err != nil {
		return nil, err
	}
	caps, notes, err := join.ExpandCaptures(a)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "gapan: note: %v\n", n)
	}
	return caps, nil
}

// explain turns the library's errors about what was given into what the
// user should type: a sidecar given as a capture or a capture given as a
// sidecar become usage errors suggesting the command with the right file,
// and a sidecar that does not belong to its capture names --allow-mismatch
// where cmd has it.
func explain(cmd *cobra.Command, err error) error {
	var sc *join.IsSidecarError
	var cg *sidecar.CaptureGivenError
	switch {
	case errors.As(err, &sc) && sc.Capture != "":
		return usagef("%s is a gap sidecar, not a capture; did you mean \"%s %s\"?", sc.Path, cmd.CommandPath(), sc.Capture)
	case errors.As(err, &cg) && cg.Sidecar != "" && cg.Named:
		return usagef("%s is a %s, not a gap sidecar; did you mean \"--sidecar %s\"?", cg.File, cg.Kind, cg.Sidecar)
	case errors.As(err, &cg) && cg.Sidecar != "" && cmd.Name() != "import": // import reads the text form
		return usagef("%s is a %s, not a gap sidecar; did you mean \"%s %s\"?", cg.File, cg.Kind, cmd.CommandPath(), cg.Sidecar)
	case errors.Is(err, join.ErrIsSidecar), errors.Is(err, sidecar.ErrIsCapture), errors.Is(err, join.ErrDirectory), errors.Is(err, join.ErrNoCapture):
		return usageError{err}
	case errors.Is(err, join.ErrMismatch) && cmd.Flags().Lookup("allow-mismatch") != nil:
		return fmt.Errorf("%w (--allow-mismatch uses it anyway, with a warning)", err)
	}
	return err
}

// formatFlag adds --format taking one of formats (formats[0] by default),
// with shell completion of the values; checkFormat(*p, formats...) is its
// usage rule.
func formatFlag(c *cobra.Command, p *string, formats []string) {
	c.Flags().StringVar(p, "format", formats[0], "output format: "+orList(formats))
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// checkFormat is the usage rule for --format.
func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("unknown --format %q: want %s", format, orList(allowed))
}

// orList joins s as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// outputFlags adds -o FILE (usage says what it is) and --force, which
// replaces an existing output file.
func outputFlags(c *cobra.Command, out *string, force *bool, usage string) {
	c.Flags().StringVarP(out, "output", "o", "", usage)
	c.Flags().BoolVar(force, "force", false, "replace an existing output file")
}

// openOutput is atomicfile.OpenOutput ("" or "-": stdout) whose refusal
// of binary data on a terminal is a usage error that says what to type.
func openOutput(stdout io.Writer, path string, opt atomicfile.Options) (*atomicfile.Output, error) {
	o, err := atomicfile.OpenOutput(stdout, path, opt)
	if te := (*atomicfile.TerminalError)(nil); errors.As(err, &te) {
		return nil, usagef("not writing %s to a terminal: redirect standard output (> FILE, or a pipe) or give -o FILE", te.What)
	}
	return o, err
}

// selectFlags are the flags that choose the frames to analyze (report,
// parquet, annotate, simulate): docs/report.md, "Selecting frames".
type selectFlags struct {
	filter, start, end, frames string
}

// add registers the selection flags.
func (s *selectFlags) add(f *pflag.FlagSet) {
	f.StringVarP(&s.filter, "filter", "f", "", "analyze only the frames that match this capture filter `EXPR` (tcpdump syntax; also accepted as trailing words)")
	f.StringVar(&s.start, "start", "", "analyze from this `TIME` on: RFC 3339 (2024-05-01T12:00:00Z) or an offset from the first frame (+30s)")
	f.StringVar(&s.end, "end", "", "analyze up to this `TIME` (excluded): RFC 3339 or an offset from the first frame (+1m)")
	f.StringVar(&s.frames, "frames", "", "analyze only frames `A-B` (1-based numbers as Wireshark shows them, both included; A- or -B leave a side open)")
}

// split tells the captures from the filter words in a command's arguments
// (selection.SplitArgs: "--" or the first argument that does not exist
// starts the words) and takes the words as the filter.
func (s *selectFlags) split(cmd *cobra.Command, args []string) ([]string, error) {
	caps, words, err := selection.SplitArgs(args, cmd.ArgsLenAtDash(), nil)
	switch {
	case err != nil:
		return nil, usageError{err}
	case words != "" && s.filter != "":
		return nil, usagef("filter given twice: --filter %q and the words %q", s.filter, words)
	case words != "":
		s.filter = words
	}
	return caps, nil
}

// selection parses the flags (selection.Parse).
func (s *selectFlags) selection() (selection.Select, error) {
	sel, err := selection.Parse(s.filter, s.start, s.end, s.frames)
	if err != nil {
		return sel, usageError{err}
	}
	return sel, nil
}
