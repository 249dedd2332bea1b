package parquet

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/sidecar"
)

// Sentinel errors of WriteDataset.
var (
	// ErrExists means the dataset directory exists and Options.Force is
	// not set.
	ErrExists = errors.New("parquet: dataset exists")
	// ErrDuplicateCapture means two captures of a multi-capture dataset
	// have the same file name, so their partitions would collide.
	ErrDuplicateCapture = errors.New("parquet: two captures have the same name")
	// ErrInputInside means a capture lies inside the dataset directory that
	// would be replaced.
	ErrInputInside = errors.New("parquet: an input lies inside the dataset directory")
	// ErrNotDataset means the directory to replace is not a dataset gapan
	// wrote (no manifest), or holds files gapan did not write there:
	// Force replaces only gapan's own datasets.
	ErrNotDataset = errors.New("parquet: not a dataset written by gapan")
)

// ManifestFile is the file every dataset WriteDataset writes holds at its
// top: it marks the directory as gapan's (Force replaces nothing else)
// and says what went into it (docs/parquet.md). Its name starts with "_",
// which Spark, DuckDB's hive reader, pyarrow and polars skip.
const ManifestFile = "_gapan_dataset.json"

// ManifestSchema is the value of the manifest's "schema" field.
const ManifestSchema = "gapan.parquet-dataset/1"

// Manifest is the content of ManifestFile.
type Manifest struct {
	Schema   string            `json:"schema"`
	Tool     string            `json:"tool"`
	Captures []ManifestCapture `json:"captures"`
}

// ManifestCapture describes one capture of a dataset.
type ManifestCapture struct {
	Name      string `json:"name"`
	Partition string `json:"partition,omitempty"`
	Sidecar   string `json:"sidecar,omitempty"`
	Frames    int64  `json:"frames"`
	Lost      uint64 `json:"lost"`
	// LossUnknown is analyze.Result.LossUnknown's "loss unknown after frame N
	// (the sidecar ends there)", empty when the loss is known throughout.
	LossUnknown string `json:"loss_unknown,omitempty"`
}

// PartFile is the name of the one data file of each table (or partition).
const PartFile = "part-0.parquet"

// Options controls WriteDataset.
type Options struct {
	// Context, when cancelled, stops the run: the temporary directory is
	// removed and WriteDataset returns the context's error. nil means
	// context.Background().
	Context context.Context
	// Join applies to every capture; Sidecars[i], when given, is the
	// sidecar of captures[i].
	Join join.Options
	// Engine configures the accounting of every capture (idle timeout,
	// flow cap). Its callbacks and Keep* flags are set by WriteDataset.
	Engine loss.Config
	// Force replaces an existing dataset directory (atomically: the old one
	// is removed only once the new one is in place).
	Force bool
	// Parallel is the number of captures processed at once (0:
	// GOMAXPROCS).
	Parallel int
	// Writer sets row group and batch sizes.
	Writer WriterOptions
	// Partitioned writes hive partitions (capture=NAME) even for a single
	// capture; more than one capture always does.
	Partitioned bool
	// Select chooses the frames of each capture to analyze
	// (docs/report.md, "Selecting frames"); offsets from the first frame
	// count from each capture's own.
	Select selection.Select
	// Progress, if set, is called now and then during each capture's run
	// with the capture's index in the captures given, the bytes read of it
	// so far, its size (-1 if unknown) and its frames so far. Captures run
	// in parallel, so calls come from several goroutines at once
	// (progress.Meter.Parallel takes them).
	Progress func(capture int, bytesRead, size int64, frames uint64)
}

// CaptureResult is what was written for one capture.
type CaptureResult struct {
	// Name is the capture's path as given; Partition its hive partition
	// directory ("capture=NAME"), "" in a single-capture dataset.
	Name      string
	Partition string
	Stats
	// Report is the run's accounting (without the flow list).
	Report *analyze.Result
}

// Result describes a written dataset.
type Result struct {
	Dir      string
	Captures []CaptureResult
}

// Total returns the rows written over all captures.
func (r *Result) Total() Stats {
	var t Stats
	for _, c := range r.Captures {
		t.Frames, t.Gaps, t.Flows, t.Lost = t.Frames+c.Frames, t.Gaps+c.Gaps, t.Flows+c.Flows, t.Lost+c.Lost
	}
	return t
}

