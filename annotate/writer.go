package annotate

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/gapan/gapan/reader"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

// Sentinel errors.
var (
	// ErrNoInterface means a frame or statistic named an interface that
	// was not added to the Writer.
	ErrNoInterface = errors.New("annotate: no such interface")
	// ErrClosed is returned by Writer methods after Close.
	ErrClosed = errors.New("annotate: writer closed")
)

// Application is the shb_userappl the Writer puts in the section header.
const Application = "gapan"

// Options configures a Writer.
type Options struct {
	// Comment goes into the section header's opt_comment (the sidecar's
	// provenance, for Run). Empty means none.
	Comment string
	// NoComments leaves out the per-frame comments; the epb_dropcount
	// options are still written.
	NoComments bool
	// Records adds the machine-readable comment that the Wireshark plugin
	// reads (RecordPrefix) to every frame with fields given by
	// RecordNext.
	Records bool
}

// RecordPrefix starts the machine-readable comment of a frame: version 1
// of its form, "gapan/1 flow=7 | fate=capture bytes=2896 ...":
// space-separated key=value fields, the frame's own first, then one group
// per fate after " | " (docs/wireshark.md).
const RecordPrefix = "gapan/1"

// Writer writes frames as pcapng with their gaps as epb_dropcount options
// and comments, and one Interface Statistics Block per interface on Close.
// It wraps a pcapgo.NgWriter; the caller owns the io.Writer.
//
// Frames without a gap cost no allocation; a frame with a gap costs the
// comment string and pcapgo's option slice.
type Writer struct {
	out    io.Writer
	opt    Options
	ng     *pcapgo.NgWriter
	ifaces []ifaceState
	closed bool

	pkt      pcapgo.NgPacketOptions
	drop     uint64
	comments []string
	notes    []string // comments for the next frame (NoteNext)
	record   string   // machine-readable fields for the next frame (RecordNext)
	buf      []byte

	frames, gapFrames, lost uint64
	fixedLengths            uint64
}

type ifaceState struct {
	frames          uint64
	lost            uint64 // sum of the epb_dropcount values written
	pending         uint64 // loss after the last frame written so far (tails)
	counted         bool   // loss on this interface is known
	firstNs, lastNs int64

	inDropped, received       uint64
	hasInDropped, hasReceived bool
	unknown                   bool // the interface's total loss is unknown
}

// NewWriter returns a Writer to w. Nothing is written until the first
// interface is added (pcapgo writes the section header together with it).
func NewWriter(w io.Writer, opt Options) *Writer {
	return &Writer{out: w, opt: opt, buf: make([]byte, 0, 64)}
}

// Interfaces returns the number of interfaces added so far.
func (w *Writer) Interfaces() int { return len(w.ifaces) }

// AddInterface writes an Interface Description Block for ifc (link type,
// snap length, name and description; the timestamp resolution is always
// nanoseconds) and returns its index in the output.
func (w *Writer) AddInterface(ifc reader.Interface) (int, error) {
	if w.closed {
		return 0, ErrClosed
	}
	ngi := pcapgo.NgInterface{
		Name:                ifc.Name,
		Description:         ifc.Description,
		LinkType:            ifc.LinkType,
		SnapLength:          ifc.SnapLen,
		TimestampResolution: 9,
	}
	var id int
	if w.ng == nil {
		ng, err := pcapgo.NewNgWriterInterface(w.out, ngi, pcapgo.NgWriterOptions{
			SectionInfo: pcapgo.NgSectionInfo{Application: Application, Comment: w.opt.Comment},
		})
		if err != nil {
			return 0, err
		}
		w.ng = ng
	} else {
		var err error
		if id, err = w.ng.AddInterface(ngi); err != nil {
			return 0, err
		}
	}
	w.ifaces = append(w.ifaces, ifaceState{})
	return id, nil
}

