package annotate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/selection"
	"github.com/gapan/gapan/sidecar"
)

// Config describes one annotation.
type Config struct {
	// Inputs are the captures, read in order as one (a rotated set). "-"
	// is standard input.
	Inputs []string
	// Sidecars overrides the sidecar of each input, in order (see
	// join.Options.Sidecars); by default INPUT.gaps is used when present,
	// and pcapng epb_dropcount options otherwise.
	Sidecars []string
	// NoSidecar ignores sidecar files: only the input's own epb_dropcount
	// options give gaps.
	NoSidecar bool
	// Output is the pcapng file Run writes, atomically. Write ignores it.
	Output string
	// Force replaces an existing Output (never an input).
	Force bool
	// AllowMismatch continues, with a warning, when a sidecar does not
	// belong to its capture (join.Options.AllowMismatch).
	AllowMismatch bool
	// KeepGoing stops reading a damaged capture or sidecar at the damage,
	// with a warning, instead of failing (join.Options.KeepGoing).
	KeepGoing bool
	// Strict makes capture anomalies errors (join.Options.Strict).
	Strict bool
	// NoComments leaves out the per-frame comments.
	NoComments bool
	// NoFates writes only the gaps: no fates of the flows' missing data
	// (see Write), and the input is read once instead of twice.
	NoFates bool
	// Select chooses what to annotate (docs/report.md, "Selecting
	// frames"): the frames outside its window are not written (a gap
	// carried by the window's first frame is written on it, whole; a tail
	// only when the window reaches the end of the input), and its filter
	// chooses the frames whose flows' fates are told; every frame of the
	// window is written, with its drop count, whatever the filter.
	Select selection.Select
	// Progress, if set, is called every 65,536 frames with the input being
	// read, the bytes of it read so far, its size (-1 if unknown) and the
	// frames so far.
	Progress func(file int, bytesRead, size int64, frames uint64)
}

// Stats says what an annotation wrote.
type Stats struct {
	Frames     uint64 // frames written
	GapFrames  uint64 // frames written with epb_dropcount > 0
	Lost       uint64 // sum of the epb_dropcount values written
	Tail       uint64 // loss after the last frame of each interface (in isb_ifdrop only)
	Interfaces int    // interfaces written
	// FixedLengths counts frames whose original length was raised to their
	// captured length (see Writer.WriteFrame).
	FixedLengths uint64
	// Sources holds where each input's gaps came from.
	Sources []join.Source
	// Warnings are the problems that did not stop the join.
	Warnings []join.Warning
	// Partial is set when Write failed after the pcapng began: Frames
	// whole frames were written to w (flushed), without the statistics
	// blocks that Close writes.
	Partial bool
}

// Run annotates cfg.Inputs into the pcapng file cfg.Output, which appears
// only when everything went well.
func Run(cfg Config) (Stats, error) {
	if cfg.Output == "" {
		return Stats{}, errors.New("annotate: no output file given")
	}
	inputs := join.Inputs(cfg.Inputs, join.Options{Sidecars: cfg.Sidecars})
	out, err := atomicfile.Create(cfg.Output, atomicfile.Options{Overwrite: cfg.Force, Inputs: inputs})
	if err != nil {
		return Stats{}, err
	}
	defer out.Abort()
	st, err := Write(out, cfg)
	if err != nil {
		return st, err
	}
	return st, out.Commit()
}

// halfProgress maps the progress of one of the two passes of a fates run
// onto half of each file: the first pass reads it up to its middle, the
// writing pass (second) from there, so that a meter moves on once over
// the whole run. A file of unknown size reports its bytes as they are.
func halfProgress(p func(file int, bytesRead, size int64, frames uint64), second bool) func(file int, bytesRead, size int64, frames uint64) {
	if p == nil {
		return nil
	}
	return func(file int, bytesRead, size int64, frames uint64) {
		if size > 0 {
			bytesRead /= 2
			if second {
				bytesRead += size / 2
			}
		}
		p(file, bytesRead, size, frames)
	}
}

