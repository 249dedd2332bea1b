package main

import (
	"errors"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/recorder"
	"github.com/spf13/cobra"
)

// recordFlags are gapan record's flags: recorder.Config's and those the
// command turns into it.
type recordFlags struct {
	cfg           recorder.Config
	noPromisc     bool
	bpfText       string
	quiet         bool
	rotateSeconds int
}

// newRecordCmd returns the `gapan record` command: live capture into a pcap
// and its gap sidecar, with the loss taken from the kernel's drop counter.
func newRecordCmd() *cobra.Command {
	var fl recordFlags
	cmd := withHelp("record", &cobra.Command{
		Use:   "record -i IFACE -w FILE [flags] [filter expression]",
		Short: "Capture from a live interface into a pcap plus its gap sidecar (Linux)",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := fl.config(args)
			if err != nil {
				return err
			}
			return runRecord(cmd, cfg, fl.quiet)
		},
	})
	f := cmd.Flags()
	f.StringVarP(&fl.cfg.Interface, "interface", "i", "", `interface to capture on ("any": all of them)`)
	cmd.RegisterFlagCompletionFunc("interface", completeInterfaces)
	f.StringVarP(&fl.cfg.Output, "write", "w", "", "pcap file to write; its sidecar is FILE.gaps")
	f.IntVarP(&fl.cfg.Snaplen, "snapshot-length", "s", 0, "bytes to keep of each frame (0 = 262144)")
	f.IntVarP(&fl.cfg.BufferKiB, "buffer-size", "B", recorder.DefaultBufferKiB, "kernel buffer in KiB as tcpdump counts its ring: gapan -B N holds at least as many frames as tcpdump -B N (the socket gets 6×N KiB)")
	f.Uint64VarP(&fl.cfg.Count, "count", "c", 0, "stop after this many frames")
	f.IntVarP(&fl.cfg.RotateMB, "file-size", "C", 0, "start a new file when the current one would exceed this many MB (1,000,000 bytes)")
	f.IntVarP(&fl.rotateSeconds, "rotate-seconds", "G", 0, "start a new file every this many seconds")
	f.IntVarP(&fl.cfg.MaxFiles, "file-count", "W", 0, "with -C: a ring of this many files (FILE0, FILE1, ...; FILE alone for 1), the oldest overwritten; with -G alone: stop after this many files")
	f.BoolVarP(&fl.noPromisc, "no-promiscuous-mode", "p", false, "do not put the interface into promiscuous mode")
	f.DurationVar(&fl.cfg.Duration, "duration", 0, "stop after this long (e.g. 30s)")
	f.StringVar(&fl.bpfText, "bpf", "", `compiled classic BPF filter as printed by "tcpdump -ddd" (lines or comma-separated)`)
	f.IntVar(&fl.cfg.Batch, "batch", 0, fmt.Sprintf("frames per recvmmsg call (0 = %d, 1 = recvmsg)", recorder.DefaultBatch))
	f.DurationVar(&fl.cfg.FlushEvery, "flush", recorder.DefaultFlushEvery, "a received frame goes to the pcap within this long plus 110 ms (sooner in chunks of 1 MiB or 4096 frames), and its gap to the sidecar right after, so a killed recorder leaves both readable")
	f.BoolVar(&fl.cfg.Overwrite, "force", false, "replace existing output files (the pcap, its sidecar, the files of a -C/-W ring)")
	f.BoolVar(&fl.cfg.IgnoreOutgoing, "ignore-outgoing", false, "do not capture frames this host sends (PACKET_IGNORE_OUTGOING)")
	f.BoolVar(&fl.quiet, "quiet", false, "no progress or summary on stderr")
	return cmd
}

// config returns the recorder configuration the flags and the filter
// expression args ask for.
func (fl *recordFlags) config(args []string) (recorder.Config, error) {
	cfg := fl.cfg
	cfg.Promisc = !fl.noPromisc
	cfg.RotateEvery = time.Duration(fl.rotateSeconds) * time.Second
	cfg.Filter = strings.Join(args, " ")
	if fl.bpfText != "" {
		if cfg.Filter != "" {
			return cfg, cli.Usagef("give either a filter expression or --bpf, not both")
		}
		prog, err := recorder.ParseBPF(fl.bpfText)
		if err != nil {
			return cfg, err
		}
		cfg.FilterProgram = prog
	}
	if cfg.Interface == "" || cfg.Output == "" {
		return cfg, cli.Usagef("-i IFACE and -w FILE are required")
	}
	return cfg, nil
}

// runRecord captures until cfg's limits or SIGINT/SIGTERM; unless quiet,
// the recorder says where it listens and prints its summary on stderr.
func runRecord(cmd *cobra.Command, cfg recorder.Config, quiet bool) error {
	if !quiet {
		cfg.Progress = cmd.ErrOrStderr()
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	_, err := recorder.Run(ctx, cfg)
	if errors.Is(err, recorder.ErrConfig) {
		return cli.Usage(err) // flags that do not go together
	}
	return err
}

// completeInterfaces completes -i with recorder.Interfaces: "any" and the
// interfaces of the network namespace gapan runs in.
func completeInterfaces(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
	names, err := recorder.Interfaces()
	if err != nil {
		return nil, cobra.ShellCompDirectiveError
	}
	return names, cobra.ShellCompDirectiveNoFileComp
}