// WriteFrame writes f on output interface id with gapBefore frames lost on
// that interface just before it. counted says whether loss is known for
// the frame at all (a sidecar or epb_dropcount); on a counted interface the
// first frame always carries epb_dropcount, 0 included, which tells Extract
// that the interface's isb_ifdrop is fully accounted for. Tails added with
// AddTail since the interface's previous frame are added to gapBefore, as
// the pcapng definition of epb_dropcount requires.
//
// A frame whose captured length exceeds its original length (damaged
// input; pcapng forbids it) is written with the original length raised to
// the captured length; FixedLengths counts them.
func (w *Writer) WriteFrame(id int, f *reader.Frame, gapBefore uint64, counted bool) error {
	if w.closed {
		return ErrClosed
	}
	if id < 0 || id >= len(w.ifaces) {
		return fmt.Errorf("%w: frame %d on interface %d of %d", ErrNoInterface, f.Number, id, len(w.ifaces))
	}
	st := &w.ifaces[id]
	gap := gapBefore + st.pending
	st.pending = 0
	if counted {
		st.counted = true
	}
	w.pkt.DropCount, w.pkt.Comments = nil, nil
	if gap > 0 || counted && st.frames == 0 {
		w.drop = gap
		w.pkt.DropCount = &w.drop
	}
	cs := w.comments[:0]
	if gap > 0 {
		w.gapFrames++
		w.lost += gap
		st.lost += gap
		if !w.opt.NoComments {
			cs = append(cs, lossComment(w.buf[:0], gap))
		}
	}
	cs = append(cs, w.notes...)
	if w.opt.Records && !w.opt.NoComments && w.record != "" {
		b := append(w.buf[:0], RecordPrefix+" "...)
		cs = append(cs, string(append(b, w.record...)))
	}
	clear(w.notes)
	w.notes, w.record = w.notes[:0], ""
	if len(cs) > 0 {
		w.pkt.Comments = cs
	}
	w.comments = cs[:0]
	origLen := f.OrigLen
	if origLen < len(f.Data) {
		origLen = len(f.Data)
		w.fixedLengths++
	}
	ci := gopacket.CaptureInfo{
		Timestamp:      time.Unix(0, f.TimestampNs),
		CaptureLength:  len(f.Data),
		Length:         origLen,
		InterfaceIndex: id,
	}
	if err := w.ng.WritePacketWithOptions(ci, f.Data, w.pkt); err != nil {
		return err
	}
	if st.frames == 0 {
		st.firstNs = f.TimestampNs
	}
	st.lastNs = f.TimestampNs
	st.frames++
	w.frames++
	return nil
}

// lossComment returns the packet comment for a gap of n frames,
// "gapan: n frames lost before this frame"; buf is scratch space.
func lossComment(buf []byte, n uint64) string {
	buf = append(buf, "gapan: "...)
	buf = strconv.AppendUint(buf, n, 10)
	if n == 1 {
		buf = append(buf, " frame lost before this frame"...)
	} else {
		buf = append(buf, " frames lost before this frame"...)
	}
	return string(buf)
}

// AddTail records n frames lost on interface id after its last frame so
// far. They go to the interface's next frame's epb_dropcount, or, if no
// frame follows, into its isb_ifdrop only. counted marks the interface's
// loss as known (as in WriteFrame).
func (w *Writer) AddTail(id int, n uint64) error {
	if id < 0 || id >= len(w.ifaces) {
		return fmt.Errorf("%w: tail on interface %d of %d", ErrNoInterface, id, len(w.ifaces))
	}
	w.ifaces[id].pending += n
	w.ifaces[id].counted = true
	return nil
}

// SetInputStats passes on statistics the input gave for interface id: its
// isb_ifrecv is written as is, and its isb_ifdrop is written only when the
// loss on the interface is not known otherwise.
func (w *Writer) SetInputStats(id int, s reader.InterfaceStats) error {
	if id < 0 || id >= len(w.ifaces) {
		return fmt.Errorf("%w: statistics for interface %d of %d", ErrNoInterface, id, len(w.ifaces))
	}
	st := &w.ifaces[id]
	if s.HasReceived {
		st.received, st.hasReceived = s.Received, true
	}
	if s.HasDropped {
		st.inDropped, st.hasInDropped = s.Dropped, true
	}
	return nil
}

