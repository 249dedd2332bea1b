package main

import (
	"errors"
	"fmt"
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
	c.AddCommand(newSidecarDumpCmd(), newSidecarCheckCmd(), newSidecarImportCmd(), newSidecarExportCmd())
	c.AddCommand(sidecarExtraCommands()...)
	return c
}

func openSidecar(path string) (sidecar.RecordReader, io.Closer, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	r, err := sidecar.NewAutoReader(f, path)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return r, f, nil
}

func checkFormat(format string, allowed ...string) error {
	for _, a := range allowed {
		if format == a {
			return nil
		}
	}
	return usagef("unknown --format %q (want one of %v)", format, allowed)
}

func newSidecarDumpCmd() *cobra.Command {
	var format, out string
	var force bool
	c := &cobra.Command{
		Use:   "dump FILE.gaps",
		Short: "Print a sidecar's records (text, csv or json)",
		Long: `Print a sidecar's header, records and trailer. The csv format is exactly a
header line "frame,gap" and one row per record, so every engine infers
integer columns; the tail gap and the trailer appear in the text and json
formats only.`,
		Example: `  gapan sidecar dump testdata/demo/demo.pcap.gaps
  gapan sidecar dump testdata/demo/demo.pcap.gaps --format csv`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := checkFormat(format, "text", "csv", "json"); err != nil {
				return err
			}
			r, cl, err := openSidecar(a[0])
			if err != nil {
				return err
			}
			defer cl.Close()
			o, err := openOutput(cmd.OutOrStdout(), out, force, a)
			if err != nil {
				return err
			}
			dump := map[string]func(io.Writer, sidecar.RecordReader) error{"text": sidecar.ConvertToText, "csv": sidecar.WriteCSV, "json": sidecar.WriteJSON}[format]
			return o.finish(dump(o, r))
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text, csv or json")
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
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
			if err := checkFormat(format, "text", "json"); err != nil {
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
			return sidecarCheck(cmd.OutOrStdout(), cmd.ErrOrStderr(), a[0], opt, format)
		},
	}
	c.Flags().StringVar(&format, "format", "text", "output format: text or json")
	c.Flags().StringVar(&sc, "sidecar", "", "sidecar `FILE` (default CAPTURE.gaps)")
	c.Flags().BoolVar(&allowMismatch, "allow-mismatch", false, "continue, with a warning, when the sidecar does not belong to the capture (still exits non-zero)")
	c.Flags().BoolVar(&oldForce, "force", false, "the old spelling of --allow-mismatch: an error that says so")
	c.Flags().MarkHidden("force")
	c.Flags().BoolVar(&strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	return c
}

// errProblems is returned by sidecar check when it printed warnings.
var errProblems = errors.New("problems found (see above)")

func sidecarCheck(stdout, stderr io.Writer, capture string, opt join.Options, format string) error {
	r, err := check.Run(capture, opt)
	if err != nil {
		return err
	}
	if format == "json" {
		err = r.WriteJSON(stdout)
	} else {
		err = r.WriteText(stdout)
	}
	if err != nil {
		return err
	}
	for _, w := range r.Warnings {
		fmt.Fprintf(stderr, "gapan: warning: %v\n", w)
	}
	if len(r.Warnings) > 0 {
		return errProblems
	}
	return nil
}

func newSidecarImportCmd() *cobra.Command {
	var capture, out string
	var force bool
	c := &cobra.Command{
		Use:   "import TEXT -o FILE.gaps",
		Short: "Convert a text sidecar (frame gap lines) into a binary sidecar",
		Long: `Convert the text form of a sidecar ("frame gap" lines, "#" comments; see
docs/sidecar.md) into the binary form. With --capture, the sidecar takes
that capture's identity and is checked against it.`,
		Example: `  gapan sidecar export testdata/demo/demo.pcap.gaps -o /tmp/demo.txt
  gapan sidecar import /tmp/demo.txt --capture testdata/demo/demo.pcap -o /tmp/demo.pcap.gaps`,
		Args: args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" || out == "-" {
				return usagef("import needs -o FILE.gaps")
			}
			return sidecarImport(cmd.ErrOrStderr(), a[0], capture, out, force)
		},
	}
	c.Flags().StringVar(&capture, "capture", "", "the `CAPTURE` the sidecar belongs to: take its identity and check against it")
	c.Flags().StringVarP(&out, "output", "o", "", "binary sidecar `FILE` to write")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return c
}

func sidecarImport(stderr io.Writer, text, capture, out string, force bool) error {
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
		fmt.Fprintf(stderr, "gapan: warning: %v: imported without a trailer: loss unknown after frame %d (the sidecar ends there)\n", im.Incomplete, im.LossUnknownAfter)
	}
	o, err := openOutput(nil, out, force, []string{text, capture})
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
			r, cl, err := openSidecar(a[0])
			if err != nil {
				return err
			}
			defer cl.Close()
			o, err := openOutput(cmd.OutOrStdout(), out, force, a)
			if err != nil {
				return err
			}
			return o.finish(sidecar.ConvertToText(o, r))
		},
	}
	c.Flags().StringVarP(&out, "output", "o", "", "write to `FILE` (atomically) instead of stdout")
	c.Flags().BoolVar(&force, "force", false, "replace an existing output file")
	return c
}
