// Package join walks one capture, or a rotated set of captures read in order
// as one, and gives every frame the number of frames lost just before it.
//
// The gap counts come from each capture's gap sidecar (capture.pcap.gaps,
// found next to the capture) or, when there is none, from pcapng
// epb_dropcount options. A gap before frame N counts frames lost on N's
// interface since the previous frame on that interface (pcapng epb_dropcount
// semantics); after the last frame, the sidecar's tail gap counts what was
// lost after it.
//
//	s, err := join.Open([]string{"capture.pcap"}, join.Options{})
//	if err != nil { ... }
//	defer s.Close()
//	for {
//		f, err := s.Next()
//		if err == io.EOF { break }
//		if err != nil { ... }
//		if f.GapBefore > 0 { fmt.Printf("%d lost before frame %d\n", f.GapBefore, f.Number) }
//	}
//	for _, fi := range s.Files() { ... fi.Tail ... }
package join

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/gapan/gapan/internal/plural"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

// Sentinel errors; the errors Next returns wrap them.
var (
	// ErrBeyondCapture means the sidecar names a frame after the capture's
	// last frame.
	ErrBeyondCapture = errors.New("join: sidecar names a frame beyond the capture's last frame")
	// ErrFrameCount means the sidecar's trailer counts a different number of
	// frames than the capture holds.
	ErrFrameCount = errors.New("join: sidecar and capture disagree on the number of frames")
	// ErrAnomaly means a capture anomaly (reader.Anomaly) met with
	// Options.Strict.
	ErrAnomaly = errors.New("join: capture anomaly (--strict)")
	// ErrTailInterface means the sidecar's trailer has a tail gap on an
	// interface the capture does not have.
	ErrTailInterface = errors.New("join: tail gap on an interface the capture does not have")
	// ErrMismatch means the sidecar does not belong to its capture; every
	// error that Options.AllowMismatch turns into a warning wraps it
	// (besides its own sentinel: sidecar.ErrIdentity, ErrBeyondCapture,
	// ErrFrameCount, ErrTailInterface, sidecar.ErrImplausible).
	ErrMismatch = errors.New("join: sidecar does not belong to its capture")
)

// mismatchError is an error Options.AllowMismatch would have let through:
// it reads as err and matches ErrMismatch as well.
type mismatchError struct{ err error }

func (e mismatchError) Error() string   { return e.err.Error() }
func (e mismatchError) Unwrap() []error { return []error{e.err, ErrMismatch} }

// mismatch returns err, or with AllowMismatch nil after recording err as
// a warning (continuing says what happens next).
func (s *Stream) mismatch(file string, frame uint64, err error, continuing string) error {
	if !s.opt.AllowMismatch {
		return mismatchError{err}
	}
	s.warn(file, frame, fmt.Errorf("%w (%s: --allow-mismatch)", err, continuing))
	return nil
}

// CountError is a loss count (a gap, a pcapng epb_dropcount, a tail or a
// sum of them) that is beyond sidecar.MaxLost: summing it could wrap
// around 2⁶⁴ and no capture loses that many frames. It wraps
// sidecar.ErrImplausible.
type CountError struct {
	File   string // the capture or sidecar holding the count
	Frame  uint64 // the frame it is attached to, 0 for a tail
	Offset int64  // byte offset of the frame's record in the capture, -1 if none
	What   string // what the count is
	Value  uint64 // the count, or the sum that went beyond the bound
}

func (e *CountError) Error() string {
	where := e.File
	if e.Frame > 0 {
		where += fmt.Sprintf(": frame %d", e.Frame)
	}
	if e.Offset >= 0 {
		where += fmt.Sprintf(" (byte offset %d)", e.Offset)
	}
	return fmt.Sprintf("%s: %v: %s %d is beyond %d (2^48): the file is damaged or forged", where, sidecar.ErrImplausible, e.What, e.Value, uint64(sidecar.MaxLost))
}

// Unwrap returns sidecar.ErrImplausible.
func (e *CountError) Unwrap() error { return sidecar.ErrImplausible }

// Source says where a capture's gap counts came from.
type Source string

// Gap sources.
const (
	SourceSidecar   Source = "sidecar"          // a gap sidecar file
	SourceDropCount Source = "pcapng-dropcount" // pcapng epb_dropcount options
	SourceNone      Source = "none"             // nothing: no loss positions are known
)

