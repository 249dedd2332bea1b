// Package cli holds the command line's shared rules, the ones every gapan
// command follows and none owns (as kubectl's cmdutil does for kubectl):
// what a usage error is and which exit code each error gets, how the
// positional arguments are checked, the flags several commands share
// (--format, -o and --force, the flags of a run), where a command's output
// goes, how warnings are printed, and how the library's errors about what
// was given are worded as what to type instead.
//
// cmd/gapan's commands parse their flags and call the library; they use
// this package for everything around that:
//
//	cmd, err := root.ExecuteC()
//	os.Exit(cli.Exit(os.Stderr, cmd, err))
package cli

import (
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

// Exit codes (docs/cli.md).
const (
	ExitOK      = 0
	ExitFailure = 1
	ExitUsage   = 2
)

// UsageError marks an error in how gapan was called: Exit gives it
// ExitUsage and points to the command's help.
type UsageError struct{ Err error }

// Error is the cause's message: a usage error reads as what was wrong.
func (e UsageError) Error() string { return e.Err.Error() }

// Unwrap returns the cause.
func (e UsageError) Unwrap() error { return e.Err }

// Usage marks err as a usage error.
func Usage(err error) error { return UsageError{err} }

// Usagef is Usage of fmt.Errorf(format, args...).
func Usagef(format string, args ...any) error {
	return UsageError{fmt.Errorf(format, args...)}
}

// Exit prints err, the error of cmd (as cobra's ExecuteC returns them), on
// stderr as "gapan: " and the error worded as what to type (explain),
// followed for a usage error by where to read the command's usage, and
// returns the exit code: ExitOK for no error, ExitUsage for a usage error
// (a UsageError, or cobra's unknown command or flag), ExitFailure for any
// other.
func Exit(stderr io.Writer, cmd *cobra.Command, err error) int {
	if err == nil {
		return ExitOK
	}
	err = explain(cmd, err)
	fmt.Fprintf(stderr, "gapan: %v\n", err)
	var ue UsageError
	if errors.As(err, &ue) || strings.HasPrefix(err.Error(), "unknown command") || strings.HasPrefix(err.Error(), "unknown flag") {
		fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		return ExitUsage
	}
	return ExitFailure
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
		return Usagef("%s is a gap sidecar, not a capture; did you mean \"%s %s\"?", sc.Path, cmd.CommandPath(), sc.Capture)
	case errors.As(err, &cg) && cg.Sidecar != "" && cg.Named:
		return Usagef("%s is a %s, not a gap sidecar; did you mean \"--sidecar %s\"?", cg.File, cg.Kind, cg.Sidecar)
	case errors.As(err, &cg) && cg.Sidecar != "" && cmd.Name() != "import": // import reads the text form
		return Usagef("%s is a %s, not a gap sidecar; did you mean \"%s %s\"?", cg.File, cg.Kind, cmd.CommandPath(), cg.Sidecar)
	case errors.Is(err, join.ErrIsSidecar), errors.Is(err, sidecar.ErrIsCapture), errors.Is(err, join.ErrDirectory), errors.Is(err, join.ErrNoCapture):
		return UsageError{err}
	case errors.Is(err, join.ErrMismatch) && cmd.Flags().Lookup("allow-mismatch") != nil:
		return fmt.Errorf("%w (--allow-mismatch uses it anyway, with a warning)", err)
	}
	return err
}

// Args wraps a cobra positional-argument check so that its errors are
// usage errors that show the command's usage line and what was given
// ("requires at least 1 arg(s), only received 0" said neither what nor
// how).
func Args(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, a []string) error {
		if err := check(cmd, a); err != nil {
			got := "no argument given"
			if len(a) > 0 {
				got = plural.Count(len(a), "argument") + " given: " + strings.Join(a, " ")
			}
			return Usagef("usage: %s (%s)", cmd.UseLine(), got)
		}
		return nil
	}
}

// Warnf prints a warning on stderr: "gapan: warning: " and the message.
func Warnf(stderr io.Writer, format string, a ...any) {
	fmt.Fprintf(stderr, "gapan: warning: "+format+"\n", a...)
}

// WarnAll prints each warning (an error or a string) on stderr (Warnf).
func WarnAll[W any](stderr io.Writer, warnings []W) {
	for _, w := range warnings {
		Warnf(stderr, "%v", w)
	}
}
