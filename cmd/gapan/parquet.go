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
	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/parquet"
	"github.com/spf13/cobra"
)

// parquetFlags are the flags of gapan parquet.
type parquetFlags struct {
	runFlags
	parallel, rowGroup int
	partitioned        bool
}

func newParquetCmd() *cobra.Command {
	var fl parquetFlags
	c := &cobra.Command{
		Use:   "parquet CAPTURE... -o DIR [FILTER WORDS...]",
		Short: "Write frames, gaps and flows as a Parquet dataset for pandas, polars, DuckDB and Spark",
		Long: `Write the analysis of a capture as a Parquet dataset of three tables
(docs/parquet.md): frames (one row per frame with the frames lost before it,
its flow and header fields), gaps (one row per gap, plus a 'tail' row per
interface for loss after the last frame) and flows (every per-flow figure of
gapan report, under the names of its JSON). The figures are the report's.

  DIR/frames/part-0.parquet  DIR/gaps/part-0.parquet  DIR/flows/part-0.parquet

Several captures (or a directory of them: a rotated set) are processed in
parallel, each with its own sidecar and accounting, into one hive-partitioned
dataset that DuckDB, polars and Spark read as one table; the capture column
comes from the partition and frame numbers stay per capture:

  DIR/frames/capture=cap_001.pcap/part-0.parquet ...

--filter EXPR (or words after the captures), --start, --end and --frames
choose the frames of each capture: the frames table holds the selected
frames, the gaps table every gap of the window (docs/report.md, "Selecting
frames").

DIR is written under a temporary name and renamed into place when complete;
an existing DIR is replaced only with --force.`,
		Example: `  gapan parquet testdata/corpus/tls-subjectaltname.pcap -o /tmp/tls.parquet
  gapan simulate testdata/corpus/ndpi-netflix.pcap -o /tmp/sim.pcap --loss-model uniform:0.02 --seed 1 --force
  gapan parquet /tmp/sim.pcap -o /tmp/sim.parquet --force
  duckdb -c "SELECT sum(lost) FROM '/tmp/sim.parquet/gaps/*.parquet'"`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			a, err := fl.sel.split(cmd, a)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runParquet(ctx, cmd.ErrOrStderr(), a, fl)
		},
	}
	f := c.Flags()
	f.StringVarP(&fl.out, "output", "o", "", "dataset `DIR` to write")
	fl.add(f, "dataset directory")
	f.IntVarP(&fl.parallel, "jobs", "j", 0, "captures processed at once (0: one per CPU)")
	f.IntVar(&fl.rowGroup, "row-group-rows", parquet.DefaultRowGroupRows, "rows per Parquet row group")
	f.BoolVar(&fl.partitioned, "partitioned", false, "write capture=NAME partitions even for a single capture")
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

func runParquet(ctx context.Context, stderr io.Writer, argv []string, fl parquetFlags) error {
	captures, err := expandCaptures(stderr, argv)
	switch {
	case err != nil:
		return err
	case fl.out == "" || fl.out == "-":
		return usagef("parquet needs -o DIR (a dataset is a directory, not a stream)")
	case fl.parallel < 0 || fl.rowGroup <= 0:
		return usagef("--jobs takes a number of 0 or more, --row-group-rows 1 or more")
	}
	cfg, err := fl.config(captures)
	if err != nil {
		return err
	}
	opt := parquet.Options{Context: ctx, Join: cfg.Join, Engine: cfg.Engine, Force: fl.force, Parallel: fl.parallel,
		Writer: parquet.WriterOptions{RowGroupRows: fl.rowGroup}, Partitioned: fl.partitioned, Select: cfg.Select}
	// The encoders' buffers come and go a row group at a time: a soft
	// memory limit makes the collector return them before the heap
	// doubles (GOGC), keeping the peak near the live set; it follows a
	// live set larger than it (a million flows). GOMEMLIMIT, when set,
	// wins.
	if os.Getenv("GOMEMLIMIT") == "" {
		defer memlimit.Follow(parquetMemoryLimit, parquetHeadroom, 100*time.Millisecond)()
	}
	meter := progressMeter(stderr, fl.quiet, "parquet")
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
	t, el := res.Total(), time.Since(start)
	fmt.Fprintf(stderr, "%s: %s, %s, %s (%s), %s in %.2fs (%.0f frames/s)\n", res.Dir, plural.Count(len(res.Captures), "capture"), plural.Count(t.Frames, "frame"),
		plural.Count(t.Gaps, "gap row"), plural.CountOf(t.Lost, "frame lost", "frames lost"), plural.Count(t.Flows, "flow"), el.Seconds(), float64(t.Frames)/max(el.Seconds(), 1e-9))
	return nil
}