// Options controls Open.
type Options struct {
	// Sidecars overrides the sidecar path of each capture, in order. An
	// empty entry, or a missing one, means the default path
	// (sidecar.PathFor).
	Sidecars []string
	// NoSidecar ignores sidecar files altogether.
	NoSidecar bool
	// AllowMismatch continues, with a warning, where the sidecar does not
	// belong to the capture (identity mismatch, frames beyond the capture,
	// frame count disagreement, a tail on an interface the capture does
	// not have, kernel drops above the kernel's packet count): the CLI's
	// --allow-mismatch.
	AllowMismatch bool
	// KeepGoing stops reading a damaged capture or sidecar at the damage,
	// with a warning, instead of failing.
	KeepGoing bool
	// Strict makes the capture anomalies readers accept (reader.Anomaly:
	// snap length 0, captured length above the snap length or the
	// original length, a sub-second field of a second or more) errors
	// (ErrAnomaly) instead of one warning per kind and capture.
	Strict bool
	// Readers, where entry i is set, holds the sidecar of captures[i]
	// already open, read instead of a file (a sidecar held in memory, as
	// gapan report --infer's inferred one): its FileInfo.Sidecar is "".
	// A reader is read once, by one Stream.
	Readers []sidecar.RecordReader
}

// ErrOptions means Options that do not fit the captures; Validate's
// errors wrap it.
var ErrOptions = errors.New("join: invalid options")

// Validate checks opt for a set of n captures: no more Sidecars than
// captures, and no Sidecars with NoSidecar. Open checks the same. The
// errors, worded as the gapan command's flags name the fields (--sidecar,
// --no-sidecar), wrap ErrOptions.
func (opt Options) Validate(n int) error {
	if len(opt.Sidecars) > n {
		return &userError{plural.Count(len(opt.Sidecars), "--sidecar file") + " given for " + plural.Count(n, "capture"), ErrOptions}
	}
	if opt.NoSidecar && len(opt.Sidecars) > 0 {
		return &userError{"--sidecar and --no-sidecar exclude each other", ErrOptions}
	}
	return nil
}

// userError is an error worded for the user (no "join:" prefix) that
// matches its sentinel with errors.Is.
type userError struct {
	msg      string
	sentinel error
}

func (e *userError) Error() string { return e.msg }
func (e *userError) Unwrap() error { return e.sentinel }

// Frame is a captured frame with the loss just before it.
type Frame struct {
	*reader.Frame
	// GapBefore is the number of frames lost on this frame's interface
	// since the previous frame on that interface (or since the start of
	// capture for the interface's first frame).
	GapBefore uint64
	// File is the index of the capture in the set, 0 for the first.
	File int
	// LossUnknown says the frame comes after the end of an incomplete
	// sidecar (FileInfo.LossUnknownAfter): GapBefore is 0 because nothing
	// is known, not because nothing was lost.
	LossUnknown bool
	// NoLossRecord says the frame's capture has no loss record so far:
	// no sidecar, and no pcapng epb_dropcount on this frame or one before
	// it. GapBefore is 0 because nothing counted the loss.
	NoLossRecord bool
}

// Warning is a problem that did not stop the join.
type Warning struct {
	File  string // the capture or sidecar it concerns
	Frame uint64 // frame number it concerns, 0 if none
	Err   error
}

func (w Warning) Error() string {
	// An error that names the file itself (a sidecar.FormatError) is not
	// prefixed with it again.
	msg, named := strings.CutPrefix(w.Err.Error(), w.File+": ")
	switch {
	case w.Frame > 0:
		return fmt.Sprintf("%s: frame %d: %s", w.File, w.Frame, msg)
	case named:
		return w.Err.Error()
	}
	return fmt.Sprintf("%s: %s", w.File, msg)
}

