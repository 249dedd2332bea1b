// Command gapan finds where a packet capture lost frames: it joins a capture
// with its gap sidecar and reports the loss by position, by flow, and as
// capture versus upstream loss. See docs/ for each command.
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/gapan/gapan/internal/plural"
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

// checkSidecarFlags is the usage rule for --sidecar and --no-sidecar of
// the commands that join captures with their sidecars.
func checkSidecarFlags(captures int, sidecars []string, noSidecar bool) error {
	if len(sidecars) > captures {
		return usagef("%s given for %s", plural.Count(len(sidecars), "--sidecar file"), plural.Count(captures, "capture"))
	}
	if noSidecar && len(sidecars) > 0 {
		return usagef("--sidecar and --no-sidecar exclude each other")
	}
	return nil
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

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "gapan",
		Short: "Find where a packet capture lost frames, which flows lost what, and who lost it",
		Long: `gapan joins a packet capture with its gap sidecar (capture.pcap.gaps: the
frames lost just before each frame, as counted by the capturing kernel) and
reports where frames were lost, which flows lost them, and, from TCP and RTP
sequence evidence, whether the capture or the network lost them.`,
		Example: `  gapan report testdata/demo/demo.pcap
  gapan sidecar check testdata/demo/demo.pcap
  gapan sidecar dump testdata/demo/demo.pcap.gaps --format csv`,
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       fullVersion(),
	}
	root.SetVersionTemplate("gapan {{.Version}}\n") // what gapan version prints
	root.Flags().Bool("version", false, "print gapan's version")
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return usageError{err}
	})
	root.AddCommand(newReportCmd(), newParquetCmd(), newAnnotateCmd(), newSidecarCmd(), newSimulateCmd(), newInferCmd(), newRecordCmd(), newVersionCmd())
	return root
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