// spoolStdin copies standard input, if it is among inputs ("-"), to a
// temporary file, so that it can be read twice, and returns inputs with
// its name in place of "-" and a function that removes the file. The file
// sits alone in a new directory: no sidecar is found beside it, as none is
// beside standard input.
func spoolStdin(inputs []string) ([]string, func(), error) {
	i := slices.Index(inputs, "-")
	if i < 0 {
		return inputs, func() {}, nil
	}
	dir, err := os.MkdirTemp("", "gapan-stdin-*")
	if err != nil {
		return nil, func() {}, err
	}
	cleanup := func() { os.RemoveAll(dir) }
	path := filepath.Join(dir, "stdin")
	f, err := os.Create(path)
	if err != nil {
		return nil, cleanup, err
	}
	_, err = io.Copy(f, os.Stdin)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, cleanup, fmt.Errorf("annotate: copying standard input: %w", err)
	}
	out := slices.Clone(inputs)
	for j := range out {
		if out[j] == "-" {
			out[j] = path // the same stream given twice is read once
		}
	}
	return out, cleanup, nil
}

// sidecarPath is the sidecar the join reads for cfg.Inputs[i]
// (join.SidecarPath).
func sidecarPath(cfg Config, i int) string {
	p, _ := join.SidecarPath(cfg.Inputs, join.Options{Sidecars: cfg.Sidecars}, i)
	return p
}

// Write annotates cfg.Inputs as pcapng to w (cfg.Output and cfg.Force are
// not used). On error, what was written to w is incomplete.
//
// Unless cfg.NoFates is set, every frame that revealed missing data of its
// flow (the frame after a hole in a TCP sequence, an acknowledgement of
// data the capture never saw, the RTP packet after missing ones) tells
// that data's fate (loss.Fate) in a comment and in the machine-readable
// RecordPrefix comment, and so does every retransmission. A fate is final
// only later in the stream, so Write reads the input twice: a first pass
// runs the accounting and keeps the fates by frame (in memory, or beyond
// fateMemRecords sorted in a temporary file), the second writes the
// frames with them. Standard input is first copied to a temporary file.
func Write(w io.Writer, cfg Config) (Stats, error) {
	var st Stats
	jopt := join.Options{
		Sidecars:      cfg.Sidecars,
		NoSidecar:     cfg.NoSidecar,
		AllowMismatch: cfg.AllowMismatch,
		KeepGoing:     cfg.KeepGoing,
		Strict:        cfg.Strict,
	}
	run := cfg // what the writing pass reads: standard input spooled
	var fr *fateReader
	var firstErr error // the fates pass's
	if !cfg.NoFates {
		inputs, cleanup, err := spoolStdin(cfg.Inputs)
		defer cleanup()
		if err != nil {
			return st, err
		}
		run.Inputs = inputs
		log := &fateLog{limit: fateMemRecords}
		defer log.close()
		// A capture that fails part way (a damaged record) fails the
		// same way in the writing pass, which then writes the frames
		// before the damage with the fates found up to there, and says
		// how many it wrote; firstErr is returned if that pass does not
		// meet it. The run has the report's idle timeout, so that a fate
		// names the flow id the report gives its flow.
		_, firstErr = analyze.Run(analyze.Config{Captures: inputs, Join: jopt, KernelDrops: -1,
			Engine:   loss.Config{IdleTimeout: loss.DefaultIdleTimeout, OnFate: log.add},
			Progress: halfProgress(cfg.Progress, false), Select: cfg.Select})
		if fr, err = log.reader(); err != nil {
			return st, fmt.Errorf("annotate: fates: %w", err)
		}
	}
	s, err := join.Open(run.Inputs, jopt)
	if err != nil {
		return st, err
	}
	defer s.Close()
	a := &annotator{
		cfg:      run,
		s:        s,
		w:        NewWriter(w, Options{Comment: provenance(cfg), NoComments: cfg.NoComments, Records: !cfg.NoFates}),
		cur:      -1,
		progress: cfg.Progress,
		fates:    fr,
	}
	if fr != nil {
		a.progress = halfProgress(cfg.Progress, true)
	}
	if cfg.Select.HasWindow() {
		a.win = cfg.Select.NewMatcher(context.Background())
	}
	defer a.closeScout()
	if err := a.run(); err != nil {
		// What is written stays written (a pipe): the frames buffered so
		// far go out whole, so that st.Frames is exactly what w holds.
		if ferr := a.w.Flush(); ferr == nil {
			st.Frames, st.Partial = a.w.Frames(), true
		}
		st.Warnings = s.Warnings()
		return st, err
	}
	st = Stats{
		Frames:       a.w.Frames(),
		GapFrames:    a.w.GapFrames(),
		Lost:         a.w.Lost(),
		Interfaces:   a.w.Interfaces(),
		FixedLengths: a.w.FixedLengths(),
		Warnings:     s.Warnings(),
	}
	for id := 0; id < a.w.Interfaces(); id++ {
		if d, ok := a.w.Dropped(id); ok {
			st.Tail += d - a.w.ifaces[id].lost
		}
	}
	for _, fi := range s.Files() {
		st.Sources = append(st.Sources, fi.Source)
	}
	return st, firstErr
}

