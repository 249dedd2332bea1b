package main

import (
	"context"
	"fmt"
	"github.com/gapan/gapan/internal/plural"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/gapan/gapan/internal/memlimit"
	"github.com/gapan/gapan/internal/progress"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/parquet"
	"github.com/spf13/cobra"
)

// parquetFlags are the flags of gapan parquet.
type parquetFlags struct {
	out           string
	force         bool
	sidecars      []string
	noSidecar     bool
	allowMismatch bool
	keepGoing     bool
	strict        bool
	idleTimeout   time.Duration
	maxFlows      int
	parallel      int
	rowGroup      int
	partitioned   bool
	quiet         bool
}

func newParquetCmd() *cobra.Command {
	var fl parquetFlags
	c := &cobra.Command{
		Use:   "parquet CAPTURE... -o DIR",
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

DIR is written under a temporary name and renamed into place when complete;
an existing DIR is replaced only with --force.`,
		Example: `  gapan parquet testdata/corpus/tls-subjectaltname.pcap -o /tmp/tls.parquet
  gapan simulate testdata/corpus/ndpi-netflix.pcap -o /tmp/sim.pcap --loss-model uniform:0.02 --seed 1 --force
  gapan parquet /tmp/sim.pcap -o /tmp/sim.parquet --force
  duckdb -c "SELECT sum(lost) FROM '/tmp/sim.parquet/gaps/*.parquet'"`,
		Args: args(cobra.MinimumNArgs(1)),
		RunE: func(cmd *cobra.Command, a []string) error {
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return runParquet(ctx, cmd.ErrOrStderr(), a, fl)
		},
	}
	f := c.Flags()
	f.StringVarP(&fl.out, "output", "o", "", "dataset `DIR` to write")
	f.BoolVar(&fl.force, "force", false, "replace an existing dataset directory")
	f.StringArrayVar(&fl.sidecars, "sidecar", nil, "sidecar `FILE` of the corresponding capture (repeat, in order; default CAPTURE.gaps)")
	f.BoolVar(&fl.noSidecar, "no-sidecar", false, "ignore sidecar files; take gaps from pcapng epb_dropcount only")
	f.BoolVar(&fl.allowMismatch, "allow-mismatch", false, "use a sidecar, with a warning, even when it does not belong to its capture")
	f.BoolVar(&fl.keepGoing, "keep-going", false, "on damaged input, write what was read up to the damage")
	f.BoolVar(&fl.strict, "strict", false, "make capture anomalies (snap length 0, captured length above the snap or original length, sub-second field of a second or more) errors instead of warnings")
	f.DurationVar(&fl.idleTimeout, "idle-timeout", loss.DefaultIdleTimeout, "end flows idle for this long (capture time; 0: never)")
	f.IntVar(&fl.maxFlows, "max-flows", 0, "cap the flows tracked at once (0: the default cap)")
	f.IntVarP(&fl.parallel, "jobs", "j", 0, "captures processed at once (0: one per CPU)")
	f.IntVar(&fl.rowGroup, "row-group-rows", parquet.DefaultRowGroupRows, "rows per Parquet row group")
	f.BoolVar(&fl.partitioned, "partitioned", false, "write capture=NAME partitions even for a single capture")
	f.BoolVarP(&fl.quiet, "quiet", "q", false, "no progress meter on standard error")
	return c
}

// parquetMemoryLimit is gapan parquet's soft memory limit (runtime/debug)
// while the live heap is below parquetMemoryLimit/parquetHeadroom; above,
// the limit is parquetHeadroom times the live heap.
const (
	parquetMemoryLimit = 384 << 20
	parquetHeadroom    = 1.5
)

func runParquet(ctx context.Context, stderr io.Writer, argv []string, fl parquetFlags) error {
	if fl.out == "" || fl.out == "-" {
		return usagef("parquet needs -o DIR (a dataset is a directory, not a stream)")
	}
	if fl.noSidecar && len(fl.sidecars) > 0 {
		return usagef("--sidecar and --no-sidecar exclude each other")
	}
	if fl.maxFlows < 0 || fl.parallel < 0 || fl.rowGroup <= 0 {
		return usagef("--max-flows and --jobs take a number of 0 or more, --row-group-rows 1 or more")
	}
	if fl.idleTimeout < 0 {
		return usagef("--idle-timeout takes a duration of 0 or more")
	}
	captures, err := expandCaptures(stderr, argv)
	if err != nil {
		return err
	}
	if err := checkSidecarFlags(len(captures), fl.sidecars, fl.noSidecar); err != nil {
		return err
	}
	opt := parquet.Options{
		Context:     ctx,
		Join:        join.Options{Sidecars: fl.sidecars, NoSidecar: fl.noSidecar, AllowMismatch: fl.allowMismatch, KeepGoing: fl.keepGoing, Strict: fl.strict},
		Engine:      loss.Config{IdleTimeout: fl.idleTimeout, MaxFlows: fl.maxFlows},
		Force:       fl.force,
		Parallel:    fl.parallel,
		Writer:      parquet.WriterOptions{RowGroupRows: fl.rowGroup},
		Partitioned: fl.partitioned,
	}
	if fl.idleTimeout == 0 {
		opt.Engine.IdleTimeout = -1 // loss.Config: negative disables it
	}
	// The encoders' buffers come and go a row group at a time: a soft
	// memory limit makes the collector return them before the heap
	// doubles (GOGC), keeping the peak near the live set. The limit
	// follows a live set larger than it (a million flows), which it would
	// otherwise make the collector chase without end. GOMEMLIMIT, when
	// set, wins.
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
	var frames, gaps, flows int64
	var lost uint64
	for _, c := range res.Captures {
		frames += c.Frames
		gaps += c.Gaps
		flows += c.Flows
		lost += c.Lost
		for _, w := range c.Report.Warnings {
			fmt.Fprintf(stderr, "gapan: warning: %v\n", w)
		}
	}
	el := time.Since(start)
	fmt.Fprintf(stderr, "%s: %s, %s, %s (%s), %s in %.2fs (%.0f frames/s)\n", res.Dir, plural.Count(len(res.Captures), "capture"), plural.Count(frames, "frame"),
		plural.Count(gaps, "gap row"), plural.CountOf(lost, "frame lost", "frames lost"), plural.Count(flows, "flow"), el.Seconds(), float64(frames)/max(el.Seconds(), 1e-9))
	return nil
}