// FileInfo describes one capture of the set once it has been read.
type FileInfo struct {
	Name       string
	Sidecar    string // path of the sidecar used, "" when none (or one of Options.Readers)
	Source     Source
	Header     sidecar.Header // the sidecar's header, when Source is SourceSidecar
	HasTrailer bool
	Trailer    sidecar.Trailer
	Frames     uint64 // frames read from the capture
	Gaps       uint64 // frames carrying a gap
	Lost       uint64 // sum of the gaps (without the tail)
	Tail       []sidecar.InterfaceGap
	Stats      []reader.InterfaceStats // pcapng interface statistics
	Interfaces []reader.Interface
	// Identity is the capture's identity, what a sidecar written for it
	// carries (sidecar.IdentityOf its link type, snap length and first
	// frame), known from its first frame on; for a capture without
	// frames, that of its first interface once it has ended.
	Identity sidecar.Identity
	// Anomalies are what the reader accepted but flags (one warning per
	// kind), known once the capture has been read to its end.
	Anomalies []reader.Anomaly
	Truncated bool // the capture was damaged and read up to the damage (KeepGoing, or cut after a recorder crash)
	// SidecarIncomplete says the sidecar ends before the capture does: it
	// has no trailer (the recorder did not close it: killed, crashed), it
	// is empty, or it was damaged and read up to the damage (KeepGoing).
	// The loss after frame LossUnknownAfter is then unknown, not 0.
	SidecarIncomplete bool
	// LossUnknownAfter is, when SidecarIncomplete, the last frame the
	// sidecar accounts for: its last record's frame (0 when it has none).
	LossUnknownAfter uint64
	Done             bool  // the capture has been read to its end
	Size             int64 // the file's size in bytes, -1 if unknown
	FirstNs          int64
	LastNs           int64
	BytesRead        int64 // bytes of the capture file consumed so far
}

// TailTotal returns the sum of the file's tail gaps.
func (fi *FileInfo) TailTotal() uint64 {
	var n uint64
	for _, g := range fi.Tail {
		n += g.Lost
	}
	return n
}

// Stream is the joined stream over a set of captures.
type Stream struct {
	names    []string
	opt      Options
	files    []FileInfo
	warnings []Warning

	cur     int // index of the open capture, -1 before the first
	rd      *reader.Reader
	sc      sidecar.RecordReader
	scFile  *os.File
	next    sidecar.Record // next sidecar record not yet reached
	hasNext bool
	// dropCounts: a frame of the current capture carried epb_dropcount.
	dropCounts bool
	scLast     uint64 // frame of the last sidecar record read
	lostAll    uint64 // frames lost over the whole set so far (bounded by sidecar.MaxLost)
	frame      Frame
}

