package cli

import (
	"errors"
	"fmt"
	"io"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/selection"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// RunFlags are the flags of the commands that run the pipeline (gapan
// report, parquet). They bind to the run's configuration itself: a flag
// means what its field means (0 is none for --idle-timeout as for
// loss.Config.IdleTimeout), so nothing is translated on the way down.
type RunFlags struct {
	// Run is the run's configuration the flags fill (Config adds the
	// captures and the selection).
	Run          analyze.Config
	Output       string
	Force, Quiet bool
	Select       selection.Flags
}

// AddFlags registers the flags on f (but -o, whose help is the command's);
// what names the output --force replaces.
func (fl *RunFlags) AddFlags(f *pflag.FlagSet, what string) {
	j, e := &fl.Run.Join, &fl.Run.Engine
	f.BoolVar(&fl.Force, "force", false, "replace an existing "+what)
	f.StringArrayVar(&j.Sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat for a set, in order; default CAPTURE.gaps)")
	f.BoolVar(&j.NoSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from pcapng epb_dropcount only")
	f.BoolVar(&j.AllowMismatch, "allow-mismatch", false, "use a sidecar, with a warning, even when it does not belong to its capture (identity, frame count)")
	f.BoolVar(&j.KeepGoing, "keep-going", false, "on damaged input, use what was read up to the damage and say where it stopped")
	f.BoolVar(&j.Strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.DurationVar(&e.IdleTimeout, "idle-timeout", loss.DefaultIdleTimeout, "end flows idle for this long (capture time; 0: never)")
	f.IntVar(&e.MaxFlows, "max-flows", 0, "cap the flows tracked at once (0: the default cap); the oldest are ended early")
	f.BoolVarP(&fl.Quiet, "quiet", "q", false, "no progress meter on standard error")
	fl.Run.KernelDrops = -1
	fl.Select.AddFlags(f)
}

// Config returns the run's configuration for captures, the flags checked
// against them (analyze.Config.Validate) and the selection parsed: what is
// wrong is a usage error.
func (fl *RunFlags) Config(captures []string) (analyze.Config, error) {
	cfg := fl.Run
	cfg.Captures = captures
	var err error
	if cfg.Select, err = fl.Select.Select(); err != nil {
		return cfg, UsageError{err}
	}
	if err := cfg.Validate(); err != nil {
		return cfg, UsageError{err}
	}
	return cfg, nil
}

// Captures tells the captures from the filter words in cmd's arguments a
// (sel.Split: the words become sel's filter; what is wrong is a usage
// error), then applies join.ExpandCaptures, the one rule for capture
// arguments (a directory means its captures, a sidecar among captures is
// left out), and prints its notes on cmd's stderr.
func Captures(cmd *cobra.Command, sel *selection.Flags, a []string) ([]string, error) {
	a, err := sel.Split(a, cmd.ArgsLenAtDash())
	if err != nil {
		return nil, UsageError{err}
	}
	caps, notes, err := join.ExpandCaptures(a)
	if err != nil {
		return nil, err
	}
	for _, n := range notes {
		fmt.Fprintf(cmd.ErrOrStderr(), "gapan: note: %v\n", n)
	}
	return caps, nil
}

// Metered runs do as gapan's long runs (report, parquet) run: with a
// progress meter labelled label on stderr when stderr is a terminal and
// quiet is false (progress.ForTerminal; nil otherwise, whose methods do
// nothing), which do hands to its run (Meter.Files, Meter.Parallel) and
// which is done, its line erased, before Metered returns; and under the
// soft memory limit base that follows a live heap above base/headroom
// (memlimit.FollowUnlessSet: none when GOMEMLIMIT is set), restored after.
func Metered(stderr io.Writer, quiet bool, label string, base int64, headroom float64, do func(*progress.Meter) error) error {
	defer memlimit.FollowUnlessSet(base, headroom)()
	meter := progress.ForTerminal(stderr, quiet, label)
	meter.Start()
	err := do(meter)
	meter.Done()
	return err
}

// KeepGoingHint adds to an error on damaged capture input, read after
// some frames (a reader.FormatError with FramesRead > 0), that
// gapan report --keep-going reports those frames; other errors it returns
// as they are.
func KeepGoingHint(err error) error {
	var fe *reader.FormatError
	if errors.As(err, &fe) && fe.FramesRead > 0 {
		return fmt.Errorf("%w; --keep-going reports the %d frames before the damage", err, fe.FramesRead)
	}
	return err
}
