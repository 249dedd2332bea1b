// Package atomicfile writes output files so that they appear whole or not at
// all: data goes to a temporary file in the destination's directory, which is
// synced and renamed over the destination only when the caller commits.
//
//	f, err := atomicfile.Create("report.json", atomicfile.Options{})
//	if err != nil { ... }
//	defer f.Abort() // no-op after Commit
//	... write to f ...
//	return f.Commit()
//
// It never destroys what it did not create: an existing regular file is
// replaced only with Options.Overwrite and never when it is one of
// Options.Inputs; a symbolic link is followed (its target is what is
// written, the link stays); a character device or a FIFO (/dev/null, a
// named pipe) is written as a stream, never renamed over, and needs no
// Overwrite; a block device, a socket or a directory is refused.
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// ErrExists is returned by Create when the destination exists and
// Options.Overwrite is false.
var ErrExists = errors.New("atomicfile: destination exists")

// ErrSameFile is returned by Create when the destination is one of the
// inputs named in Options.Inputs: an input is never overwritten.
var ErrSameFile = errors.New("atomicfile: destination is an input file")

// ErrNotRegular is returned by Create for a destination that is neither a
// regular file nor a stream it can write to: a directory, a block device,
// a socket, or a symbolic link that leads nowhere.
var ErrNotRegular = errors.New("atomicfile: destination is not a file that can be written")

// ErrNoDir is returned by Create when the destination's directory does not
// exist; the message names the directory.
var ErrNoDir = errors.New("atomicfile: output directory does not exist")

// destError is an error about a destination, worded for the user (no
// "atomicfile:" prefix), that matches its sentinel with errors.Is.
type destError struct {
	msg      string
	sentinel error
}

func (e *destError) Error() string { return e.msg }
func (e *destError) Unwrap() error { return e.sentinel }

func destErr(sentinel error, format string, a ...any) error {
	return &destError{fmt.Sprintf(format, a...), sentinel}
}

// Options controls Create and OpenOutput.
type Options struct {
	// Overwrite allows replacing an existing regular file.
	Overwrite bool
	// Perm is the mode of the final file; 0 means 0o644. Write bits for
	// "other" are always cleared.
	Perm fs.FileMode
	// Inputs names files the destination must not be (compared by inode).
	Inputs []string
	// Binary, when set, names binary data ("pcapng") that OpenOutput
	// refuses to write to a standard output that is a terminal. Create
	// ignores it.
	Binary string
}

// File is an output being written: a regular file under a temporary name,
// or a stream (a character device or a FIFO) written in place.
type File struct {
	*os.File
	dest   string // the path given
	target string // the path renamed onto (dest, or what its symlinks lead to)
	stream bool
	done   bool
}

// Create starts writing dest. For a regular file nothing appears at dest
// until Commit; a stream destination is written as data comes.
func Create(dest string, opt Options) (*File, error) {
	target, st, err := resolve(dest, opt)
	if err != nil {
		return nil, err
	}
	if st != nil && isStream(st.Mode()) {
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, err
		}
		return &File{File: f, dest: dest, target: target, stream: true}, nil
	}
	perm := opt.Perm
	if perm == 0 {
		perm = 0o644
	}
	perm &^= 0o002
	dir, base := filepath.Split(target)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return nil, err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &File{File: tmp, dest: dest, target: target}, nil
}

// isStream reports whether a destination of mode m is written in place: a
// character device (/dev/null, a terminal) or a FIFO.
func isStream(m fs.FileMode) bool {
	return m&fs.ModeCharDevice != 0 || m&fs.ModeNamedPipe != 0
}

// IsStream reports whether dest exists and is a character device or a
// FIFO (after following symbolic links): Create writes it in place, so an
// error part way leaves what was written there.
func IsStream(dest string) bool {
	st, err := os.Stat(dest)
	return err == nil && isStream(st.Mode())
}

// resolve follows dest's symbolic links and applies the rules of Create:
// it returns the path to write (or rename onto) and its FileInfo, nil when
// it does not exist yet.
func resolve(dest string, opt Options) (string, fs.FileInfo, error) {
	target := dest
	lst, err := os.Lstat(dest)
	switch {
	case errors.Is(err, fs.ErrNotExist), errors.Is(err, syscall.ENOTDIR):
		return target, nil, checkDir(dest)
	case err != nil:
		return "", nil, err
	case lst.Mode()&fs.ModeSymlink != 0:
		// Followed, never replaced: the rename goes onto the target.
		if target, err = filepath.EvalSymlinks(dest); err != nil {
			return "", nil, destErr(ErrNotRegular, "%s is a symbolic link that leads nowhere (%v)", dest, err)
		}
	}
	st, err := os.Stat(target)
	if err != nil {
		return "", nil, err
	}
	m := st.Mode()
	switch {
	case m.IsRegular():
	case isStream(m):
		return target, st, nil
	case m.IsDir():
		return "", nil, destErr(ErrNotRegular, "%s is a directory, not a file to write", dest)
	default:
		return "", nil, destErr(ErrNotRegular, "%s is a %s (only regular files, character devices and FIFOs are written)", dest, kind(m))
	}
	for _, in := range opt.Inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return "", nil, destErr(ErrSameFile, "%s is an input of this run: it is never written over", dest)
		}
	}
	if !opt.Overwrite {
		return "", nil, destErr(ErrExists, "%s exists (use --force to replace it)", dest)
	}
	return target, st, nil
}

func kind(m fs.FileMode) string {
	switch {
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	}
	return "special file (" + m.Type().String() + ")"
}

// checkDir says which directory is missing when dest's is.
func checkDir(dest string) error {
	dir := filepath.Dir(dest)
	st, err := os.Stat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		return destErr(ErrNoDir, "output directory does not exist: %s (for %s)", dir, dest)
	}
	if err != nil {
		return err
	}
	if !st.IsDir() {
		return destErr(ErrNoDir, "output directory %s is not a directory (for %s)", dir, dest)
	}
	return nil
}

// Commit syncs the data and renames the temporary file to the destination.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	f.done = true
	if f.stream {
		return f.File.Close()
	}
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		os.Remove(f.File.Name())
		return err
	}
	if err := f.File.Close(); err != nil {
		os.Remove(f.File.Name())
		return err
	}
	if err := os.Rename(f.File.Name(), f.target); err != nil {
		os.Remove(f.File.Name())
		return err
	}
	return nil
}

// Abort removes the temporary file. It does nothing after Commit. A
// stream is closed: what was written to it stays written.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	if !f.stream {
		os.Remove(f.File.Name())
	}
}

// Stream reports whether the destination is written in place (a
// character device or a FIFO) rather than renamed into place.
func (f *File) Stream() bool { return f.stream }

// Dest returns the final path.
func (f *File) Dest() string { return f.dest }