// Open prepares to read the captures in order. Files are opened lazily, so
// errors about the second and later captures come from Next.
func Open(captures []string, opt Options) (*Stream, error) {
	if len(captures) == 0 {
		return nil, errors.New("join: no capture given")
	}
	if err := opt.Validate(len(captures)); err != nil {
		return nil, err
	}
	s := &Stream{names: captures, opt: opt, cur: -1, files: make([]FileInfo, len(captures))}
	for i, n := range captures {
		s.files[i] = FileInfo{Name: n, Source: SourceNone, Size: -1}
	}
	if err := s.openFile(0); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

// Files returns what is known so far about each capture of the set. The
// entries of captures not yet reached are mostly empty.
func (s *Stream) Files() []FileInfo { return s.files }

// Current returns the index of the capture being read.
func (s *Stream) Current() int { return s.cur }

// Interfaces returns the interfaces the capture being read has declared
// so far (a pcapng may declare more later); FileInfo.Interfaces holds
// them all once a capture has ended. Its IDs are those of Frame.InterfaceID.
func (s *Stream) Interfaces() []reader.Interface {
	if s.rd == nil {
		return nil
	}
	return s.rd.Interfaces()
}

// Warnings returns the warnings so far.
func (s *Stream) Warnings() []Warning { return s.warnings }

// Close closes the open files.
func (s *Stream) Close() error {
	var err error
	if s.rd != nil {
		err = s.rd.Close()
		s.rd = nil
	}
	if s.scFile != nil {
		s.scFile.Close()
		s.scFile = nil
	}
	return err
}

func (s *Stream) warn(file string, frame uint64, err error) {
	s.warnings = append(s.warnings, Warning{File: file, Frame: frame, Err: err})
}

func (s *Stream) sidecarPath(i int) (path string, explicit bool) {
	return SidecarPath(s.names, s.opt, i)
}

// SidecarPath is the one rule for the sidecar path of captures[i], the
// one Open reads (unless opt.NoSidecar): opt.Sidecars[i] when given
// (explicit), else the first of sidecar.Candidates that exists
// (sidecar.Find; sidecar.PathFor when none does).
func SidecarPath(captures []string, opt Options, i int) (path string, explicit bool) {
	if i < len(opt.Sidecars) && opt.Sidecars[i] != "" {
		return opt.Sidecars[i], true
	}
	p, _ := sidecar.Find(captures[i])
	return p, false
}

// Inputs returns the files Open(captures, opt) may read: the captures,
// then the sidecar paths of each (the given one, else every name of
// sidecar.Candidates, whether it exists, or opt.NoSidecar ignores it, or
// not). An output of the run must replace none of them.
func Inputs(captures []string, opt Options) []string {
	in := append([]string(nil), captures...)
	for i, c := range captures {
		if p, explicit := SidecarPath(captures, opt, i); explicit {
			in = append(in, p)
			continue
		}
		in = append(in, sidecar.Candidates(c)...)
	}
	return in
}

func (s *Stream) openFile(i int) error {
	s.Close()
	s.cur = i
	s.dropCounts = false
	fi := &s.files[i]
	rd, err := reader.Open(fi.Name)
	if err != nil {
		if e := notCapture(fi.Name); e != nil {
			return e
		}
		return err
	}
	s.rd = rd
	fi.Size = rd.Size()
	s.hasNext = false
	s.sc = nil
	s.scLast = 0
	if s.opt.NoSidecar {
		return nil
	}
	if i < len(s.opt.Readers) && s.opt.Readers[i] != nil {
		s.sc = s.opt.Readers[i]
		fi.Source, fi.Header = SourceSidecar, s.sc.Header()
		return s.advanceSidecar()
	}
	if fi.Name == "-" && len(s.opt.Sidecars) <= i {
		return nil
	}
	path, explicit := s.sidecarPath(i)
	f, err := os.Open(path)
	if err != nil {
		if !explicit && errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	sc, err := sidecar.NewAutoReader(f, path)
	if errors.Is(err, sidecar.ErrEmpty) {
		// A recorder killed before its first frame leaves an empty
		// sidecar: the loss is unknown from the start, which is not an
		// error in the capture.
		f.Close()
		fi.Sidecar, fi.Source = path, SourceSidecar
		fi.SidecarIncomplete, fi.LossUnknownAfter = true, 0
		s.warn(path, 0, fmt.Errorf("%w: loss unknown after frame 0 (the sidecar ends there)", sidecar.ErrEmpty))
		return nil
	}
	if cg := (*sidecar.CaptureGivenError)(nil); errors.As(err, &cg) {
		cg.Named = explicit
	}
	if err != nil {
		f.Close()
		return err
	}
	s.scFile, s.sc = f, sc
	fi.Sidecar, fi.Source, fi.Header = path, SourceSidecar, sc.Header()
	return s.advanceSidecar()
}

// advanceSidecar loads the next sidecar record into s.next.
func (s *Stream) advanceSidecar() error {
	fi := &s.files[s.cur]
	rec, err := s.sc.Next()
	switch {
	case err == nil:
		s.next, s.hasNext = rec, true
		s.scLast = rec.Frame
		return nil
	case err == io.EOF:
		s.hasNext = false
		fi.Trailer, fi.HasTrailer = s.sc.Trailer()
		for _, g := range fi.Trailer.Tail {
			if err := s.addLost(fi.Sidecar, 0, -1, fmt.Sprintf("tail of interface %d", g.Interface), g.Lost); err != nil {
				return err
			}
		}
		return nil
	case errors.Is(err, sidecar.ErrNoTrailer):
		// A cut sidecar (a killed recorder): its valid prefix stands, and
		// what came after it is unknown.
		s.hasNext = false
		fi.SidecarIncomplete, fi.LossUnknownAfter = true, s.scLast
		s.warn(fi.Sidecar, 0, fmt.Errorf("%w: loss unknown after frame %d (the sidecar ends there)", err, s.scLast))
		return nil
	case s.opt.KeepGoing && !errors.Is(err, sidecar.ErrImplausible):
		s.hasNext = false
		fi.SidecarIncomplete, fi.LossUnknownAfter = true, s.scLast
		s.warn(fi.Sidecar, 0, fmt.Errorf("ignoring the rest of the sidecar: %w; loss unknown after frame %d (the sidecar ends there)", err, s.scLast))
		return nil
	}
	return err
}

// addLost adds n frames lost to the set's total, refusing a count or a sum
// beyond sidecar.MaxLost (so no sum downstream can wrap).
func (s *Stream) addLost(file string, frame uint64, off int64, what string, n uint64) error {
	if n > sidecar.MaxLost {
		return &CountError{File: file, Frame: frame, Offset: off, What: what, Value: n}
	}
	if s.lostAll+n > sidecar.MaxLost {
		return &CountError{File: file, Frame: frame, Offset: off, What: "frames lost up to here (" + what + " included)", Value: s.lostAll + n}
	}
	s.lostAll += n
	return nil
}

// Next returns the next frame of the set, io.EOF after the last one. The
// returned Frame and its data are reused by the next call.
func (s *Stream) Next() (*Frame, error) {
	for {
		if s.rd == nil {
			return nil, io.EOF
		}
		f, err := s.rd.Next()
		if err == nil {
			if s.opt.Strict && s.rd.AnomalyCount() > 0 {
				a := s.rd.Anomalies()[0]
				return nil, fmt.Errorf("%s: %w: %v", s.files[s.cur].Name, ErrAnomaly, a)
			}
			return s.joinFrame(f)
		}
		fi := &s.files[s.cur]
		cut := false
		if err != io.EOF {
			cut = errors.Is(err, reader.ErrTruncated) && (s.sc != nil || fi.SidecarIncomplete)
			if !s.opt.KeepGoing && !cut {
				return nil, err
			}
			fi.Truncated = true
			if !cut {
				s.warn(fi.Name, s.rd.FramesRead()+1, fmt.Errorf("stopped reading at the damage: %w", err))
			}
		}
		if ferr := s.finishFile(); ferr != nil {
			return nil, ferr
		}
		if cut {
			// A capture cut mid-record is what a recorder killed while
			// writing leaves; its sidecar then has no trailer. A sidecar
			// that was closed cleanly says the recorder was not killed,
			// so the cut is damage (the rule of --keep-going applies).
			if fi.HasTrailer && !s.opt.KeepGoing {
				fi.Truncated = false
				return nil, err
			}
			if fi.HasTrailer {
				s.warn(fi.Name, s.rd.FramesRead()+1, fmt.Errorf("stopped reading at the damage: %w", err))
			} else {
				s.warn(fi.Name, s.rd.FramesRead()+1, fmt.Errorf("capture cut mid-record after frame %d and its sidecar has no trailer (the recorder did not close cleanly): read up to the last whole frame: %w", fi.Frames, err))
			}
		}
		if s.cur+1 >= len(s.names) {
			s.Close()
			return nil, io.EOF
		}
		if err := s.openFile(s.cur + 1); err != nil {
			return nil, err
		}
	}
}

// lastWithFrames returns the last file before the current one that had a
// frame, nil if none.
func (s *Stream) lastWithFrames() *FileInfo {
	for i := s.cur - 1; i >= 0; i-- {
		if s.files[i].Frames > 0 {
			return &s.files[i]
		}
	}
	return nil
}

func (s *Stream) joinFrame(f *reader.Frame) (*Frame, error) {
	fi := &s.files[s.cur]
	s.frame.Frame, s.frame.File, s.frame.GapBefore = f, s.cur, 0
	s.frame.LossUnknown = fi.SidecarIncomplete && f.Number > fi.LossUnknownAfter
	if f.Number == 1 {
		fi.FirstNs = f.TimestampNs
		fi.Identity = identityOf(s.rd, f)
		if prev := s.lastWithFrames(); prev != nil && f.TimestampNs < prev.LastNs {
			s.warn(fi.Name, 1, fmt.Errorf("starts before %s ends: the captures of a set are read in the order given, so rotated files must be given oldest first", prev.Name))
		}
		if s.sc != nil {
			if err := s.checkIdentity(); err != nil {
				return nil, err
			}
		}
	}
	fi.Frames = f.Number
	fi.LastNs = f.TimestampNs
	switch {
	case s.sc != nil:
		if s.hasNext && s.next.Frame == f.Number {
			s.frame.GapBefore = s.next.Gap
			if err := s.advanceSidecar(); err != nil {
				return nil, err
			}
		}
	case f.HasDropCount:
		fi.Source = SourceDropCount
		s.frame.GapBefore = f.DropCount
		s.dropCounts = true
	}
	s.frame.NoLossRecord = s.sc == nil && !s.dropCounts
	if g := s.frame.GapBefore; g > 0 {
		what, file := "gap", fi.Sidecar
		if s.sc == nil {
			what, file = "epb_dropcount", fi.Name
		}
		if err := s.addLost(file, f.Number, f.Offset, what, g); err != nil {
			return nil, err
		}
		fi.Gaps++
		fi.Lost += s.frame.GapBefore
	}
	return &s.frame, nil
}

func (s *Stream) checkIdentity() error {
	fi := &s.files[s.cur]
	if !fi.Header.Identity.Known {
		s.warn(fi.Sidecar, 0, errors.New("sidecar carries no capture identity; cannot check it belongs to this capture"))
		return nil
	}
	if err := fi.Header.Identity.Check(fi.Identity); err != nil {
		detail := err.Error()
		var ie *sidecar.IdentityError
		if errors.As(err, &ie) {
			detail = ie.Detail // "does not belong" says the rest
		}
		return s.mismatch(fi.Sidecar, 0, &inputError{fmt.Sprintf("%s does not belong to %s: %s", fi.Sidecar, fi.Name, detail), err}, "continuing")
	}
	return nil
}

// finishFile checks what is left of the sidecar once the capture ended.
func (s *Stream) finishFile() error {
	fi := &s.files[s.cur]
	fi.Interfaces = s.rd.Interfaces()
	if !fi.Identity.Known {
		fi.Identity = identityWithoutFrames(fi.Interfaces)
	}
	fi.Stats = s.rd.Stats()
	fi.BytesRead = s.rd.BytesRead()
	fi.Done = true
	fi.Anomalies = s.rd.Anomalies()
	for _, a := range fi.Anomalies {
		s.warn(fi.Name, a.First, fmt.Errorf("%v", a))
	}
	if s.sc == nil {
		return nil
	}
	if s.hasNext {
		var beyond uint64
		first := s.next.Frame
		for s.hasNext {
			beyond += s.next.Gap
			if err := s.advanceSidecar(); err != nil {
				return err
			}
		}
		err := fmt.Errorf("%w: %s names frame %d (and %s from there on) but %s has %s",
			ErrBeyondCapture, fi.Sidecar, first, plural.Count(beyond, "lost frame"), fi.Name, plural.Count(fi.Frames, "frame"))
		if fi.Truncated {
			s.warn(fi.Sidecar, first, fmt.Errorf("capture is truncated: %w", err))
		} else if err := s.mismatch(fi.Sidecar, first, err, "continuing"); err != nil {
			return err
		}
	}
	if fi.HasTrailer {
		fi.Tail = fi.Trailer.Tail
		if err := s.checkTail(fi); err != nil {
			return err
		}
		if t := fi.Trailer; t.HasKernel && t.KernelDrops > t.KernelPackets {
			// The kernel counts the frames it dropped among those it
			// received (PACKET_STATISTICS adds tp_drops to tp_packets).
			err := fmt.Errorf("%w: %s: the kernel counters say %s dropped of %d received", sidecar.ErrImplausible, fi.Sidecar, plural.Count(t.KernelDrops, "frame"), t.KernelPackets)
			if err := s.mismatch(fi.Sidecar, 0, err, "continuing"); err != nil {
				return err
			}
		}
		if fi.Trailer.Frames != 0 && fi.Trailer.Frames != fi.Frames {
			err := fmt.Errorf("%w: %s counts %s, %s has %d", ErrFrameCount, fi.Sidecar, plural.Count(fi.Trailer.Frames, "frame"), fi.Name, fi.Frames)
			if fi.Truncated || fi.Frames < fi.Trailer.Frames && s.opt.KeepGoing {
				s.warn(fi.Sidecar, 0, fmt.Errorf("capture is truncated: %w", err))
			} else if err := s.mismatch(fi.Sidecar, 0, err, "continuing"); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkTail applies the one rule for a tail gap on an interface the
// capture does not have (every command reads tails here): an error, or with
// AllowMismatch a warning and the tail is left out.
func (s *Stream) checkTail(fi *FileInfo) error {
	n := len(fi.Interfaces)
	if n == 0 {
		n = 1 // a capture with no interface description (an empty pcap) has the one of its header
	}
	var kept []sidecar.InterfaceGap
	for i, g := range fi.Tail {
		if int64(g.Interface) < int64(n) {
			if kept != nil {
				kept = append(kept, g)
			}
			continue
		}
		err := fmt.Errorf("%w: %s has a tail of %s on interface %d, %s has %s", ErrTailInterface, fi.Sidecar, plural.Count(g.Lost, "frame"), g.Interface, fi.Name, plural.Count(n, "interface"))
		if err := s.mismatch(fi.Sidecar, 0, err, "left out"); err != nil {
			return err
		}
		if kept == nil {
			kept = append(make([]sidecar.InterfaceGap, 0, len(fi.Tail)), fi.Tail[:i]...)
		}
	}
	if kept != nil {
		fi.Tail = kept
	}
	return nil
}

// BytesRead returns how many bytes of the current capture file have been
// consumed (for progress reports).
func (s *Stream) BytesRead() int64 {
	if s.rd == nil {
		if s.cur >= 0 && s.cur < len(s.files) {
			return s.files[s.cur].BytesRead
		}
		return 0
	}
	return s.rd.BytesRead()
}
