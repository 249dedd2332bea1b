package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/parquet"
	"github.com/spf13/cobra"
)

// parquetFlags are the flags of gapan parquet: the run's (runFlags) and
// the dataset's, bound to parquet.Options itself.
type parquetFlags struct {
	runFlags
	opt parquet.Options
}

func newParquetCmd() *cobra.Command {
	var fl parquetFlags
	c := withHelp("parquet", &cobra.Command{
		Use:   "parquet CAPTURE... -o DIR [FILTER WORDS...]",
		Short: "Write frames, gaps and flows as a Parquet dataset for pandas, polars, DuckDB and Spark",
		Args:  args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := captureArgs(cmd, &fl.sel, a)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runParquet(ctx, cmd.ErrOrStderr(), a, fl)
		},
	})
	f := c.Flags()
	f.StringVarP(&fl.out, "output", "o", "", "dataset `DIR` to write")
	fl.add(f, "dataset directory")
	f.IntVarP(&fl.opt.Parallel, "jobs", "j", 0, "captures processed at once (0: one per CPU)")
	f.IntVar(&fl.opt.Writer.RowGroupRows, "row-group-rows", parquet.DefaultRowGroupRows, "rows per Parquet row group")
	f.BoolVar(&fl.opt.Partitioned, "partitioned", false, "write capture=NAME partitions even for a single capture")
	return c
}

// parquetMemoryLimit is gapan parquet's soft memory limit (runtime/debug)
// while the live heap is below parquetMemoryLimit/parquetHeadroom; above,
// the limit is parquetHeadroom times the live heap. At a million live
// flows the accounting holds about 330 MB and the writer about 15 MB:
// 1.07 keeps the peak under 400 MB (1.1 gave 405 MB) for some more
// collections (docs/performance.md, issue 21).
const (
	parquetMemoryLimit = 360 << 20
	parquetHeadroom    = 1.07
)

func runParquet(ctx context.Context, stderr io.Writer, captures []string, fl parquetFlags) error {
	switch {
	case fl.out == "" || fl.out == "-":
		return usagef("parquet needs -o DIR (a dataset is a directory, not a stream)")
	case fl.opt.Parallel < 0 || fl.opt.Writer.RowGroupRows <= 0:
		return usagef("--jobs takes a number of 0 or more, --row-group-rows 1 or more")
	}
	cfg, err := fl.config(captures)
	if err != nil {
		return err
	}
	opt := fl.opt
	opt.Context, opt.Join, opt.Engine, opt.Force, opt.Select = ctx, cfg.Join, cfg.Engine, fl.force, cfg.Select
	// The encoders' buffers come and go a row group at a time: a soft
	// memory limit makes the collector return them before the heap
	// doubles (GOGC), keeping the peak near the live set; it follows a
	// live set larger than it (a million flows).
	defer memlimit.FollowUnlessSet(parquetMemoryLimit, parquetHeadroom)()
	meter := progress.ForTerminal(stderr, fl.quiet, "parquet")
	meter.Start()
	opt.Progress = meter.Parallel(progress.Sizes(captures))
	start := time.Now()
	res, err := parquet.WriteDataset(fl.out, captures, opt)
	meter.Done()
	if err != nil {
		return err
	}
	for _, c := range res.Captures {
		warnAll(stderr, c.Report.Warnings)
	}
	fmt.Fprintln(stderr, res.Summary(time.Since(start)))
	return nil
}
