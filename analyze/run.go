package analyze

import (
	"errors"
	"fmt"
	"io"
	"runtime"

	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/selection"
)

// Config describes one run.
type Config struct {
	// Captures are read in order as one capture (a rotated set); frame
	// numbers stay per file.
	Captures []string
	// Join says where the sidecars are and how strict to be.
	Join join.Options
	// Engine configures the accounting (flow table limits, callbacks).
	Engine loss.Config
	// KernelDrops is a capture-wide loss total known from elsewhere
	// (tcpdump's "N packets dropped by kernel"); -1 when not given.
	KernelDrops int64
	// Progress, if set, is called every so often with the bytes read of
	// the current file, its size (-1 if unknown), and frames so far.
	Progress func(file int, bytesRead, size int64, frames uint64)
	// Frame, if set, is called for every frame after the accounting saw it
	// (the Parquet writer uses it). On the pipelined path (Workers) f.Data
	// is nil: the frame's bytes are gone by then; info.Packet holds what
	// was decoded from them.
	Frame func(f *join.Frame, info *loss.FrameInfo)
	// Check, if set, is called on the accounting goroutine every so often
	// (with Progress); an error stops the run with it. The gapan command
	// checks its spills, so that a full disk stops the run at once
	// instead of after the whole capture.
	Check func() error
	// Workers is how many goroutines the run keeps busy. 1 reads, decodes
	// and accounts every frame on the calling goroutine: the plain
	// reference path. 2 or more pipelines the run: one goroutine reads,
	// joins and decodes frames in batches while the calling goroutine
	// accounts them, in the same order, so every figure is identical. 0
	// means 2 when GOMAXPROCS is at least 2, else 1.
	Workers int
	// Select chooses the frames to analyze: a capture filter, a time
	// window, a frame range (docs/report.md, "Selecting frames"). Frames
	// outside the window are read but not counted; the capture totals and
	// gaps cover the window; the accounting of flows (and Frame) gets only
	// the frames that also pass the filter. The zero Select takes every
	// frame.
	Select selection.Select
}

// Inputs returns the files the run reads: the captures and the sidecar
// of each (the one given in Join.Sidecars, else every name the join
// looks for, even with Join.NoSidecar: join.Inputs), which an output
// must never replace.
func (c *Config) Inputs() []string { return join.Inputs(c.Captures, c.Join) }

// ErrConfig means a Config that does not describe a run; the errors of
// Validate wrap it (or join.ErrOptions).
var ErrConfig = errors.New("analyze: invalid configuration")

// Validate checks c before a run: the sidecars against the captures
// (join.Options.Validate), the flow table's limits (Engine.MaxFlows and
// Engine.IdleTimeout, 0 or more) and KernelDrops (0 or more, -1 for none).
// Its errors are worded as the gapan command's flags name the fields.
func (c *Config) Validate() error {
	if err := c.Join.Validate(len(c.Captures)); err != nil {
		return err
	}
	switch {
	case c.Engine.MaxFlows < 0:
		return configError("--max-flows takes a number of 0 or more")
	case c.Engine.IdleTimeout < 0:
		return configError("--idle-timeout takes a duration of 0 or more")
	case c.KernelDrops < -1:
		return configError("--kernel-drops takes a number of 0 or more")
	}
	return nil
}

// configError is an ErrConfig worded for the user (no "analyze:" prefix).
type configError string

func (e configError) Error() string { return string(e) }
func (e configError) Unwrap() error { return ErrConfig }

// Result is the result of a run: the accounting summary plus what the join
// learned about the files.
type Result struct {
	Summary  *loss.Summary
	Files    []join.FileInfo
	Warnings []join.Warning
	// Stopped is the error at which a damaged capture stopped being read
	// when Join.KeepGoing is set; nil otherwise.
	Stopped error
	// KernelDrops echoes Config.KernelDrops.
	KernelDrops int64
	// Selected is the number of frames the selection (Config.Select) gave
	// to the accounting; with the zero Select, every frame read.
	Selected uint64
	// Select echoes Config.Select.
	Select selection.Select
	// Live holds the flows live at the end of the run, whose records are
	// built as they are taken, with Engine.DeferLive; nil otherwise, and
	// when a selection is made (Config.Select: OnFlow then gets every flow,
	// for their frame indexes to be translated).
	Live *loss.LiveFlows
}

