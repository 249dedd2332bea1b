package main

import (
	"io"
	"os"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/spf13/cobra"
	"golang.org/x/term"
)

// output is where a command writes its data: stdout, or a file written
// atomically (it appears whole on success and not at all on failure).
type output struct {
	io.Writer
	file *atomicfile.File
}

// openOutput opens path for writing ("" or "-" mean stdout). inputs are
// files the output must never replace.
func openOutput(stdout io.Writer, path string, force bool, inputs []string) (*output, error) {
	if path == "" || path == "-" {
		return &output{Writer: stdout}, nil
	}
	f, err := atomicfile.Create(path, atomicfile.Options{Overwrite: force, Inputs: inputs})
	if err != nil {
		return nil, err
	}
	return &output{Writer: f, file: f}, nil
}

// errTerminal refuses binary data on a terminal, as gzip does: it would
// garble the screen and is of no use there.
func errTerminal(what string) error {
	return usagef("not writing %s to a terminal: redirect standard output (> FILE, or a pipe) or give -o FILE", what)
}

// openBinaryOutput is openOutput for binary data (what names it): "" or
// "-" write to stdout, unless stdout is a terminal.
func openBinaryOutput(stdout io.Writer, path string, force bool, inputs []string, what string) (*output, error) {
	if f, ok := stdout.(*os.File); ok && (path == "" || path == "-") && term.IsTerminal(int(f.Fd())) {
		return nil, errTerminal(what)
	}
	return openOutput(stdout, path, force, inputs)
}

// stream reports whether the output is written in place (standard output,
// a character device, a FIFO): after an error what was written stays.
func (o *output) stream() bool { return o.file == nil || o.file.Stream() }

// name names the output in messages.
func (o *output) name() string {
	if o.file == nil {
		return "standard output"
	}
	return o.file.Dest()
}

// finish makes a file output visible when err is nil and discards it
// otherwise (a stream keeps what was written); it returns err, or the
// error of making the file visible.
func (o *output) finish(err error) error {
	switch {
	case o.file == nil:
		return err
	case err != nil:
		o.file.Abort()
		return err
	}
	return o.file.Commit()
}

// outputFlags adds -o FILE (usage says what it is) and --force, which
// replaces an existing output file.
func outputFlags(c *cobra.Command, out *string, force *bool, usage string) {
	c.Flags().StringVarP(out, "output", "o", "", usage)
	c.Flags().BoolVar(force, "force", false, "replace an existing output file")
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