// annotator maps each input's interfaces to output interfaces and feeds
// the Writer.
type annotator struct {
	cfg Config
	s   *join.Stream
	w   *Writer

	cur  int   // input being read
	out  []int // output interface of each interface of the current input
	prev []int // same, for the previous input
	// prevIfaces are the previous input's interfaces: an interface of the
	// next input at the same index and with the same description continues
	// it (a rotated capture), so its loss carries over.
	prevIfaces []reader.Interface
	curIfaces  []reader.Interface

	scout *reader.Reader // a second reader of the current input, for its interfaces

	progress func(file int, bytesRead, size int64, frames uint64)
	frames   uint64

	// win, when the selection has a window, tells the frames to write;
	// read counts the frames read (the index of fates); tailIn says, per
	// input, whether its last frame was in the window.
	win    *selection.Matcher
	read   uint64
	tailIn []bool

	fates  *fateReader // nil: no fates
	groups []loss.Fate
	recBuf []byte
}

// noteFates gives the Writer the fates told on the next frame.
func (a *annotator) noteFates() error {
	fs, err := a.fates.take(a.read)
	if err != nil || len(fs) == 0 {
		return err
	}
	a.groups = groupFates(a.groups, fs)
	if !a.cfg.NoComments {
		for _, g := range a.groups {
			a.w.NoteNext(FateComment(g))
		}
	}
	a.recBuf = fateRecord(a.recBuf[:0], a.groups)
	a.w.RecordNext(string(a.recBuf))
	return nil
}

// progressEvery is how many frames pass between two Progress calls.
const progressEvery = 1 << 16