// progressEvery is how many frames pass between two Progress calls.
const progressEvery = 1 << 16

// Run reads the captures with their sidecars and does the accounting.
func Run(cfg Config) (*Result, error) {
	s, err := join.Open(cfg.Captures, cfg.Join)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	sel, err := newSelector(&cfg)
	if err != nil {
		return nil, err
	}
	e := loss.NewEngine(cfg.Engine)
	workers := cfg.Workers
	if workers <= 0 {
		workers = min(runtime.GOMAXPROCS(0), 2)
	}
	if workers > 1 {
		err = runPipelined(cfg, s, e, sel)
	} else {
		err = runSequential(cfg, s, e, sel)
	}
	if err != nil {
		return nil, err
	}
	files := s.Files()
	if sel != nil {
		files = sel.files(files)
	}
	r := &Result{Summary: e.Finish(files), Files: files, Warnings: s.Warnings(), KernelDrops: cfg.KernelDrops, Select: cfg.Select, Live: e.Live()}
	if sel != nil {
		r.Summary.Totals, r.Summary.Gaps = sel.finish(files)
		r.Selected = sel.selected
	} else {
		r.Selected = r.Summary.FramesCaptured
	}
	for _, w := range r.Warnings {
		var fe *reader.FormatError
		if errors.As(w.Err, &fe) {
			r.Stopped = w
		}
	}
	return r, nil
}

// runSequential is the reference path: read, join, decode and account
// each frame in turn.
func runSequential(cfg Config, s *join.Stream, e *loss.Engine, sel *selector) error {
	var n uint64
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		keep := true
		if sel != nil {
			if keep, err = sel.keep(f); err != nil {
				return err
			}
			sel.flush(sel.pending)
			sel.pending = sel.pending[:0]
			if keep {
				sel.taken.add(sel.read)
			}
		}
		if keep {
			info := e.Add(f)
			if cfg.Frame != nil {
				if sel != nil {
					ci := *info
					ci.Global = sel.read
					info = &ci
				}
				cfg.Frame(f, info)
			}
		}
		n++
		if n%progressEvery == 0 {
			if cfg.Progress != nil {
				fi := &s.Files()[s.Current()]
				cfg.Progress(s.Current(), s.BytesRead(), fi.Size, n)
			}
			if err := check(cfg); err != nil {
				return err
			}
		}
	}
	return nil
}

// check runs cfg.Check, if any.
func check(cfg Config) error {
	if cfg.Check == nil {
		return nil
	}
	return cfg.Check()
}

// batchLen is how many frames the pipeline hands over at once: enough to
// make the hand-over cheap (each time one goroutine waits for the other,
// its thread goes to sleep and is woken, in the kernel), few enough that
// a batch (550 KB) stays in cache. 1,024 frames in 4 batches against 256
// in 8: 6% less CPU time on the uniform bench capture, 1.1 MB more
// memory (docs/performance.md, "Round 3").
const batchLen = 1024

// skipMax is how many frames left out by the selection end a batch early.
const skipMax = 16 * batchLen

// batchCount is how many batches circulate between the two goroutines.
const batchCount = 4

// batch is a loss.Batch of frames in stream order; err ends the stream
// after them (io.EOF at its end).
type batch struct {
	*loss.Batch
	err error
	// gaps are the selection's gaps found while filling the batch, for
	// the Engine's OnGap (selector).
	gaps []loss.GapRef
	// taken holds the index in the set of each of the batch's frames, the
	// first of which is the Engine's frame first, with a selection.
	taken []uint64
	first uint64
	// Where the reading stood after the batch, for Progress.
	file      int
	bytesRead int64
	size      int64
}

