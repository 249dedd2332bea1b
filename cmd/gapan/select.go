package main

import (
	"os"
	"strings"

	"github.com/gapan/gapan/selection"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// selectFlags are the flags that choose the frames to analyze (report,
// parquet, annotate, simulate): docs/report.md, "Selecting frames".
type selectFlags struct {
	filter, start, end, frames string
}

// add registers the selection flags.
func (s *selectFlags) add(f *pflag.FlagSet) {
	f.StringVarP(&s.filter, "filter", "f", "", "analyze only the frames that match this capture filter `EXPR` (tcpdump syntax; also accepted as trailing words)")
	f.StringVar(&s.start, "start", "", "analyze from this `TIME` on: RFC 3339 (2024-05-01T12:00:00Z) or an offset from the first frame (+30s)")
	f.StringVar(&s.end, "end", "", "analyze up to this `TIME` (excluded): RFC 3339 or an offset from the first frame (+1m)")
	f.StringVar(&s.frames, "frames", "", "analyze only frames `A-B` (1-based numbers as Wireshark shows them, both included; A- or -B leave a side open)")
}

// split tells the captures from the filter words in a command's arguments:
// after "--" everything is filter words; otherwise the captures are the
// leading arguments that exist (files, directories, or "-"), the first
// argument always being one, and the words from the first argument that
// does not exist on are the filter, as tcpdump takes it. A filter word
// that is also the name of a file needs "--" or --filter.
func (s *selectFlags) split(cmd *cobra.Command, args []string) ([]string, error) {
	n := len(args)
	if dash := cmd.ArgsLenAtDash(); dash >= 0 {
		n = dash
	} else {
		for i, a := range args {
			if i == 0 || a == "-" {
				continue
			}
			if _, err := os.Stat(a); err != nil {
				n = i
				break
			}
		}
	}
	if n == 0 {
		return nil, usagef("no capture given before the filter words")
	}
	if words := args[n:]; len(words) > 0 {
		if s.filter != "" {
			return nil, usagef("filter given twice: --filter %q and the words %q", s.filter, strings.Join(words, " "))
		}
		s.filter = strings.Join(words, " ")
	}
	return args[:n], nil
}

// selection parses the flags. The filter is compiled by the run, for each
// link type it meets (an expression can be valid for one link type only).
func (s *selectFlags) selection() (selection.Select, error) {
	var sel selection.Select
	var err error
	sel.Filter = s.filter
	if sel.Start, err = selection.ParseTime(s.start); err != nil {
		return sel, usageError{err}
	}
	if sel.End, err = selection.ParseTime(s.end); err != nil {
		return sel, usageError{err}
	}
	if s.frames != "" {
		if sel.FirstFrame, sel.LastFrame, err = selection.ParseFrames(s.frames); err != nil {
			return sel, usageError{err}
		}
	}
	return sel, nil
}
