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

	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/internal/version"
	"github.com/spf13/cobra"
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

// warnAll prints each warning on stderr.
func warnAll[W error](stderr io.Writer, warnings []W) {
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
