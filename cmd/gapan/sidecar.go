package main

import (
	"errors"
	"fmt"
	"io"

	"github.com/gapan/gapan/annotate"
	"github.com/gapan/gapan/check"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/spf13/cobra"
)

func newSidecarCmd() *cobra.Command {
	c := withHelp("sidecar", &cobra.Command{
		Use:   "sidecar",
		Short: "Inspect, check, import and export gap sidecars",
	})
	c.AddCommand(newSidecarDumpCmd(), newSidecarCheckCmd(), newSidecarImportCmd(), newSidecarExportCmd(), newSidecarExtractCmd())
	return c
}

// dumpSidecar writes the sidecar in (binary or text; "-" is stdin) to out
// (stdout for "" or "-") in format, one of sidecar.DumpFormats.
func dumpSidecar(cmd *cobra.Command, in, out string, force bool, format string) error {
	r, c, err := sidecar.OpenAuto(in, cmd.InOrStdin())
	if err != nil {
		return err
	}
	defer c.Close()
	o, err := cli.OpenOutput(cmd.OutOrStdout(), out, atomicfile.Options{Overwrite: force, Inputs: []string{in}})
	if err != nil {
		return err
	}
	return o.Finish(sidecar.Dump(o, r, format))
}

func newSidecarDumpCmd() *cobra.Command {
	var format, out string
	var force bool
	c := withHelp("sidecar-dump", &cobra.Command{
		Use:   "dump FILE.gaps",
		Short: "Print a sidecar's records (text, csv or json)",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := cli.CheckFormat(format, sidecar.DumpFormats...); err != nil {
				return err
			}
			return dumpSidecar(cmd, a[0], out, force, format)
		},
	})
	cli.FormatFlag(c, &format, sidecar.DumpFormats)
	cli.OutputFlags(c, &out, &force, "write to `FILE` (atomically) instead of stdout")
	return c
}

// errProblems is returned by sidecar check when it printed warnings.
var errProblems = errors.New("problems found (see above)")

func newSidecarCheckCmd() *cobra.Command {
	var format, sc string
	var allowMismatch, oldForce, strict bool
	c := withHelp("sidecar-check", &cobra.Command{
		Use:   "check CAPTURE",
		Short: "Validate a capture and its sidecar and print loss totals",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if err := cli.CheckFormat(format, check.Formats...); err != nil {
				return err
			}
			if oldForce {
				return cli.Usagef("--force no longer accepts a mismatched sidecar; use --allow-mismatch")
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
			if err := r.Write(cmd.OutOrStdout(), format); err != nil {
				return err
			}
			if cli.WarnAll(cmd.ErrOrStderr(), r.Warnings); len(r.Warnings) > 0 {
				return errProblems
			}
			return nil
		},
	})
	cli.FormatFlag(c, &format, check.Formats)
	c.Flags().StringVar(&sc, "sidecar", "", "sidecar `FILE` (default CAPTURE.gaps)")
	c.Flags().BoolVar(&allowMismatch, "allow-mismatch", false, "continue, with a warning, when the sidecar does not belong to the capture (still exits non-zero)")
	c.Flags().BoolVar(&oldForce, "force", false, "the old spelling of --allow-mismatch: an error that says so")
	c.Flags().MarkHidden("force")
	c.Flags().BoolVar(&strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	return c
}

func newSidecarImportCmd() *cobra.Command {
	var capture, out string
	var force bool
	c := withHelp("sidecar-import", &cobra.Command{
		Use:   "import TEXT -o FILE.gaps|-",
		Short: "Convert a text sidecar (frame gap lines) into a binary sidecar",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if out == "" {
				return cli.Usagef("import needs -o FILE.gaps (- for standard output)")
			}
			return sidecarImport(cmd.OutOrStdout(), cmd.ErrOrStderr(), a[0], capture, out, force)
		},
	})
	c.Flags().StringVar(&capture, "capture", "", "the `CAPTURE` the sidecar belongs to: take its identity and check against it")
	cli.OutputFlags(c, &out, &force, "binary sidecar `FILE` to write (atomically; - for standard output, not a terminal)")
	return c
}

func sidecarImport(stdout, stderr io.Writer, text, capture, out string, force bool) error {
	im, err := join.ImportFile(text, join.ImportOptions{Capture: capture, Tool: "gapan sidecar import"})
	if err != nil {
		return err
	}
	if w := im.Warning(); w != nil {
		cli.Warnf(stderr, "%v", w)
	}
	o, err := cli.OpenOutput(stdout, out, atomicfile.Options{Overwrite: force, Inputs: []string{text, capture}, Binary: "a binary sidecar"})
	if err != nil {
		return err
	}
	return o.Finish(sidecar.Write(o, &im.File))
}

func newSidecarExportCmd() *cobra.Command {
	var out string
	var force bool
	c := withHelp("sidecar-export", &cobra.Command{
		Use:   "export FILE.gaps [-o TEXT]",
		Short: "Write a sidecar in its text form (frame gap lines)",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			return dumpSidecar(cmd, a[0], out, force, "text")
		},
	})
	cli.OutputFlags(c, &out, &force, "write to `FILE` (atomically) instead of stdout")
	return c
}

func newSidecarExtractCmd() *cobra.Command {
	var cfg annotate.ExtractConfig
	c := withHelp("sidecar-extract", &cobra.Command{
		Use:   "extract CAPTURE.pcapng -o FILE.gaps",
		Short: "Build a sidecar from a pcapng file's epb_dropcount options",
		Args:  cli.Args(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			if cfg.Output == "" {
				return cli.Usagef("extract needs -o FILE.gaps (- for standard output)")
			}
			cfg.Input = a[0]
			o, err := cli.OpenOutput(cmd.OutOrStdout(), cfg.Output, atomicfile.Options{Overwrite: cfg.Force, Inputs: a, Binary: "a binary sidecar"})
			if err != nil {
				return err
			}
			st, err := annotate.ExtractTo(o, cfg)
			if err := o.Finish(err); err != nil {
				return err
			}
			cli.WarnAll(cmd.ErrOrStderr(), st.Warnings(a[0]))
			fmt.Fprintln(cmd.ErrOrStderr(), st.Summary())
			return nil
		},
	})
	cli.OutputFlags(c, &cfg.Output, &cfg.Force, "sidecar `FILE` to write (atomically; - for standard output, not a terminal)")
	c.Flags().BoolVar(&cfg.KeepGoing, "keep-going", false, "stop at damage in the capture with a warning and write the sidecar so far")
	c.Flags().BoolVar(&cfg.NoTail, "no-tail", false, "do not infer tail gaps from isb_ifdrop")
	return c
}