// SetReceived sets the isb_ifrecv written for interface id.
func (w *Writer) SetReceived(id int, n uint64) error {
	if id < 0 || id >= len(w.ifaces) {
		return fmt.Errorf("%w: statistics for interface %d of %d", ErrNoInterface, id, len(w.ifaces))
	}
	w.ifaces[id].received, w.ifaces[id].hasReceived = n, true
	return nil
}

// Close writes one Interface Statistics Block per interface and flushes.
// On a counted interface isb_ifdrop is the sum of its epb_dropcount values
// plus its tail; isb_starttime and isb_endtime are its first and last
// frame's timestamps. Close does not close the underlying io.Writer.
func (w *Writer) Close() error {
	if w.closed {
		return ErrClosed
	}
	w.closed = true
	if w.ng == nil {
		return errors.New("annotate: nothing to write: no interface was added")
	}
	for id := range w.ifaces {
		st := &w.ifaces[id]
		s := pcapgo.NgInterfaceStatistics{PacketsReceived: pcapgo.NgNoValue64, PacketsDropped: pcapgo.NgNoValue64}
		switch {
		case st.unknown: // no isb_ifdrop: a part is not the total
		case st.counted:
			s.PacketsDropped = st.lost + st.pending
		case st.hasInDropped:
			s.PacketsDropped = st.inDropped
		}
		if st.hasReceived {
			s.PacketsReceived = st.received
		}
		if st.frames > 0 {
			s.StartTime = time.Unix(0, st.firstNs)
			s.EndTime = time.Unix(0, st.lastNs)
			s.LastUpdate = s.EndTime
		}
		if err := w.ng.WriteInterfaceStats(id, s); err != nil {
			return err
		}
	}
	return w.ng.Flush()
}

// SetLossUnknown says that the total loss of interface id is unknown (its
// sidecar ends before the capture): Close writes no isb_ifdrop for it.
func (w *Writer) SetLossUnknown(id int) error {
	if id < 0 || id >= len(w.ifaces) {
		return fmt.Errorf("%w: loss note for interface %d of %d", ErrNoInterface, id, len(w.ifaces))
	}
	w.ifaces[id].unknown = true
	return nil
}

// NoteNext adds comment to the comments of the next frame written (also
// with Options.NoComments: the caller decides).
func (w *Writer) NoteNext(comment string) { w.notes = append(w.notes, comment) }

// RecordNext sets the machine-readable fields of the next frame written,
// which with Options.Records go into its RecordPrefix comment after the
// frame's gap.
func (w *Writer) RecordNext(fields string) { w.record = fields }

// Flush writes out what is buffered: every frame WriteFrame accepted.
// After an error it lets the caller say exactly how many frames a stream
// holds.
func (w *Writer) Flush() error {
	if w.ng == nil {
		return nil
	}
	return w.ng.Flush()
}

// Frames returns the number of frames written.
func (w *Writer) Frames() uint64 { return w.frames }

// GapFrames returns the number of frames written with a gap before them.
func (w *Writer) GapFrames() uint64 { return w.gapFrames }

// Lost returns the sum of the epb_dropcount values written.
func (w *Writer) Lost() uint64 { return w.lost }

// Dropped returns the isb_ifdrop Close writes (or wrote) for interface id
// when its loss is known, and false otherwise.
func (w *Writer) Dropped(id int) (uint64, bool) {
	if id < 0 || id >= len(w.ifaces) || !w.ifaces[id].counted {
		return 0, false
	}
	return w.ifaces[id].lost + w.ifaces[id].pending, true
}

// FixedLengths returns how many frames had their original length raised
// to their captured length.
func (w *Writer) FixedLengths() uint64 { return w.fixedLengths }
