package annotate

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
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

// sidecarPath is the sidecar the join reads for cfg.Inputs[i]
// (join.SidecarPath).
func sidecarPath(cfg Config, i int) string {
	p, _ := join.SidecarPath(cfg.Inputs, join.Options{Sidecars: cfg.Sidecars}, i)
	return p
}

// Write annotates cfg.Inputs as pcapng to w (cfg.Output and cfg.Force are
// not used). On error, what was written to w is incomplete.
func Write(w io.Writer, cfg Config) (Stats, error) {
	var st Stats
	s, err := join.Open(cfg.Inputs, join.Options{
		Sidecars:      cfg.Sidecars,
		NoSidecar:     cfg.NoSidecar,
		AllowMismatch: cfg.AllowMismatch,
		KeepGoing:     cfg.KeepGoing,
		Strict:        cfg.Strict,
	})
	if err != nil {
		return st, err
	}
	defer s.Close()
	a := &annotator{
		cfg:      cfg,
		s:        s,
		w:        NewWriter(w, Options{Comment: Provenance(cfg), NoComments: cfg.NoComments}),
		cur:      -1,
		progress: cfg.Progress,
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
	return st, nil
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
		id, err := a.outInterface(f.InterfaceID, f.Frame)
		if err != nil {
			return err
		}
		fi := &a.s.Files()[a.cur]
		counted := fi.Source != join.SourceNone
		if fi.SidecarIncomplete && f.Number == fi.LossUnknownAfter+1 {
			a.w.NoteNext(fmt.Sprintf("gapan: loss unknown from this frame on (the sidecar ends after frame %d)", fi.LossUnknownAfter))
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
	for _, g := range fi.Tail {
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

// Provenance returns the section header comment for cfg: for each input,
// where its gaps come from (the sidecar's source, tool, creation time and
// the capture identity it was made for).
func Provenance(cfg Config) string {
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
	f, err := os.Open(path)
	if err != nil {
		return sidecar.Header{}, err
	}
	defer f.Close()
	r, err := sidecar.NewAutoReader(f, path)
	if err != nil {
		return sidecar.Header{}, err
	}
	return r.Header(), nil
}