func (a *annotator) run() error {
	for {
		f, err := a.s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		if f.File != a.cur {
			if err := a.switchFile(f.File); err != nil {
				return err
			}
		}
		a.read++
		if a.win != nil {
			in := a.win.InWindow(f.Frame)
			for len(a.tailIn) <= f.File {
				a.tailIn = append(a.tailIn, false)
			}
			if a.tailIn[f.File] = in; !in {
				continue
			}
		}
		id, err := a.outInterface(f.InterfaceID, f.Frame)
		if err != nil {
			return err
		}
		fi := &a.s.Files()[a.cur]
		counted := fi.Source != join.SourceNone
		if fi.SidecarIncomplete && f.Number == fi.LossUnknownAfter+1 {
			a.w.NoteNext(fmt.Sprintf("gapan: loss unknown from this frame on (the sidecar ends after frame %d)", fi.LossUnknownAfter))
		}
		if a.fates != nil {
			if err := a.noteFates(); err != nil {
				return err
			}
		}
		if err := a.w.WriteFrame(id, f.Frame, f.GapBefore, counted); err != nil {
			return err
		}
		if a.progress != nil {
			if a.frames++; a.frames%progressEvery == 0 {
				a.progress(a.cur, a.s.BytesRead(), a.s.Files()[a.cur].Size, a.frames)
			}
		}
	}
	files := a.s.Files()
	for a.cur < len(files)-1 {
		// Inputs without frames still contribute their interfaces.
		if err := a.switchFile(a.cur + 1); err != nil {
			return err
		}
	}
	if err := a.finishFile(); err != nil {
		return err
	}
	if a.w.Interfaces() == 0 {
		return fmt.Errorf("annotate: %s has no interface to write", strings.Join(a.cfg.Inputs, ", "))
	}
	return a.w.Close()
}

// switchFile finishes the current input and starts mapping input i.
func (a *annotator) switchFile(i int) error {
	if a.cur >= 0 {
		if err := a.finishFile(); err != nil {
			return err
		}
		a.prev, a.prevIfaces = a.out, a.curIfaces
	}
	a.closeScout()
	a.cur, a.out, a.curIfaces = i, nil, nil
	return nil
}

// finishFile adds the current input's unused interfaces, its tail gaps and
// its interface statistics. The join has read the input to its end.
func (a *annotator) finishFile() error {
	if a.cur < 0 {
		return nil
	}
	fi := &a.s.Files()[a.cur]
	if n := len(fi.Interfaces); n > 0 {
		if _, err := a.outInterface(n-1, nil); err != nil {
			return err
		}
	}
	if fi.Source != join.SourceNone {
		// The loss of every interface is known, including those without
		// frames or tail: their isb_ifdrop is 0.
		for _, id := range a.out {
			a.w.AddTail(id, 0)
		}
	}
	tail := fi.Tail
	if a.win != nil && (a.cur >= len(a.tailIn) || !a.tailIn[a.cur]) {
		tail = nil // the window ends before the input's last frame
	}
	for _, g := range tail {
		id, err := a.outInterface(int(g.Interface), nil)
		if err != nil {
			return fmt.Errorf("%s: tail gap: %w", fi.Sidecar, err)
		}
		if err := a.w.AddTail(id, g.Lost); err != nil {
			return err
		}
	}
	for _, s := range fi.Stats {
		if s.InterfaceID < len(a.out) {
			a.w.SetInputStats(a.out[s.InterfaceID], s)
		}
	}
	if fi.SidecarIncomplete {
		for _, id := range a.out {
			a.w.SetLossUnknown(id)
		}
	}
	if fi.HasTrailer && fi.Trailer.HasKernel && len(a.out) == 1 && len(a.s.Files()) == 1 {
		a.w.SetReceived(a.out[0], fi.Trailer.KernelPackets)
	}
	return nil
}

// outInterface returns the output interface of the current input's
// interface local, adding it (and every interface before it, so that a
// single input keeps its interface numbering) first. f is the frame on it,
// nil when the input has been read to its end.
func (a *annotator) outInterface(local int, f *reader.Frame) (int, error) {
	if local < len(a.out) {
		return a.out[local], nil
	}
	ifaces, err := a.interfaces(local, f)
	if err != nil {
		return 0, err
	}
	if local >= len(ifaces) {
		return 0, fmt.Errorf("%w: %s has no interface %d", ErrNoInterface, a.cfg.Inputs[a.cur], local)
	}
	for len(a.out) <= local {
		i := len(a.out)
		ifc := ifaces[i]
		a.curIfaces = append(a.curIfaces, ifc)
		if i < len(a.prev) && i < len(a.prevIfaces) && sameInterface(a.prevIfaces[i], ifc) {
			a.out = append(a.out, a.prev[i])
			continue
		}
		id, err := a.w.AddInterface(ifc)
		if err != nil {
			return 0, err
		}
		a.out = append(a.out, id)
	}
	return a.out[local], nil
}

