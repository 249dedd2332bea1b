package join

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/gapan/gapan/internal/filekind"
	"github.com/gapan/gapan/internal/plural"
)

// Errors about what was given as a capture.
var (
	// ErrIsSidecar means a file given as a capture is a gap sidecar;
	// IsSidecarError wraps it.
	ErrIsSidecar = errors.New("join: a gap sidecar, not a capture")
	// ErrDirectory means a directory was given where one capture was
	// expected (ExpandCaptures turns a directory into its captures).
	ErrDirectory = errors.New("join: a directory, not a capture")
	// ErrNoCapture means the arguments of ExpandCaptures name no capture:
	// an empty directory, or a directory of other files.
	ErrNoCapture = errors.New("join: no capture")
)

// inputError reads as msg (no package prefix: it is what the user sees)
// and matches its sentinel (or wraps the error msg rewords).
type inputError struct {
	msg      string
	sentinel error
}

func (e *inputError) Error() string { return e.msg }
func (e *inputError) Unwrap() error { return e.sentinel }

// IsSidecarError is a gap sidecar given where a capture was expected.
type IsSidecarError struct {
	Path string // the sidecar
	// Capture is the capture the sidecar belongs to by its name (Path
	// without ".gaps") when that file exists, "" otherwise.
	Capture string
}

func (e *IsSidecarError) Error() string {
	msg := e.Path + " is a gap sidecar, not a capture"
	if e.Capture != "" {
		msg += "; did you mean " + e.Capture + "?"
	}
	return msg
}

// Unwrap returns ErrIsSidecar.
func (e *IsSidecarError) Unwrap() error { return ErrIsSidecar }

// newIsSidecarError returns the error for the sidecar path.
func newIsSidecarError(path string) *IsSidecarError {
	e := &IsSidecarError{Path: path}
	if c, ok := strings.CutSuffix(path, ".gaps"); ok && c != "" && !strings.HasSuffix(c, string(filepath.Separator)) {
		if st, err := os.Stat(c); err == nil && !st.IsDir() {
			e.Capture = c
		}
	}
	return e
}

// notCapture explains why path, which the capture reader refused, is no
// capture when gapan knows better than the reader: it is a gap sidecar (an
// *IsSidecarError) or a directory (ErrDirectory). It returns nil
// otherwise, and for what is not a regular file or directory (a pipe,
// whose bytes reading would take).
func notCapture(path string) error {
	st, err := os.Stat(path)
	switch {
	case err != nil:
		return nil
	case st.IsDir():
		return &inputError{path + " is a directory, not a capture", ErrDirectory}
	case !st.Mode().IsRegular():
		return nil
	}
	if k, err := filekind.OfFile(path); err == nil && k.IsSidecar() {
		return newIsSidecarError(path)
	}
	return nil
}

// Note says what ExpandCaptures left out and why.
type Note struct {
	Paths []string // the files left out, in the order met
	// Sidecars says they are gap sidecars (each capture reads its own);
	// otherwise they are other files of a directory, not captures.
	Sidecars bool
}

// notePaths is how many paths a Note names before "and N more".
const notePaths = 3

func (n Note) String() string {
	names := n.Paths
	more := ""
	if len(names) > notePaths {
		more = fmt.Sprintf(" and %d more", len(names)-notePaths)
		names = names[:notePaths]
	}
	what := "not a capture"
	switch {
	case n.Sidecars && len(n.Paths) == 1:
		what = "a gap sidecar (its capture reads it)"
	case n.Sidecars:
		what = "gap sidecars (each capture reads its own)"
	case len(n.Paths) > 1:
		what = "not captures"
	}
	if len(n.Paths) == 1 {
		return fmt.Sprintf("skipped %s: %s", n.Paths[0], what)
	}
	return fmt.Sprintf("skipped %d files (%s%s): %s", len(n.Paths), strings.Join(names, ", "), more, what)
}

// ExpandCaptures is the one rule for the capture arguments of every
// command that reads several (report, parquet, annotate):
//
//   - a directory means the captures in it (pcap or pcapng, gzip- or
//     zstd-compressed or not, recognised by their first bytes, not their
//     names), in name order, not recursing into subdirectories; the other
//     files (MANIFEST.tsv, README, its sidecars) are left out with a Note,
//     and hidden files (.name) silently;
//   - a gap sidecar given as a capture (capture.pcap* matches
//     capture.pcap.gaps) is left out with a Note: its capture reads it;
//   - any other argument ("-", a missing file, a file of another kind) is
//     kept, for the reader to report what is wrong with it.
//
// When only sidecars were given, the error is the first one's
// *IsSidecarError; when nothing is left, ErrNoCapture.
func ExpandCaptures(args []string) ([]string, []Note, error) {
	var out, sidecars []string
	var notes []Note
	for _, a := range args {
		st, err := os.Stat(a)
		switch {
		case a == "-" || err != nil:
			out = append(out, a)
		case st.IsDir():
			caps, skipped, scs, err := dirCaptures(a)
			if err != nil {
				return nil, nil, err
			}
			if len(caps) == 0 {
				return nil, nil, &inputError{fmt.Sprintf("no capture in directory %s (%s, none a pcap or pcapng capture)", a, plural.Count(len(skipped)+len(scs), "file")), ErrNoCapture}
			}
			out = append(out, caps...)
			sidecars = append(sidecars, scs...)
			if len(skipped) > 0 {
				notes = append(notes, Note{Paths: skipped})
			}
		case st.Mode().IsRegular():
			if k, err := filekind.OfFile(a); err == nil && k.IsSidecar() {
				if !slices.Contains(sidecars, a) {
					sidecars = append(sidecars, a)
				}
				continue
			}
			out = append(out, a)
		default:
			out = append(out, a)
		}
	}
	if len(out) == 0 && len(sidecars) > 0 {
		return nil, nil, newIsSidecarError(sidecars[0])
	}
	if len(out) == 0 {
		return nil, nil, &inputError{"no capture given", ErrNoCapture}
	}
	if len(sidecars) > 0 {
		notes = append(notes, Note{Paths: sidecars, Sidecars: true})
	}
	return out, notes, nil
}

// dirCaptures returns the captures in dir in name order, the other files
// and the sidecars.
func dirCaptures(dir string) (caps, other, sidecars []string, err error) {
	ents, err := os.ReadDir(dir) // sorted by name
	if err != nil {
		return nil, nil, nil, err
	}
	for _, e := range ents {
		name := e.Name()
		if strings.HasPrefix(name, ".") {
			continue
		}
		p := filepath.Join(dir, name)
		if !e.Type().IsRegular() {
			// A symbolic link to a capture counts; a subdirectory, a
			// pipe or a device is not read.
			st, err := os.Stat(p)
			if err != nil || !st.Mode().IsRegular() {
				other = append(other, p)
				continue
			}
		}
		k, err := filekind.OfFile(p)
		switch {
		case err != nil:
			return nil, nil, nil, err
		case k.IsCapture():
			caps = append(caps, p)
		case k.IsSidecar():
			sidecars = append(sidecars, p)
		default:
			other = append(other, p)
		}
	}
	return caps, other, sidecars, nil
}