// PartitionName returns the hive partition directory of a capture:
// "capture=" and the capture's file name, with the characters that are
// not letters, digits, '.', '_' or '-' escaped as %XX (as Hive and Spark
// escape partition values).
func PartitionName(capture string) string {
	base := filepath.Base(capture)
	var b strings.Builder
	b.WriteString("capture=")
	for i := 0; i < len(base); i++ {
		c := base[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '.' || c == '_' || c == '-' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// WriteDataset writes the frames, gaps and flows tables of the captures
// into the directory dir:
//
//	dir/frames/part-0.parquet, dir/gaps/part-0.parquet, dir/flows/part-0.parquet
//
// for one capture, or with several captures (or Options.Partitioned) one
// hive partition per capture:
//
//	dir/frames/capture=NAME/part-0.parquet, ...
//
// Each capture is read with its own sidecar and accounted on its own (as
// `gapan report CAPTURE` would), in parallel. The dataset is built in a
// temporary directory next to dir (dir.tmp-XXXX) that is renamed to dir
// only when every table of every capture is complete: an interrupted run
// leaves no dir, and an existing dir is replaced only with Options.Force.
func WriteDataset(dir string, captures []string, opt Options) (*Result, error) {
	if len(captures) == 0 {
		return nil, errors.New("parquet: no capture given")
	}
	ctx := opt.Context
	if ctx == nil {
		ctx = context.Background()
	}
	dir = filepath.Clean(dir)
	inputs := (&analyze.Config{Captures: captures, Join: opt.Join}).Inputs()
	if err := checkDest(dir, inputs, opt.Force); err != nil {
		return nil, err
	}
	partitioned := opt.Partitioned || len(captures) > 1
	parts := make([]string, len(captures))
	if partitioned {
		seen := map[string]string{}
		for i, c := range captures {
			parts[i] = PartitionName(c)
			if o, dup := seen[parts[i]]; dup {
				return nil, fmt.Errorf("%w: %s and %s", ErrDuplicateCapture, o, c)
			}
			seen[parts[i]] = c
		}
	}

	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	tmp, err := os.MkdirTemp(parent, base+".tmp-*")
	if err != nil {
		return nil, err
	}
	ok := false
	defer func() {
		if !ok {
			os.RemoveAll(tmp)
		}
	}()
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}

	for _, t := range []string{FramesTable, GapsTable, FlowsTable} {
		if err := os.Mkdir(filepath.Join(tmp, t), 0o755); err != nil {
			return nil, err
		}
	}
	res := &Result{Dir: dir, Captures: make([]CaptureResult, len(captures))}
	errs := make([]error, len(captures))
	n := opt.Parallel
	if n <= 0 {
		n = runtime.GOMAXPROCS(0)
	}
	n = min(n, len(captures))
	work := make(chan int)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if errs[i] = ctx.Err(); errs[i] != nil {
					continue
				}
				res.Captures[i], errs[i] = writeCapture(ctx, tmp, parts[i], captures[i], i, opt)
			}
		}()
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(work)
		for i := range captures {
			select {
			case work <- i:
			case <-ctx.Done():
				return
			}
		}
	}()
	finished := make(chan struct{})
	go func() { <-done; wg.Wait(); close(finished) }()
	select {
	case <-finished:
	case <-ctx.Done():
		// The temporary directory goes now, so that nothing is left even
		// if the process exits before the workers notice (they stop
		// writing at their next batch of frames and cannot recreate it).
		os.RemoveAll(tmp)
		select {
		case <-finished:
		case <-time.After(2 * time.Second):
		}
		return nil, ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	if err := writeManifest(tmp, res); err != nil {
		return nil, err
	}
	if err := syncDir(tmp); err != nil {
		return nil, err
	}
	if err := replaceDir(tmp, dir, inputs, opt.Force); err != nil {
		return nil, err
	}
	ok = true
	return res, nil
}