func sameInterface(x, y reader.Interface) bool {
	return x.LinkType == y.LinkType && x.SnapLen == y.SnapLen && x.Name == y.Name && x.Description == y.Description
}

// interfaces returns at least local+1 interfaces of the current input if
// it has them. The join does not expose its reader, so a second reader of
// the same file (the scout) reads ahead only as far as the frame that first
// uses a new interface: an Interface Description Block always comes before
// its first frame. Standard input cannot be read twice; there the frame's
// own link type stands in for the interface.
func (a *annotator) interfaces(local int, f *reader.Frame) ([]reader.Interface, error) {
	fi := &a.s.Files()[a.cur]
	if fi.Done {
		return fi.Interfaces, nil
	}
	name := a.cfg.Inputs[a.cur]
	if name == "-" {
		if f == nil {
			return nil, nil
		}
		have := append([]reader.Interface(nil), a.curIfaces...)
		for len(have) <= local {
			have = append(have, reader.Interface{ID: len(have), LinkType: f.LinkType, TimestampResolution: 9})
		}
		return have, nil
	}
	if a.scout == nil {
		rd, err := reader.Open(name)
		if err != nil {
			return nil, err
		}
		a.scout = rd
	}
	for len(a.scout.Interfaces()) <= local {
		if f != nil && a.scout.FramesRead() >= f.Number {
			break
		}
		if _, err := a.scout.Next(); err != nil {
			if err == io.EOF || a.cfg.KeepGoing {
				break
			}
			return nil, err
		}
	}
	return a.scout.Interfaces(), nil
}

func (a *annotator) closeScout() {
	if a.scout != nil {
		a.scout.Close()
		a.scout = nil
	}
}

// provenance returns the section header comment for cfg: for each input,
// where its gaps come from (the sidecar's source, tool, creation time and
// the capture identity it was made for).
func provenance(cfg Config) string {
	var b strings.Builder
	b.WriteString("gapan annotate: epb_dropcount and a comment on every frame with frames lost before it; isb_ifdrop: all lost per interface, tail included")
	for i, in := range cfg.Inputs {
		fmt.Fprintf(&b, "\n%s: ", in)
		explicit := i < len(cfg.Sidecars) && cfg.Sidecars[i] != ""
		if cfg.NoSidecar || in == "-" && !explicit {
			b.WriteString("no sidecar (gaps from the input's epb_dropcount options)")
			continue
		}
		path := sidecarPath(cfg, i)
		h, err := readHeader(path)
		switch {
		case errors.Is(err, fs.ErrNotExist) && !explicit:
			b.WriteString("no sidecar (gaps from the input's epb_dropcount options, if any)")
			continue
		case err != nil:
			fmt.Fprintf(&b, "sidecar %s unreadable: %v", path, err)
			continue
		}
		fmt.Fprintf(&b, "sidecar %s; source %s", path, h.Source)
		if h.Tool != "" {
			fmt.Fprintf(&b, "; tool %q", h.Tool)
		}
		if h.CreatedNs != 0 {
			fmt.Fprintf(&b, "; created %s", time.Unix(0, h.CreatedNs).UTC().Format(time.RFC3339Nano))
		}
		if id := h.Identity; id.Known {
			fmt.Fprintf(&b, "; identity linktype %d snaplen %d first frame %d ns crc32c %08x",
				id.LinkType, id.SnapLen, id.FirstFrameNs, id.FirstFrameCRC)
		} else {
			b.WriteString("; no capture identity")
		}
	}
	return b.String()
}

func readHeader(path string) (sidecar.Header, error) {
	r, c, err := sidecar.OpenAuto(path, nil)
	if err != nil {
		return sidecar.Header{}, err
	}
	defer c.Close()
	return r.Header(), nil
}
