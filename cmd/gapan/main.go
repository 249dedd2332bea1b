// Command gapan finds where a packet capture lost frames: it joins a capture
// with its gap sidecar and reports the loss by position, by flow, and as
// capture versus upstream loss. See docs/ for each command.
//
// Each command's long help and examples are in help/COMMAND.txt. The
// command reference under docs/cli/ (Markdown, one page per command) and
// docs/man/ (man pages) is generated from the cobra commands by TestCLIDocs
// in docs_test.go, which also fails when the committed pages differ from
// what the commands say now. Regenerate with go generate.
//
// Each command parses its flags, opens its files and calls a library
// package; the rules all commands share (usage errors and exit codes, the
// wording of errors as what to type, --format, -o and --force, the flags
// of a run, the progress meter and memory limit of a long run) are
// internal/cli's.
package main

//go:generate go test -run ^TestCLIDocs$ -update .

import (
	"embed"
	"fmt"
	"os"
	"strings"

	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/internal/version"
	"github.com/spf13/cobra"
)

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
		return cli.Usage(err)
	})
	root.AddCommand(newReportCmd(), newParquetCmd(), newAnnotateCmd(), newSidecarCmd(), newSimulateCmd(), newInferCmd(), newRecordCmd(), newVersionCmd())
	return root
}

func newVersionCmd() *cobra.Command {
	return withHelp("version", &cobra.Command{
		Use:   "version",
		Short: "Print gapan's version (also gapan --version)",
		Args:  cli.Args(cobra.NoArgs),
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
	return cli.Exit(os.Stderr, cmd, err)
}
