package main

import (
	"errors"
	"io"
	"strings"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/selection"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

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
