package main

import (
	"io"

	"github.com/gapan/gapan/internal/atomicfile"
)

// output is where a command writes its data: stdout, or a file written
// atomically (it appears whole on success and not at all on failure).
type output struct {
	io.Writer
	file *atomicfile.File
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

// commit makes the output visible; after an error, call abort instead.
func (o *output) commit() error {
	if o.file == nil {
		return nil
	}
	return o.file.Commit()
}

// abort discards a file output; it does nothing after commit or for stdout.
func (o *output) abort() {
	if o.file != nil {
		o.file.Abort()
	}
}

// finish commits on success and aborts on failure, returning err.
func (o *output) finish(err error) error {
	if err != nil {
		o.abort()
		return err
	}
	return o.commit()
}
