package main

import (
	"fmt"
	"github.com/gapan/gapan/internal/numfmt"
	"github.com/gapan/gapan/internal/plural"
	"io"
	"os"
	"time"

	"github.com/gapan/gapan/infer"
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
	c := &cobra.Command{
		Use:   "infer CAPTURE -o CAPTURE.gaps",
		Short: "Infer where a capture without a sidecar lost frames, from its own evidence (TCP, ICMP echo)",
		Long: `Read a capture without its sidecar and write a sidecar of source "inferred":
each run of TCP data the receiver acknowledged but the capture never saw
brackets the frames where it was lost; overlapping brackets of all flows
merge into gap events, each placed at the first frame that showed its
loss, sized from the missing segments, with its bracket and confidence
in an ancillary block ("gapan sidecar dump" shows them; docs/infer.md).

A capture-wide total (pcapng isb_ifdrop, or --kernel-drops N) is
distributed over the inferred gaps; what no gap can take is said as
"N frames lost, position unknown".

ICMP echo replies whose request the capture missed are evidence too;
with --sequence, so are the packets that RTP, ESP, GTP-U and ICMP echo
find missing by their sequence numbers, which may also have been lost
before the capture point.`,
		Example: `  gapan infer testdata/corpus/ndpi-netflix.pcap -o /tmp/netflix.gaps
  gapan sidecar dump /tmp/netflix.gaps --format csv
  gapan report testdata/corpus/ndpi-netflix.pcap --sidecar /tmp/netflix.gaps`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" {
				return usagef("infer needs -o FILE.gaps (conventionally %s)", sidecar.PathFor(a[0]))
			}
			res, err := infer.Run(infer.Config{Capture: a[0], KernelDrops: kernelDrops, Sequence: sequence})
			if err != nil {
				return err
			}
			o, err := openBinaryOutput(cmd.OutOrStdout(), out, force, []string{a[0]}, "a binary sidecar")
			if err != nil {
				return err
			}
			if err := o.finish(res.WriteSidecar(o, "gapan-infer "+version, time.Now().UnixNano())); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%s, %s (inferred)", plural.Count(len(res.Gaps), "inferred gap event"), plural.CountOf(res.Lost(), "frame lost", "frames lost"))
			if res.HasTotal {
				fmt.Fprintf(cmd.ErrOrStderr(), "; of the total of %s, %s, position unknown", numfmt.Int(res.Total), plural.CountOf(res.Unplaced, "frame lost", "frames lost"))
			}
			fmt.Fprintln(cmd.ErrOrStderr())
			return nil
		},
	}
	outputFlags(c, &out, &force, "write the inferred sidecar to `FILE`")
	c.Flags().BoolVar(&sequence, "sequence", false, "also take the packets RTP, ESP, GTP-U and ICMP echo find missing by their sequence numbers as evidence (they may have been lost before the capture point)")
	c.Flags().Int64Var(&kernelDrops, "kernel-drops", -1, "a capture-wide total of frames lost (tcpdump's \"N packets dropped by kernel\") to distribute over the inferred gaps")
	return c
}

// inferSidecar infers the gaps of capture (report --infer) and writes
// them to a temporary sidecar, which the run then reads as the capture's
// sidecar: the report names its source, inferred. remove deletes it.
func inferSidecar(stderr io.Writer, capture string, kernelDrops int64) (path string, remove func(), err error) {
	res, err := infer.Run(infer.Config{Capture: capture, KernelDrops: kernelDrops})
	if err != nil {
		return "", nil, err
	}
	f, err := os.CreateTemp("", "gapan-inferred-*.gaps")
	if err != nil {
		return "", nil, err
	}
	remove = func() { os.Remove(f.Name()) }
	err = res.WriteSidecar(f, "gapan-infer "+version, time.Now().UnixNano())
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		remove()
		return "", nil, err
	}
	fmt.Fprintf(stderr, "gapan: note: the gaps of this report are inferred from %s's own evidence (TCP, ICMP echo) (%s, %s), not recorded (docs/infer.md)\n", capture, plural.Count(len(res.Gaps), "gap event"), plural.Count(res.Lost(), "frame"))
	return f.Name(), remove, nil
}
