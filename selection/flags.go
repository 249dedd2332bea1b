package selection

import (
	"fmt"

	"github.com/spf13/pflag"
)

// Flags are the command-line flags that choose the frames to analyze
// (gapan report, parquet, annotate and simulate: docs/report.md,
// "Selecting frames"), as their text: AddFlags registers them, Split
// takes filter words from the arguments, and Select parses them.
//
//	var sf selection.Flags
//	sf.AddFlags(cmd.Flags())
//	captures, err := sf.Split(args, cmd.ArgsLenAtDash())
//	sel, err := sf.Select()
type Flags struct {
	Filter, Start, End, Frames string
}

// AddFlags registers --filter (-f), --start, --end and --frames on f.
func (s *Flags) AddFlags(f *pflag.FlagSet) {
	f.StringVarP(&s.Filter, "filter", "f", "", "analyze only the frames that match this capture filter `EXPR` (tcpdump syntax; also accepted as trailing words)")
	f.StringVar(&s.Start, "start", "", "analyze from this `TIME` on: RFC 3339 (2024-05-01T12:00:00Z) or an offset from the first frame (+30s)")
	f.StringVar(&s.End, "end", "", "analyze up to this `TIME` (excluded): RFC 3339 or an offset from the first frame (+1m)")
	f.StringVar(&s.Frames, "frames", "", "analyze only frames `A-B` (1-based numbers as Wireshark shows them, both included; A- or -B leave a side open)")
}

// Split tells the captures from the filter words in a command's arguments
// (SplitArgs, asking the file system; dashAt as cobra's ArgsLenAtDash
// counts it) and takes the words as the filter. Words and a --filter
// together are an error: the filter would be given twice.
func (s *Flags) Split(args []string, dashAt int) ([]string, error) {
	caps, words, err := SplitArgs(args, dashAt, nil)
	switch {
	case err != nil:
		return nil, err
	case words != "" && s.Filter != "":
		return nil, fmt.Errorf("filter given twice: --filter %q and the words %q", s.Filter, words)
	case words != "":
		s.Filter = words
	}
	return caps, nil
}

// Select parses the flags into a Select (Parse).
func (s *Flags) Select() (Select, error) {
	return Parse(s.Filter, s.Start, s.End, s.Frames)
}
