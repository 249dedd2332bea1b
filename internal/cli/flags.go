package cli

import (
	"errors"
	"io"
	"strings"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/spf13/cobra"
)

// FormatFlag adds --format to c, taking one of formats (formats[0] by
// default), with shell completion of the values; CheckFormat(*p,
// formats...) is its usage rule.
func FormatFlag(c *cobra.Command, p *string, formats []string) {
	c.Flags().StringVar(p, "format", formats[0], "output format: "+orList(formats))
	c.RegisterFlagCompletionFunc("format", cobra.FixedCompletions(formats, cobra.ShellCompDirectiveNoFileComp))
}

// CheckFormat is the usage rule for --format: format is one of allowed.
func CheckFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return Usagef("unknown --format %q: want %s", format, orList(allowed))
}

// orList joins s as "a, b or c".
func orList(s []string) string {
	if len(s) < 2 {
		return strings.Join(s, "")
	}
	return strings.Join(s[:len(s)-1], ", ") + " or " + s[len(s)-1]
}

// OutputFlags adds -o FILE (usage says what it is) and --force, which
// replaces an existing output file, to c.
func OutputFlags(c *cobra.Command, out *string, force *bool, usage string) {
	c.Flags().StringVarP(out, "output", "o", "", usage)
	c.Flags().BoolVar(force, "force", false, "replace an existing output file")
}

// OpenOutput is atomicfile.OpenOutput ("" or "-": stdout) whose refusal
// of binary data on a terminal is a usage error that says what to type.
func OpenOutput(stdout io.Writer, path string, opt atomicfile.Options) (*atomicfile.Output, error) {
	o, err := atomicfile.OpenOutput(stdout, path, opt)
	if te := (*atomicfile.TerminalError)(nil); errors.As(err, &te) {
		return nil, Usagef("not writing %s to a terminal: redirect standard output (> FILE, or a pipe) or give -o FILE", te.What)
	}
	return o, err
}
