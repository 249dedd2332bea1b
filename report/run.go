package report

import (
	"errors"
	"io"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
)

// Config describes one report run.
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
	// (the Parquet writer uses it).
	Frame func(f *join.Frame, info *loss.FrameInfo)
}

// Report is the result of a run: the accounting summary plus what the join
// learned about the files.
type Report struct {
	Summary  *loss.Summary
	Files    []join.FileInfo
	Warnings []join.Warning
	// Stopped is the error at which a damaged capture stopped being read
	// when Join.KeepGoing is set; nil otherwise.
	Stopped error
	// KernelDrops echoes Config.KernelDrops.
	KernelDrops int64
}

// progressEvery is how many frames pass between two Progress calls.
const progressEvery = 1 << 16

// Run reads the captures with their sidecars and does the accounting.
func Run(cfg Config) (*Report, error) {
	s, err := join.Open(cfg.Captures, cfg.Join)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	e := loss.NewEngine(cfg.Engine)
	var n uint64
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		info := e.Add(f)
		if cfg.Frame != nil {
			cfg.Frame(f, info)
		}
		n++
		if cfg.Progress != nil && n%progressEvery == 0 {
			fi := &s.Files()[s.Current()]
			cfg.Progress(s.Current(), s.BytesRead(), fi.Size, n)
		}
	}
	r := &Report{Summary: e.Finish(s.Files()), Files: s.Files(), Warnings: s.Warnings(), KernelDrops: cfg.KernelDrops}
	for _, w := range r.Warnings {
		var fe *reader.FormatError
		if errors.As(w.Err, &fe) {
			r.Stopped = w
		}
	}
	return r, nil
}

// PositionUnknown returns the loss known only as a capture-wide total
// (pcapng isb_ifdrop, or KernelDrops), beyond what the gaps locate; 0 when
// every known loss has a position.
func (r *Report) PositionUnknown() uint64 {
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
