package main

import (
	"fmt"

	"github.com/gapan/gapan/annotate"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/plural"
	"github.com/spf13/cobra"
)

func newSidecarExtractCmd() *cobra.Command {
	var cfg annotate.ExtractConfig
	c := withHelp("sidecar-extract", &cobra.Command{
		Use:   "extract CAPTURE.pcapng -o FILE.gaps",
		Short: "Build a sidecar from a pcapng file's epb_dropcount options",
		Args:  args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if cfg.Output == "" {
				return usagef("extract needs -o FILE.gaps (- for standard output)")
			}
			cfg.Input = a[0]
			o, err := openOutput(cmd.OutOrStdout(), cfg.Output, atomicfile.Options{Overwrite: cfg.Force, Inputs: a, Binary: "a binary sidecar"})
			if err != nil {
				return err
			}
			st, err := annotate.ExtractTo(o, cfg)
			if err := o.Finish(err); err != nil {
				return err
			}
			warn := func(format string, a ...any) { warnf(cmd.ErrOrStderr(), format, a...) }
			if st.Damage != nil {
				warn("stopped at damage (--keep-going): %v", st.Damage)
			}
			if st.DropCountFrames == 0 {
				warn("%s has no epb_dropcount option; the sidecar records no loss", a[0])
			}
			if st.Inconsistent > 0 {
				warn("%s an isb_ifdrop below the sum of its drop counts; no tail inferred", plural.CountOf(st.Inconsistent, "interface reports", "interfaces report"))
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s, %d with epb_dropcount; %s, %s (tail %d)\n",
				plural.Count(st.Frames, "frame"), st.DropCountFrames, plural.Count(st.Records, "record"), plural.CountOf(st.Lost+st.Tail, "frame lost", "frames lost"), st.Tail)
			return nil
		},
	})
	outputFlags(c, &cfg.Output, &cfg.Force, "sidecar `FILE` to write (atomically; - for standard output, not a terminal)")
	c.Flags().BoolVar(&cfg.KeepGoing, "keep-going", false, "stop at damage in the capture with a warning and write the sidecar so far")
	c.Flags().BoolVar(&cfg.NoTail, "no-tail", false, "do not infer tail gaps from isb_ifdrop")
	return c
}
