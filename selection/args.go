package selection

import (
	"errors"
	"os"
	"strings"
)

// ErrNoCaptureArg means the arguments SplitArgs was given start with
// filter words: no capture comes before them. Its text has no package
// prefix: it is what the user sees.
var ErrNoCaptureArg = errors.New("no capture given before the filter words")

// SplitArgs tells the captures from the filter words in a command's
// arguments, as tcpdump takes them: when dashAt is 0 or more (the number of
// arguments before a "--", as cobra's ArgsLenAtDash counts them),
// everything from there on is filter words; otherwise the captures are the
// leading arguments that exist (files, directories, or "-"), the first
// argument always being one, and the words from the first argument that
// does not exist on are the filter. A filter word that is also the name of
// a file therefore needs "--". exists reports whether a file exists; nil
// asks the file system (os.Stat). The filter is the words joined by
// spaces, "" when there are none; no capture before the words is
// ErrNoCaptureArg.
func SplitArgs(args []string, dashAt int, exists func(name string) bool) (captures []string, filter string, err error) {
	if exists == nil {
		exists = func(name string) bool {
			_, err := os.Stat(name)
			return err == nil
		}
	}
	n := len(args)
	if dashAt >= 0 {
		n = min(dashAt, len(args))
	} else {
		for i, a := range args {
			if i > 0 && a != "-" && !exists(a) {
				n = i
				break
			}
		}
	}
	if n == 0 {
		return nil, "", ErrNoCaptureArg
	}
	return args[:n], strings.Join(args[n:], " "), nil
}