// checkDest refuses an existing dir without force; with force, one that
// holds an input, one that is not a dataset gapan wrote (no manifest) and
// one holding anything gapan does not write there.
func checkDest(dir string, inputs []string, force bool) error {
	st, err := os.Lstat(dir)
	if errors.Is(err, fs.ErrNotExist) {
		parent := filepath.Dir(dir)
		if pst, err := os.Stat(parent); err != nil || !pst.IsDir() {
			return fmt.Errorf("parquet: the directory %s, where %s would go, does not exist", parent, dir)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if !force {
		return fmt.Errorf("%w: %s (use --force to replace it)", ErrExists, dir)
	}
	if st.Mode()&fs.ModeSymlink != 0 {
		return fmt.Errorf("%w: %s is a symbolic link (not followed: give the dataset's own path)", ErrNotDataset, dir)
	}
	if !st.IsDir() {
		return fmt.Errorf("%w: %s exists and is not a directory", ErrNotDataset, dir)
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return err
	}
	for _, c := range inputs {
		ca, err := filepath.Abs(c)
		if err != nil {
			return err
		}
		if rel, err := filepath.Rel(abs, ca); err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator)) {
			if _, err := os.Lstat(ca); err == nil {
				return fmt.Errorf("%w: %s is in %s", ErrInputInside, c, dir)
			}
		}
	}
	return checkOwnDataset(dir)
}

// checkOwnDataset reports whether dir is a dataset gapan wrote: its
// manifest is there and reads, and it holds nothing else than the
// manifest and the tables' directories, each holding part files or
// capture=NAME partitions of part files.
func checkOwnDataset(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, ManifestFile))
	if err != nil {
		return fmt.Errorf("%w: %s has no %s; --force replaces only a dataset gapan wrote (remove it yourself if it is one)", ErrNotDataset, dir, ManifestFile)
	}
	var m Manifest
	if err := json.Unmarshal(b, &m); err != nil || m.Schema != ManifestSchema {
		return fmt.Errorf("%w: %s: %s is not a gapan manifest", ErrNotDataset, dir, ManifestFile)
	}
	foreign := func(p string) error {
		return fmt.Errorf("%w: %s holds %s, which gapan did not write; --force would delete it", ErrNotDataset, dir, p)
	}
	top, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range top {
		name := e.Name()
		if name == ManifestFile {
			continue
		}
		if !e.IsDir() || (name != FramesTable && name != GapsTable && name != FlowsTable && name != MirrorSessionsTable) {
			return foreign(filepath.Join(dir, name))
		}
		parts, err := os.ReadDir(filepath.Join(dir, name))
		if err != nil {
			return err
		}
		for _, p := range parts {
			path := filepath.Join(dir, name, p.Name())
			switch {
			case p.Type().IsRegular() && p.Name() == PartFile:
			case p.IsDir() && strings.HasPrefix(p.Name(), "capture="):
				files, err := os.ReadDir(path)
				if err != nil {
					return err
				}
				for _, f := range files {
					if !f.Type().IsRegular() || f.Name() != PartFile {
						return foreign(filepath.Join(path, f.Name()))
					}
				}
			default:
				return foreign(path)
			}
		}
	}
	return nil
}

// writeManifest writes the manifest of res into the dataset being built.
func writeManifest(tmp string, res *Result) error {
	m := Manifest{Schema: ManifestSchema, Tool: "gapan parquet", Captures: []ManifestCapture{}}
	for _, c := range res.Captures {
		mc := ManifestCapture{Name: c.Name, Partition: c.Partition, Frames: c.Frames, Lost: c.Lost}
		if r := c.Report; r != nil {
			if len(r.Files) > 0 {
				mc.Sidecar = r.Files[0].Sidecar
			}
			mc.LossUnknown = strings.Join(r.LossUnknown(), "; ")
			if !r.LossRecorded() {
				mc.LossUnknown = LossNotRecorded // its lost 0 is no count
			}
		}
		m.Captures = append(m.Captures, mc)
	}
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(tmp, ManifestFile), append(b, '\n'), 0o644)
}

// replaceDir renames tmp to dir; an existing dir (checked again: it may
// have changed during the run) is first renamed away and removed only once
// tmp is in its place.
func replaceDir(tmp, dir string, inputs []string, force bool) error {
	if _, err := os.Lstat(dir); errors.Is(err, fs.ErrNotExist) {
		return os.Rename(tmp, dir)
	} else if err != nil {
		return err
	}
	if err := checkDest(dir, inputs, force); err != nil {
		return err
	}
	parent, base := filepath.Split(dir)
	if parent == "" {
		parent = "."
	}
	old, err := os.MkdirTemp(parent, base+".old-*")
	if err != nil {
		return err
	}
	if err := os.Remove(old); err != nil {
		return err
	}
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		if rerr := os.Rename(old, dir); rerr != nil {
			return fmt.Errorf("parquet: %w; and restoring the old dataset from %s failed: %v", err, old, rerr)
		}
		return err
	}
	return os.RemoveAll(old)
}

