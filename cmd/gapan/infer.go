package main

import (
	"fmt"
	"io"
	"time"

	"github.com/gapan/gapan/infer"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/internal/version"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

func newInferCmd() *cobra.Command {
	var (
		out         string
		force       bool
		kernelDrops int64
		sequence    bool
	)
	c := withHelp("infer", &cobra.Command{
		Use:   "infer CAPTURE -o CAPTURE.gaps",
		Short: "Infer where a capture without a sidecar lost frames, from its own evidence (TCP, ICMP echo)",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" {
				return cli.Usagef("infer needs -o FILE.gaps (conventionally %s)", sidecar.PathFor(a[0]))
			}
			res, err := infer.Run(infer.Config{Capture: a[0], KernelDrops: kernelDrops, Sequence: sequence})
			if err != nil {
				return err
			}
			o, err := cli.OpenOutput(cmd.OutOrStdout(), out, atomicfile.Options{Overwrite: force, Inputs: a, Binary: "a binary sidecar"})
			if err != nil {
				return err
			}
			if err := o.Finish(res.WriteSidecar(o, "gapan-infer "+version.Release, time.Now().UnixNano())); err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), res.Summary())
			return nil
		},
	})
	cli.OutputFlags(c, &out, &force, "write the inferred sidecar to `FILE`")
	c.Flags().BoolVar(&sequence, "sequence", false, "also take the packets RTP, ESP, GTP-U and ICMP echo find missing by their sequence numbers as evidence (they may have been lost before the capture point)")
	c.Flags().Int64Var(&kernelDrops, "kernel-drops", -1, "a capture-wide total of frames lost (tcpdump's \"N packets dropped by kernel\") to distribute over the inferred gaps")
	return c
}

// inferGaps infers the gaps of capture (report --infer; sequence: its
// --infer-sequence) as a sidecar held in memory, which the run reads as
// the capture's (join.Options.Readers): the report names its source,
// inferred, and no file.
func inferGaps(stderr io.Writer, capture string, kernelDrops int64, sequence bool) ([]sidecar.RecordReader, error) {
	res, err := infer.Run(infer.Config{Capture: capture, KernelDrops: kernelDrops, Sequence: sequence})
	if err != nil {
		return nil, err
	}
	sc, err := res.Sidecar("gapan-infer "+version.Release, time.Now().UnixNano())
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(stderr, "gapan: note: the gaps of this report are inferred from %s's own evidence (TCP, ICMP echo) (%s, %s), not recorded (docs/infer.md)\n", capture, plural.Count(len(res.Gaps), "gap event"), plural.Count(res.Lost(), "frame"))
	return []sidecar.RecordReader{sc}, nil
}
