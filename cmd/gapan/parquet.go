package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gapan/gapan/internal/cli"
	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/parquet"
	"github.com/spf13/cobra"
)

// parquetFlags are the flags of gapan parquet: the run's (cli.RunFlags) and
// the dataset's, bound to parquet.Options itself.
type parquetFlags struct {
	cli.RunFlags
	opt parquet.Options
}

func newParquetCmd() *cobra.Command {
	var fl parquetFlags
	c := withHelp("parquet", &cobra.Command{
		Use:   "parquet CAPTURE... -o DIR [FILTER WORDS...]",
		Short: "Write frames, gaps and flows as a Parquet dataset for pandas, polars, DuckDB and Spark",
		Args:  cli.Args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := cli.Captures(cmd, &fl.Select, a)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runParquet(ctx, cmd.ErrOrStderr(), a, fl)
		},
	})
	f := c.Flags()
	f.StringVarP(&fl.Output, "output", "o", "", "dataset `DIR` to write")
	fl.AddFlags(f, "dataset directory")
	f.IntVarP(&fl.opt.Parallel, "jobs", "j", 0, "captures processed at once (0: one per CPU)")
	f.IntVar(&fl.opt.Writer.RowGroupRows, "row-group-rows", parquet.DefaultRowGroupRows, "rows per Parquet row group")
	f.BoolVar(&fl.opt.Partitioned, "partitioned", false, "write capture=NAME partitions even for a single capture")
	return c
}

func runParquet(ctx context.Context, stderr io.Writer, captures []string, fl parquetFlags) error {
	switch {
	case fl.Output == "" || fl.Output == "-":
		return cli.Usagef("parquet needs -o DIR (a dataset is a directory, not a stream)")
	case fl.opt.Parallel < 0 || fl.opt.Writer.RowGroupRows <= 0:
		return cli.Usagef("--jobs takes a number of 0 or more, --row-group-rows 1 or more")
	}
	cfg, err := fl.Config(captures)
	if err != nil {
		return err
	}
	opt := fl.opt
	opt.Context, opt.Join, opt.Engine, opt.Force, opt.Select = ctx, cfg.Join, cfg.Engine, fl.Force, cfg.Select
	start := time.Now()
	var res *parquet.Result
	err = cli.Metered(stderr, fl.Quiet, "parquet", memlimit.ParquetBase, memlimit.ParquetHeadroom, func(m *progress.Meter) (err error) {
		opt.Progress = m.Parallel(progress.Sizes(captures))
		res, err = parquet.WriteDataset(fl.Output, captures, opt)
		return err
	})
	if err != nil {
		return err
	}
	for _, c := range res.Captures {
		cli.WarnAll(stderr, c.Report.Warnings)
	}
	fmt.Fprintln(stderr, res.Summary(time.Since(start)))
	return nil
}
