package main

import (
	"errors"
	"io"
	"os"

	"github.com/gapan/gapan/check"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

func newSidecarCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sidecar",
		Short: "Inspect, check, import and export gap sidecars",
		Long: `A gap sidecar (capture.pcap.gaps) holds sparse (frame, gap) records: the
number of frames lost just before a frame. See docs/sidecar.md.`,
		Example: `  gapan sidecar check testdata/demo/demo.pcap
  gapan sidecar dump testdata/demo/demo.pcap.gaps --format json`,
	}
	c.AddCommand(newSidecarDumpCmd(), newSidecarCheckCmd(), newSidecarImportCmd(), newSidecarExportCmd(), newSidecarExtractCmd())
	return c
}

// convertSidecar writes the sidecar in (binary or text; "-" is stdin) to
// out (stdout for "" or "-") in the form conv writes.
func convertSidecar(stdin io.Reader, stdout io.Writer, in, out string, force bool, conv func(io.Writer, sidecar.RecordReader) error) error {
	src := stdin
	if in != "-" {
		f, err := os.Open(in)
		if err != nil {
			return err
		}
		defer f.Close()
		src = f
	}
	r, err := sidecar.NewAutoReader(src, in)
	if err != nil {
		return err
	}
	o, err := openOutput(stdout, out, force, []string{in})
	if err != nil {
		return err
	}
	return o.finish(conv(o, r))
}

func newSidecarDumpCmd() *cobra.Command {
	var format, out string
	var force bool
	c := &cobra.Command{
		Use:   "dump FILE.gaps",
		Short: "Print a sidecar's records (text, csv or json)",
		Long: `Print a sidecar's header, records and trailer. The csv format is exactly a
header line "frame,gap" (for an inferred sidecar "frame,gap,first,last,confidence")
and one row per record, so every engine infers the columns' types; the tail gap and the trailer appear in the text and json
formats only. FILE.gaps may be - (standard input).`,
		Example: `  gapan sidecar dump testdata/demo/demo.pcap.gaps
  gapan sidecar dump testdata/demo/demo.pcap.gaps --format csv`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFormat(format, sidecarDumpFormats...); err != nil {
				return err
			}
			dump := map[string]func(io.Writer, sidecar.RecordReader) error{"text": sidecar.ConvertToText, "csv": sidecar.WriteCSV, "json": sidecar.WriteJSON}[format]
			return convertSidecar(cmd.InOrStdin(), cmd.OutOrStdout(), a[0], out, force, dump)
		},
	}
	formatFlag(c, &format, sidecarDumpFormats)
	outputFlags(c, &out, &force, "write to `FILE` (atomically) instead of stdout")
	return c
}

func newSidecarCheckCmd() *cobra.Command {
	var format, sc string
	var allowMismatch, oldForce, strict bool
	c := &cobra.Command{
		Use:   "check CAPTURE",
		Short: "Validate a capture and its sidecar and print loss totals",
		Long: `Read a capture with its sidecar (CAPTURE.gaps unless --sidecar is given),
check that they belong together, and print the totals: frames captured, gap
events, frames lost (gaps plus tail), the tail gap, and the largest gap.
Exits non-zero on any problem, warnings included.`,
		Example: `  gapan sidecar check testdata/demo/demo.pcap
  gapan sidecar check testdata/demo/demo.pcap --format json`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFormat(format, sidecarCheckFormats...); err != nil {
				return err
			}
			if oldForce {
				return usagef("--force no longer accepts a mismatched sidecar; use --allow-mismatch")
			}
			// Read on past damage: check reports everything it finds
			// (a cut capture or sidecar from a killed recorder included)
			// and exits non-zero for any of it.
			opt := join.Options{AllowMismatch: allowMismatch, KeepGoing: true, Strict: strict}
			if sc != "" {
				opt.Sidecars = []string{sc}
			}
			r, err := check.Run(a[0], opt)
			if err != nil {
				return err
			}
			return sidecarCheckOutput(cmd.OutOrStdout(), cmd.ErrOrStderr(), r, format)
		},
	}
	formatFlag(c, &format, sidecarCheckFormats)
	c.Flags().StringVar(&sc, "sidecar", "", "sidecar `FILE` (default CAPTURE.gaps)")
	c.Flags().BoolVar(&allowMismatch, "allow-mismatch", false, "continue, with a warning, when the sidecar does not belong to the capture (still exits non-zero)")
	c.Flags().BoolVar(&oldForce, "force", false, "the old spelling of --allow-mismatch: an error that says so")
	c.Flags().MarkHidden("force")
	c.Flags().BoolVar(&strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	return c
}

