package atomicfile_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/testfiles"
)

// TestOutputStdout: "" and "-" write to stdout, in place, named "standard
// output"; Finish returns the error it is given.
func TestOutputStdout(t *testing.T) {
	for _, path := range []string{"", "-"} {
		var buf bytes.Buffer
		o, err := atomicfile.OpenOutput(&buf, path, atomicfile.Options{Binary: "pcapng"})
		if err != nil {
			t.Fatal(err)
		}
		o.Write([]byte("abc"))
		boom := errors.New("boom")
		if err := o.Finish(boom); err != boom {
			t.Errorf("%q: Finish(boom) = %v", path, err)
		}
		if buf.String() != "abc" || !o.Stream() || o.Name() != "standard output" {
			t.Errorf("%q: wrote %q, stream %v, name %q", path, buf.String(), o.Stream(), o.Name())
		}
	}
}

// TestOutputFile: a path is written atomically: visible after Finish(nil),
// never after Finish(err); an existing file needs Overwrite, an input is
// refused.
func TestOutputFile(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out")
	o, err := atomicfile.OpenOutput(nil, dest, atomicfile.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o.Write([]byte("partial"))
	if err := o.Finish(errors.New("failed")); err == nil || o.Stream() || o.Name() != dest {
		t.Fatalf("Finish(err) = %v, stream %v, name %q", err, o.Stream(), o.Name())
	}
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("a failed output is visible: %v", err)
	}
	o, _ = atomicfile.OpenOutput(nil, dest, atomicfile.Options{})
	o.Write([]byte("whole"))
	if err := o.Finish(nil); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(dest); string(b) != "whole" {
		t.Fatalf("got %q", b)
	}
	if _, err := atomicfile.OpenOutput(nil, dest, atomicfile.Options{}); !errors.Is(err, atomicfile.ErrExists) {
		t.Errorf("existing file: %v, want ErrExists", err)
	}
	if _, err := atomicfile.OpenOutput(nil, dest, atomicfile.Options{Overwrite: true, Inputs: []string{dest}}); !errors.Is(err, atomicfile.ErrSameFile) {
		t.Errorf("input: %v, want ErrSameFile", err)
	}
}

// TestOutputTerminal: binary data is refused on a terminal stdout, text is
// not; a file is written whatever stdout is.
func TestOutputTerminal(t *testing.T) {
	tty := testfiles.Terminal(t)
	_, err := atomicfile.OpenOutput(tty, "-", atomicfile.Options{Binary: "a binary sidecar"})
	var te *atomicfile.TerminalError
	if !errors.As(err, &te) || te.What != "a binary sidecar" || err.Error() != "atomicfile: not writing a binary sidecar to a terminal" {
		t.Errorf("binary to a terminal: %v", err)
	}
	if _, err := atomicfile.OpenOutput(tty, "", atomicfile.Options{}); err != nil {
		t.Errorf("text to a terminal: %v", err)
	}
	if _, err := atomicfile.OpenOutput(tty, filepath.Join(t.TempDir(), "x"), atomicfile.Options{Binary: "pcapng"}); err != nil {
		t.Errorf("binary to a file: %v", err)
	}
}
