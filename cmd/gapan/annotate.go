package main

import (
	"fmt"

	"github.com/gapan/gapan/annotate"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

func init() { extraCommands = append(extraCommands, newAnnotateCmd) }

func newAnnotateCmd() *cobra.Command {
	var (
		cfg      annotate.Config
		out      string
		sidecars []string
		quiet    bool
		fates    bool
	)
	c := &cobra.Command{
		Use:   "annotate CAPTURE... -o OUT.pcapng",
		Short: "Write the capture as pcapng that shows the gaps in Wireshark",
		Long: `Copy the capture's frames, byte for byte and in order, into pcapng and mark
the loss the way Wireshark understands it: every frame with frames lost just
before it carries epb_dropcount (Wireshark's frame.drop_count) and a comment
"gapan: N frames lost before this frame"; an Interface Statistics Block per
interface holds everything lost on it (isb_ifdrop, tail included); the section
header comment names the sidecar the gaps came from.

Each frame that reveals missing data of its flow (the frame after a hole in a
TCP sequence, an acknowledgement of data the capture never saw, the RTP
packet after missing ones) also tells that data's fate: lost by the capture
inside a recorded gap, lost by the capture but explained by no gap, lost
before the capture point (upstream), after it (downstream), ambiguous or
unknown; and each retransmission what it repaired. A comment says it in words
and a machine-readable "gapan/1" comment feeds the Wireshark plugin
contrib/wireshark/gapan.lua. Fates are final only later in the stream, so the
input is read twice (standard input is first copied to a temporary file);
--fates=false writes only the drop counts, in one pass.

The gaps come from CAPTURE.gaps (or --sidecar), else from the input's own
epb_dropcount options. Several captures are read in order as one (a rotated
set). In Wireshark, filter with: frame.drop_count > 0. See docs/wireshark.md.`,
		Example: `  gapan annotate testdata/demo/demo.pcap -o /tmp/demo.pcapng
  tshark -r /tmp/demo.pcapng -Y "frame.drop_count > 0" -T fields -e frame.number -e frame.drop_count
  tshark -X lua_script:contrib/wireshark/gapan.lua -r /tmp/demo.pcapng -Y 'gapan.fate == "capture"' -T fields -e frame.number -e gapan.fate_bytes`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" {
				return usagef("annotate needs -o OUT.pcapng (- for standard output)")
			}
			if len(sidecars) > len(a) {
				return usagef("%d --sidecar files given for %d captures", len(sidecars), len(a))
			}
			if cfg.NoSidecar && len(sidecars) > 0 {
				return usagef("--sidecar and --no-sidecar exclude each other")
			}
			cfg.Inputs, cfg.Sidecars, cfg.NoFates = a, sidecars, !fates
			inputs := append([]string(nil), a...)
			for i, in := range a {
				if i < len(sidecars) && sidecars[i] != "" {
					inputs = append(inputs, sidecars[i])
				} else {
					inputs = append(inputs, sidecar.PathFor(in))
				}
			}
			o, err := openOutput(cmd.OutOrStdout(), out, cfg.Force, inputs)
			if err != nil {
				return err
			}
			meter := progressMeter(cmd.ErrOrStderr(), quiet, "annotate")
			meter.Start()
			cfg.Progress = meter.Files(progress.Sizes(a))
			st, err := annotate.Write(o, cfg)
			meter.Done()
			for _, w := range st.Warnings {
				fmt.Fprintf(cmd.ErrOrStderr(), "gapan: warning: %v\n", w)
			}
			if err != nil && o.stream() && st.Partial {
				fmt.Fprintf(cmd.ErrOrStderr(), "gapan: annotate: %s holds an incomplete pcapng: %d whole frames were written before the error, without the interface statistics blocks\n", o.name(), st.Frames)
			}
			if err := o.finish(err); err != nil {
				return err
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "%d frames, %d interfaces; %d frames with a gap before them, %d frames lost (tail %d)\n",
				st.Frames, st.Interfaces, st.GapFrames, st.Lost+st.Tail, st.Tail)
			if st.FixedLengths > 0 {
				fmt.Fprintf(cmd.ErrOrStderr(), "gapan: warning: %d frames had a captured length above their original length; written with the original length raised\n", st.FixedLengths)
			}
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&out, "output", "o", "", "pcapng `FILE` to write (atomically; - for standard output)")
	f.StringArrayVar(&sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat for several; default CAPTURE.gaps)")
	f.BoolVar(&cfg.NoSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from the input's epb_dropcount only")
	f.BoolVar(&cfg.Force, "force", false, "replace an existing output file")
	f.BoolVar(&cfg.AllowMismatch, "allow-mismatch", false, "continue, with a warning, when a sidecar does not belong to its capture")
	f.BoolVar(&cfg.KeepGoing, "keep-going", false, "stop at damage in a capture or sidecar with a warning instead of failing")
	f.BoolVar(&cfg.Strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.BoolVar(&cfg.NoComments, "no-comments", false, "write epb_dropcount only, no per-frame comments")
	f.BoolVar(&fates, "fates", true, "tell the fate of each flow's missing data on the frame that reveals it (--fates=false: drop counts only, one pass)")
	f.BoolVarP(&quiet, "quiet", "q", false, "no progress meter on standard error")
	return c
}