// errProblems is returned by sidecar check when it printed warnings.
var errProblems = errors.New("problems found (see above)")

// sidecarCheckOutput prints r on stdout, its warnings on stderr, and
// returns errProblems when there are any.
func sidecarCheckOutput(stdout, stderr io.Writer, r *check.Result, format string) error {
	write := r.WriteText
	if format == "json" {
		write = r.WriteJSON
	}
	if err := write(stdout); err != nil {
		return err
	}
	warnAll(stderr, r.Warnings)
	if len(r.Warnings) > 0 {
		return errProblems
	}
	return nil
}

func newSidecarImportCmd() *cobra.Command {
	var capture, out string
	var force bool
	c := &cobra.Command{
		Use:   "import TEXT -o FILE.gaps|-",
		Short: "Convert a text sidecar (frame gap lines) into a binary sidecar",
		Long: `Convert the text form of a sidecar ("frame gap" lines, "#" comments; see
docs/sidecar.md) into the binary form. With --capture, the sidecar takes
that capture's identity and is checked against it. -o - writes the binary
sidecar to standard output, which must not be a terminal.`,
		Example: `  gapan sidecar export testdata/demo/demo.pcap.gaps -o /tmp/demo.txt
  gapan sidecar import /tmp/demo.txt --capture testdata/demo/demo.pcap -o /tmp/demo.pcap.gaps`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" {
				return usagef("import needs -o FILE.gaps (- for standard output)")
			}
			return sidecarImport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a[0], capture, out, force)
		},
	}
	c.Flags().StringVar(&capture, "capture", "", "the `CAPTURE` the sidecar belongs to: take its identity and check against it")
	outputFlags(c, &out, &force, "binary sidecar `FILE` to write (atomically; - for standard output, not a terminal)")
	return c
}

func sidecarImport(stdout, stderr io.Writer, text, capture, out string, force bool) error {
	in, err := os.Open(text)
	if err != nil {
		return err
	}
	defer in.Close()
	im, err := join.Import(in, text, join.ImportOptions{Capture: capture, Tool: "gapan sidecar import"})
	if err != nil {
		return err
	}
	if im.Incomplete != nil {
		warnf(stderr, "%v: imported without a trailer: loss unknown after frame %d (the sidecar ends there)", im.Incomplete, im.LossUnknownAfter)
	}
	o, err := openBinaryOutput(stdout, out, force, []string{text, capture}, "a binary sidecar")
	if err != nil {
		return err
	}
	return o.finish(sidecar.Write(o, &im.File))
}

func newSidecarExportCmd() *cobra.Command {
	var out string
	var force bool
	c := &cobra.Command{
		Use:     "export FILE.gaps [-o TEXT]",
		Short:   "Write a sidecar in its text form (frame gap lines)",
		Example: `  gapan sidecar export testdata/demo/demo.pcap.gaps -o /tmp/demo.txt`,
		Args:    args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return convertSidecar(cmd.InOrStdin(), cmd.OutOrStdout(), a[0], out, force, sidecar.ConvertToText)
		},
	}
	outputFlags(c, &out, &force, "write to `FILE` (atomically) instead of stdout")
	return c
}