// runPipelined reads, joins and decodes frames on a second goroutine
// while this one accounts them in the same order. Batches go round
// between the two through a pair of channels, so nothing is allocated
// per frame.
func runPipelined(cfg Config, s *join.Stream, e *loss.Engine, sel *selector) error {
	full := make(chan *batch, batchCount)
	free := make(chan *batch, batchCount)
	for range batchCount {
		free <- &batch{Batch: e.NewBatch(batchLen)}
	}
	// The reading goroutine is stopped and waited for on every return:
	// one that stops early (Check) must not leave it reading the stream
	// that Run then closes.
	stop, done := make(chan struct{}), make(chan struct{})
	defer func() {
		close(stop)
		<-done
	}()
	go func() {
		defer close(done)
		produce(s, full, free, stop, sel)
	}()
	var n uint64
	for {
		b := <-full
		if sel != nil {
			for _, i := range b.taken {
				sel.taken.add(i)
			}
		}
		frame := cfg.Frame
		if sel != nil && frame != nil {
			// Frame numbers over the whole set, not over the selection.
			frame = func(f *join.Frame, info *loss.FrameInfo) {
				ci := *info
				ci.Global = b.taken[info.Global-b.first]
				cfg.Frame(f, &ci)
			}
		}
		e.AddBatch(b.Batch, frame)
		before := n
		n += uint64(b.Len())
		if n/progressEvery != before/progressEvery {
			if cfg.Progress != nil {
				cfg.Progress(b.file, b.bytesRead, b.size, n)
			}
			if err := check(cfg); err != nil {
				free <- b
				return err
			}
		}
		if sel != nil {
			sel.flush(b.gaps)
		}
		err := b.err
		free <- b
		switch {
		case err == io.EOF:
			return nil
		case err != nil:
			return err
		}
	}
}

// produce fills batches from the stream until it ends or fails.
// With a selection, frames it does not keep are left out; a batch is
// handed over early after many of them, so that progress goes on.
func produce(s *join.Stream, full chan<- *batch, free <-chan *batch, stop <-chan struct{}, sel *selector) {
	dec := decode.NewDecoder()
	var added uint64 // frames added to batches
	for {
		var b *batch
		select {
		case b = <-free:
		case <-stop:
			return
		}
		b.Reset()
		b.err = nil
		b.taken = b.taken[:0]
		b.first = added + 1
		for skipped := 0; !b.Full() && skipped < skipMax; {
			f, err := s.Next()
			if err != nil {
				b.err = err
				break
			}
			if sel != nil {
				keep, err := sel.keep(f)
				if err != nil {
					b.err = err
					break
				}
				if !keep {
					skipped++
					continue
				}
				b.taken = append(b.taken, sel.read)
			}
			b.Add(f, dec)
			added++
		}
		if sel != nil {
			b.gaps = append(b.gaps[:0], sel.pending...)
			sel.pending = sel.pending[:0]
		}
		if cur := s.Current(); cur >= 0 && cur < len(s.Files()) {
			b.file, b.bytesRead, b.size = cur, s.BytesRead(), s.Files()[cur].Size
		}
		select {
		case full <- b:
		case <-stop:
			return
		}
		if b.err != nil {
			return
		}
	}
}

// LossRecorded reports whether any capture of r had a record of where
// frames were lost: a sidecar, or pcapng epb_dropcount options. Without
// one, the gap figures (gap events, frames lost, tail gap, loss ratio,
// consistency) are unknown, not 0, and every output says so.
func (r *Result) LossRecorded() bool {
	for i := range r.Files {
		if r.Files[i].Source != join.SourceNone {
			return true
		}
	}
	return false
}

// PositionUnknown returns the loss known only as a capture-wide total
// (pcapng isb_ifdrop, or KernelDrops), beyond what the gaps locate; 0 when
// every known loss has a position.
func (r *Result) PositionUnknown() uint64 {
	var total uint64
	for _, fi := range r.Files {
		for _, st := range fi.Stats {
			if st.HasDropped {
				total += st.Dropped
			}
			if st.HasOSDropped {
				total += st.OSDropped
			}
		}
	}
	if r.KernelDrops > 0 && uint64(r.KernelDrops) > total {
		total = uint64(r.KernelDrops)
	}
	if total > r.Summary.FramesLost {
		return total - r.Summary.FramesLost
	}
	return 0
}

// LossUnknown returns, for each capture whose sidecar ends before the
// capture does (no trailer: the recorder was killed; empty; or damaged and
// read up to the damage), "loss unknown after frame N (the sidecar ends
// there)", prefixed by the capture's name in a set of several. Every
// output carries these words: the loss after frame N is unknown, not 0.
func (r *Result) LossUnknown() []string {
	var out []string
	for i := range r.Files {
		fi := &r.Files[i]
		if !fi.SidecarIncomplete {
			continue
		}
		s := fmt.Sprintf("loss unknown after frame %d (the sidecar ends there)", fi.LossUnknownAfter)
		if len(r.Files) > 1 {
			s = fi.Name + ": " + s
		}
		out = append(out, s)
	}
	return out
}
