package main

import (
	"fmt"

	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/simulate"
	"github.com/spf13/cobra"
)

func newSimulateCmd() *cobra.Command {
	var (
		out, model, sc string
		seed           uint64
		force          bool
		sf             selection.Flags
	)
	c := withHelp("simulate", &cobra.Command{
		Use:   "simulate IN -o OUT.pcap|OUT.pcapng --loss-model MODEL [FILTER WORDS...]",
		Short: "Delete frames from a capture by a seeded loss model and write the ground-truth sidecar",
		Args:  cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := sf.Split(a, cmd.ArgsLenAtDash())
			if err != nil {
				return cli.Usage(err)
			}
			if len(a) != 1 {
				return cli.Usagef("simulate takes one capture, not %d", len(a))
			}
			sel, err := sf.Select()
			if err != nil {
				return cli.Usage(err)
			}
			if out == "" {
				return cli.Usagef("simulate needs -o OUT.pcap")
			}
			m, err := simulate.ParseModel(model)
			if err != nil {
				return cli.Usage(err)
			}
			st, err := simulate.Run(simulate.Config{Input: a[0], Output: out, Model: m, Seed: seed, Force: force, Sidecar: sc, Select: sel})
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.ErrOrStderr(), st.Summary())
			return nil
		},
	})
	c.Flags().StringVarP(&out, "output", "o", "", "output `CAPTURE`: pcapng when it ends in .pcapng, else pcap (its sidecar is written next to it)")
	c.Flags().StringVar(&model, "loss-model", "uniform:0.01", "loss `MODEL`: uniform:P, burst:p=P,r=R[,k=K][,h=H] or list:N,N-M")
	c.Flags().Uint64Var(&seed, "seed", 1, "random seed")
	c.Flags().BoolVar(&force, "force", false, "replace existing output files")
	c.Flags().StringVar(&sc, "sidecar", "", "the input's sidecar `FILE` (default IN.gaps when present)")
	sf.AddFlags(c.Flags())
	return c
}