func syncDir(dir string) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		return f.Sync()
	})
}

// ctxCheckEvery is how many frames pass between two looks at the context.
const ctxCheckEvery = 1 << 14

// writeCapture runs the pipeline over one capture into its partition of
// the three tables under root.
func writeCapture(ctx context.Context, root, part, capture string, idx int, opt Options) (CaptureResult, error) {
	cr := CaptureResult{Name: capture, Partition: part}
	files := make([]*os.File, 3)
	defer func() {
		for _, f := range files {
			if f != nil {
				f.Close()
			}
		}
	}()
	for i, t := range []string{FramesTable, GapsTable, FlowsTable} {
		d := filepath.Join(root, t, part)
		if part != "" {
			if err := os.Mkdir(d, 0o755); err != nil {
				return cr, err
			}
		}
		f, err := os.OpenFile(filepath.Join(d, PartFile), os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
		if err != nil {
			return cr, err
		}
		files[i] = f
	}
	jo := opt.Join
	jo.Sidecars = nil
	if idx < len(opt.Join.Sidecars) && opt.Join.Sidecars[idx] != "" {
		jo.Sidecars = []string{opt.Join.Sidecars[idx]}
	}
	wo := opt.Writer
	wo.Sources = []string{expectedSource(capture, jo)}
	wo.GapsFromRun = !opt.Select.IsZero()
	w, err := NewWriter(&writeback{f: files[0]}, files[1], files[2], wo)
	if err != nil {
		return cr, err
	}
	ec := opt.Engine
	ec.KeepFlows, ec.KeepGaps = false, false
	ec.OnFlow = w.Flow
	if wo.GapsFromRun {
		ec.OnGap = w.Gap
	}
	var n uint64
	cfg := analyze.Config{
		Captures:    []string{capture},
		Join:        jo,
		Engine:      ec,
		KernelDrops: -1,
		Select:      opt.Select,
		Frame: func(f *join.Frame, info *loss.FrameInfo) {
			n++
			if n%ctxCheckEvery == 0 && w.err == nil && ctx.Err() != nil {
				w.err = ctx.Err()
			}
			w.Frame(f, info)
		},
	}
	if opt.Progress != nil {
		cfg.Progress = func(_ int, bytesRead, size int64, frames uint64) { opt.Progress(idx, bytesRead, size, frames) }
	}
	r, err := analyze.Run(cfg)
	if err != nil {
		w.Abort()
		return cr, err
	}
	if err := w.Finish(r); err != nil {
		return cr, fmt.Errorf("%s: %w", capture, err)
	}
	if err := writeMirrorSessions(root, part, r.Summary.MirrorSessions, w.flows.meta); err != nil {
		return cr, fmt.Errorf("%s: %w", capture, err)
	}
	for _, f := range files {
		if err := f.Sync(); err != nil {
			return cr, err
		}
	}
	cr.Stats = w.Stats()
	cr.Report = r
	return cr, nil
}

// expectedSource tells, before the run, where the join will take the
// capture's gaps from, so that gap rows can be written as they come: the
// sidecar's stated source when there is a sidecar, else pcapng
// epb_dropcount. Writer.Finish checks the guess against the join; ""
// (gap rows held until the end) when the sidecar cannot be read here.
func expectedSource(capture string, jo join.Options) string {
	if jo.NoSidecar {
		return sidecar.SourcePcapng.String()
	}
	path := sidecar.PathFor(capture)
	if len(jo.Sidecars) > 0 && jo.Sidecars[0] != "" {
		path = jo.Sidecars[0]
	}
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) && path == sidecar.PathFor(capture) {
		return sidecar.SourcePcapng.String()
	}
	if err != nil {
		return ""
	}
	defer f.Close()
	sc, err := sidecar.NewAutoReader(f, path)
	if err != nil {
		return ""
	}
	return sc.Header().Source.String()
}
