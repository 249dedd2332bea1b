package main

import (
	"fmt"

	"github.com/gapan/gapan/annotate"
	"github.com/spf13/cobra"
)

// sidecarSubcommands holds the constructors of `gapan sidecar` subcommands
// that live in their own files; newSidecarCmd adds them.
var sidecarSubcommands []func() *cobra.Command

func init() { sidecarSubcommands = append(sidecarSubcommands, newSidecarExtractCmd) }

// sidecarExtraCommands builds the commands registered in sidecarSubcommands.
func sidecarExtraCommands() []*cobra.Command {
	cs := make([]*cobra.Command, 0, len(sidecarSubcommands))
	for _, c := range sidecarSubcommands {
		cs = append(cs, c())
	}
	return cs
}

func newSidecarExtractCmd() *cobra.Command {
	var cfg annotate.ExtractConfig
	c := &cobra.Command{
		Use:   "extract CAPTURE.pcapng -o FILE.gaps",
		Short: "Build a sidecar from a pcapng file's epb_dropcount options",
		Long: `Build a gap sidecar from the drop counts a recorder wrote into a pcapng
file: every frame whose epb_dropcount is above 0 becomes a record. On an
interface that carries epb_dropcount, the part of its isb_ifdrop (Interface
Statistics Block) beyond the sum of its drop counts becomes its tail gap
(--no-tail turns that off). The reverse of "gapan annotate".`,
		Example: `  gapan sidecar extract testdata/corpus/gopacket-pcapng-epb-dropcount.pcapng -o /tmp/epb.pcapng.gaps
  gapan sidecar dump /tmp/epb.pcapng.gaps`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if cfg.Output == "" {
				return usagef("extract needs -o FILE.gaps (- for standard output)")
			}
			cfg.Input = a[0]
			o, err := openOutput(cmd.OutOrStdout(), cfg.Output, cfg.Force, a)
			if err != nil {
				return err
			}
			st, err := annotate.ExtractTo(o, cfg)
			if err := o.finish(err); err != nil {
				return err
			}
			if st.Damage != nil {
				fmt.Fprintf(cmd.ErrOrStderr(), "gapan: warning: stopped at damage (--keep-going): %v\n", st.Damage)
			}
			if st.DropCountFrames == 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "gapan: warning: %s has no epb_dropcount option; the sidecar records no loss\n", a[0])
			}
			if st.Inconsistent > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "gapan: warning: %d interfaces report an isb_ifdrop below the sum of their drop counts; no tail inferred for them\n", st.Inconsistent)
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d frames, %d with epb_dropcount; %d records, %d frames lost (tail %d)\n",
				st.Frames, st.DropCountFrames, st.Records, st.Lost+st.Tail, st.Tail)
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&cfg.Output, "output", "o", "", "sidecar `FILE` to write (atomically; - for standard output)")
	f.BoolVar(&cfg.Force, "force", false, "replace an existing output file")
	f.BoolVar(&cfg.KeepGoing, "keep-going", false, "stop at damage in the capture with a warning and write the sidecar so far")
	f.BoolVar(&cfg.NoTail, "no-tail", false, "do not infer tail gaps from isb_ifdrop")
	return c
}
