package main

import (
	"fmt"

	"github.com/gapan/gapan/annotate"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/selection"
	"github.com/spf13/cobra"
)

func newAnnotateCmd() *cobra.Command {
	var (
		cfg   annotate.Config
		out   string
		quiet bool
		fates bool
		sf    selection.Flags
	)
	c := withHelp("annotate", &cobra.Command{
		Use:   "annotate CAPTURE... -o OUT.pcapng [FILTER WORDS...]",
		Short: "Write the capture as pcapng that shows the gaps in Wireshark",
		Args:  cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := cli.Captures(cmd, &sf, a)
			if err != nil {
				return err
			}
			if cfg.Select, err = sf.Select(); err != nil {
				return cli.Usage(err)
			}
			if out == "" {
				return cli.Usagef("annotate needs -o OUT.pcapng (- for standard output)")
			}
			if err := (join.Options{Sidecars: cfg.Sidecars, NoSidecar: cfg.NoSidecar}).Validate(len(a)); err != nil {
				return cli.Usage(err)
			}
			cfg.Inputs, cfg.NoFates = a, !fates
			return runAnnotate(cmd, cfg, out, quiet)
		},
	})
	cli.OutputFlags(c, &out, &cfg.Force, "pcapng `FILE` to write (atomically; - for standard output, not a terminal)")
	f := c.Flags()
	f.StringArrayVar(&cfg.Sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat for several; default CAPTURE.gaps)")
	f.BoolVar(&cfg.NoSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from the input's epb_dropcount only")
	f.BoolVar(&cfg.AllowMismatch, "allow-mismatch", false, "continue, with a warning, when a sidecar does not belong to its capture")
	f.BoolVar(&cfg.KeepGoing, "keep-going", false, "stop at damage in a capture or sidecar with a warning instead of failing")
	f.BoolVar(&cfg.Strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.BoolVar(&cfg.NoComments, "no-comments", false, "write epb_dropcount only, no per-frame comments")
	f.BoolVar(&fates, "fates", true, "tell the fate of each flow's missing data on the frame that reveals it (--fates=false: drop counts only, one pass)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress meter on standard error")
	sf.AddFlags(f)
	return c
}

// runAnnotate writes the pcapng to out and its figures and warnings to
// standard error.
func runAnnotate(cmd *cobra.Command, cfg annotate.Config, out string, quiet bool) error {
	stderr := cmd.ErrOrStderr()
	inputs := join.Inputs(cfg.Inputs, join.Options{Sidecars: cfg.Sidecars})
	o, err := cli.OpenOutput(cmd.OutOrStdout(), out, atomicfile.Options{Overwrite: cfg.Force, Inputs: inputs, Binary: "pcapng"})
	if err != nil {
		return err
	}
	meter := progress.ForTerminal(stderr, quiet, "annotate")
	meter.Start()
	cfg.Progress = meter.Files(progress.Sizes(cfg.Inputs))
	st, err := annotate.Write(o, cfg)
	meter.Done()
	cli.WarnAll(stderr, st.Warnings)
	if err != nil && o.Stream() && st.Partial {
		fmt.Fprintf(stderr, "gapan: annotate: %s holds an incomplete pcapng: %d whole frames were written before the error, without the interface statistics blocks\n", o.Name(), st.Frames)
	}
	if err := o.Finish(err); err != nil {
		return err
	}
	fmt.Fprintln(stderr, st.Summary())
	if st.FixedLengths > 0 {
		cli.Warnf(stderr, "%s a captured length above the original length; written with the original length raised", plural.CountOf(st.FixedLengths, "frame had", "frames had"))
	}
	return nil
}
