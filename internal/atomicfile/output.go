package atomicfile

import (
	"io"
	"os"

	"golang.org/x/term"
)

// TerminalError is returned by OpenOutput for binary data (Options.Binary)
// to a standard output that is a terminal: it would garble the screen and
// is of no use there (gzip refuses it too).
type TerminalError struct {
	What string // Options.Binary: what the data is ("pcapng")
}

func (e *TerminalError) Error() string {
	return "atomicfile: not writing " + e.What + " to a terminal"
}

// Output is where a command writes its data: standard output, or a File
// (it appears whole on success and not at all on failure).
type Output struct {
	io.Writer
	file *File
}

// OpenOutput opens path for writing: "" or "-" mean stdout, anything else
// is Create(path, opt). With opt.Binary set, a stdout that is a terminal
// is refused with a *TerminalError.
func OpenOutput(stdout io.Writer, path string, opt Options) (*Output, error) {
	if path != "" && path != "-" {
		f, err := Create(path, opt)
		if err != nil {
			return nil, err
		}
		return &Output{Writer: f, file: f}, nil
	}
	if f, ok := stdout.(*os.File); ok && opt.Binary != "" && term.IsTerminal(int(f.Fd())) {
		return nil, &TerminalError{What: opt.Binary}
	}
	return &Output{Writer: stdout}, nil
}

// Stream reports whether the output is written in place (standard output,
// a character device, a FIFO): after an error what was written stays.
func (o *Output) Stream() bool { return o.file == nil || o.file.Stream() }

// Name names the output in messages: its path, or "standard output".
func (o *Output) Name() string {
	if o.file == nil {
		return "standard output"
	}
	return o.file.Dest()
}

// Finish makes a file output visible when err is nil and discards it
// otherwise (a stream keeps what was written); it returns err, or the
// error of making the file visible.
func (o *Output) Finish(err error) error {
	switch {
	case o.file == nil:
		return err
	case err != nil:
		o.file.Abort()
		return err
	}
	return o.file.Commit()
}
