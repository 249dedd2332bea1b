package parquet

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// ErrNoCapture is returned by ExpandCaptures for a directory that holds
// no capture.
var ErrNoCapture = fmt.Errorf("parquet: no capture in directory")

// ExpandCaptures replaces each directory among paths by the capture files
// in it (a rotated set: every regular, non-hidden file but sidecars), in
// name order; other paths stay as they are (the run reports what is wrong
// with them).
func ExpandCaptures(paths []string) ([]string, error) {
	var out []string
	for _, a := range paths {
		st, err := os.Stat(a)
		if err != nil || !st.IsDir() {
			out = append(out, a)
			continue
		}
		ents, err := os.ReadDir(a)
		if err != nil {
			return nil, err
		}
		var names []string
		for _, e := range ents {
			n := e.Name()
			if !e.Type().IsRegular() || strings.HasPrefix(n, ".") || strings.HasSuffix(n, ".gaps") {
				continue
			}
			names = append(names, filepath.Join(a, n))
		}
		if len(names) == 0 {
			return nil, fmt.Errorf("%w %s", ErrNoCapture, a)
		}
		slices.Sort(names)
		out = append(out, names...)
	}
	return out, nil
}
