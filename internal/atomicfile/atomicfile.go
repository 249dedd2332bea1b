// Package atomicfile writes output files so that they appear whole or not at
// all: data goes to a temporary file in the destination's directory, which is
// synced and renamed over the destination only when the caller commits.
//
//	f, err := atomicfile.Create("report.json", atomicfile.Options{})
//	if err != nil { ... }
//	defer f.Abort() // no-op after Commit
//	... write to f ...
//	return f.Commit()
package atomicfile

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
)

// ErrExists is returned by Create when the destination exists and
// Options.Overwrite is false.
var ErrExists = errors.New("atomicfile: destination exists")

// ErrSameFile is returned by Create when the destination is one of the
// inputs named in Options.Inputs: an input is never overwritten.
var ErrSameFile = errors.New("atomicfile: destination is an input file")

// Options controls Create.
type Options struct {
	// Overwrite allows replacing an existing destination.
	Overwrite bool
	// Perm is the mode of the final file; 0 means 0o644. Write bits for
	// "other" are always cleared.
	Perm fs.FileMode
	// Inputs names files the destination must not be (compared by inode).
	Inputs []string
}

// File is an output file being written under a temporary name.
type File struct {
	*os.File
	dest string
	done bool
}

// Create starts writing dest. Nothing appears at dest until Commit.
func Create(dest string, opt Options) (*File, error) {
	if err := CheckDest(dest, opt); err != nil {
		return nil, err
	}
	perm := opt.Perm
	if perm == 0 {
		perm = 0o644
	}
	perm &^= 0o002
	dir, base := filepath.Split(dest)
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
	return &File{File: tmp, dest: dest}, nil
}

// CheckDest reports whether dest may be written under opt without creating
// anything: it refuses an existing file unless Overwrite is set, and any
// file that is one of opt.Inputs.
func CheckDest(dest string, opt Options) error {
	st, err := os.Stat(dest)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	for _, in := range opt.Inputs {
		if ist, err := os.Stat(in); err == nil && os.SameFile(st, ist) {
			return fmt.Errorf("%w: %s", ErrSameFile, dest)
		}
	}
	if !opt.Overwrite {
		return fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, dest)
	}
	return nil
}

// Commit syncs the data and renames the temporary file to the destination.
func (f *File) Commit() error {
	if f.done {
		return errors.New("atomicfile: already committed or aborted")
	}
	f.done = true
	if err := f.File.Sync(); err != nil {
		f.File.Close()
		os.Remove(f.File.Name())
		return err
	}
	if err := f.File.Close(); err != nil {
		os.Remove(f.File.Name())
		return err
	}
	if err := os.Rename(f.File.Name(), f.dest); err != nil {
		os.Remove(f.File.Name())
		return err
	}
	return nil
}

// Abort removes the temporary file. It does nothing after Commit.
func (f *File) Abort() {
	if f.done {
		return
	}
	f.done = true
	f.File.Close()
	os.Remove(f.File.Name())
}

// Dest returns the final path.
func (f *File) Dest() string { return f.dest }
