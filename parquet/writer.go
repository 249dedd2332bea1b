package parquet

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"github.com/apache/arrow/go/v15/arrow/array"
	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/sidecar"
)

// ErrSourceMismatch is returned by Writer.Finish when the gap source the
// Writer was told differs from the one the join used.
var ErrSourceMismatch = errors.New("parquet: gap source differs from the join's")

// WriterOptions controls a Writer.
type WriterOptions struct {
	// RowGroupRows is the largest number of rows of a row group (0:
	// DefaultRowGroupRows).
	RowGroupRows int
	// RowGroupBytes bounds the memory of the rows a table builds at a
	// time (0: DefaultRowGroupBytes), at the table's row width: the
	// frames table builds its row groups that many bytes of rows at a
	// time (into a buffered row group, its pages compressed as they
	// fill); the gaps and flows tables' row groups hold that many bytes
	// of rows (and at most RowGroupRows). Each table builds one batch
	// while the one before is encoded, so the rows in memory stay within
	// a few times RowGroupBytes per table whatever the capture's size and
	// flow count.
	RowGroupBytes int
	// Sources names the gap source of each capture of the run, by file
	// index (see GapSource); missing entries are filled in by Finish from
	// the join, which means the gaps rows of such a file are held back
	// until then.
	Sources []string
	// GapsFromRun makes the gaps table take its rows from Gap (hooked to
	// loss.Config.OnGap) instead of from the frames: a run with a
	// selection (analyze.Config.Select) hands Frame only the selected
	// frames, while its gaps are every gap of the window.
	GapsFromRun bool
}

// Writer streams one run of the pipeline into the three tables. Hook it to
// analyze.Run with Frame (analyze.Config.Frame) and Flow
// (loss.Config.OnFlow), then call Finish with the run's result:
//
//	w, _ := parquet.NewWriter(framesFile, gapsFile, flowsFile, parquet.WriterOptions{Sources: srcs})
//	r, err := analyze.Run(analyze.Config{Captures: caps, Frame: w.Frame, Engine: loss.Config{OnFlow: w.Flow}})
//	if err != nil { w.Abort(); ... }
//	err = w.Finish(r)
//
// Frame numbers in the tables are per capture file; a run over several
// files (a rotated set read as one) needs a capture column the Writer does
// not write, so WriteDataset runs each capture on its own. The Writer does
// not close the io.Writers.
type Writer struct {
	opt    WriterOptions
	frames *framesTable
	gaps   *table
	flows  *table
	// flowAppend appends each column of a flow's row to the flows
	// table's builders
	flowAppend []flowAppender
	err        error
	closed     bool // Finish or Abort ran: a second call does nothing

	// last frame per interface of the current file, for the gaps'
	// prev_frame and ts_before (the same walk as loss.TotalsCounter)
	file int
	last []lastFrame
	held []heldGap // gaps of files whose source is not known yet

	stats Stats
}

type lastFrame struct {
	number uint64
	ns     int64
}

type heldGap struct {
	file int
	g    loss.GapRef
}

// Stats counts the rows written to each table.
type Stats struct {
	Frames, Gaps, Flows int64
	// Lost is the sum of the gaps table's lost column (tail rows
	// included).
	Lost uint64
}

// NewWriter returns a Writer writing the frames, gaps and flows tables to
// the three writers.
func NewWriter(frames, gaps, flows io.Writer, opt WriterOptions) (*Writer, error) {
	if opt.RowGroupRows <= 0 {
		opt.RowGroupRows = DefaultRowGroupRows
	}
	if opt.RowGroupBytes <= 0 {
		opt.RowGroupBytes = DefaultRowGroupBytes
	}
	w := &Writer{opt: opt}
	var err error
	if w.frames, err = newFramesTable(frames, opt.RowGroupRows, opt.rows(frameRowBytes)); err != nil {
		return nil, err
	}
	if w.gaps, err = newTable(gaps, GapsSchema(), opt.rows(rowBytes(GapsSchema()))); err != nil {
		w.frames.close()
		return nil, err
	}
	if w.flows, err = newTable(flows, FlowsSchema(), opt.rows(rowBytes(FlowsSchema()))); err != nil {
		w.frames.close()
		w.gaps.close()
		return nil, err
	}
	w.flowAppend = make([]flowAppender, len(flowCols))
	for i, c := range flowCols {
		w.flowAppend[i] = c.appender(w.flows.rb.Field(i))
	}
	return w, nil
}

// rows returns the rows of a row group of a table whose rows take width
// bytes in memory: as many as RowGroupBytes holds, at most RowGroupRows,
// at least one.
func (o WriterOptions) rows(width int) int {
	return max(1, min(o.RowGroupRows, o.RowGroupBytes/max(width, 1)))
}

// GapSource returns the name of the source of a capture's gaps for the
// gaps table: the sidecar header's source (kernel, simulated, imported...)
// when the join used a sidecar, "pcapng" for pcapng epb_dropcount, "none"
// otherwise.
func GapSource(fi *join.FileInfo) string {
	switch fi.Source {
	case join.SourceSidecar:
		return fi.Header.Source.String()
	case join.SourceDropCount:
		return sidecar.SourcePcapng.String()
	}
	return string(join.SourceNone)
}

// Err returns the first error met while writing, if any.
func (w *Writer) Err() error { return w.err }

// Stats returns the rows written so far.
func (w *Writer) Stats() Stats { return w.stats }

// Frame adds one frame to the frames table (and its gap, if any, to the
// gaps table). It has the signature of analyze.Config.Frame. Errors are
// kept and returned by Finish; after one, Frame does nothing.
func (w *Writer) Frame(f *join.Frame, info *loss.FrameInfo) {
	if w.err != nil {
		return
	}
	if f.File != w.file {
		w.file = f.File
		w.last = w.last[:0]
	}
	w.frames.cur.add(f, info)
	w.stats.Frames++
	if err := w.frames.endRow(); err != nil {
		w.err = fmt.Errorf("parquet: frames: %w", err)
		return
	}

	id := f.InterfaceID
	if id < 0 {
		id = 0
	}
	for len(w.last) <= id {
		w.last = append(w.last, lastFrame{})
	}
	prev := w.last[id]
	w.last[id] = lastFrame{f.Number, f.TimestampNs}
	if f.GapBefore > 0 && !w.opt.GapsFromRun {
		w.gap(f.File, loss.GapRef{Frame: f.Number, Lost: f.GapBefore, PrevFrame: prev.number, PrevNs: prev.ns, Ns: f.TimestampNs, Interface: id, File: f.File})
	}
}

// Gap adds one gap to the gaps table when WriterOptions.GapsFromRun is
// set. It has the signature of loss.Config.OnGap.
func (w *Writer) Gap(g loss.GapRef) {
	if w.opt.GapsFromRun {
		w.gap(g.File, g)
	}
}

// gap writes a gap row, or holds it until Finish when its file's source is
// not known yet.
func (w *Writer) gap(file int, g loss.GapRef) {
	if file >= len(w.opt.Sources) || w.opt.Sources[file] == "" {
		w.held = append(w.held, heldGap{file, g})
		return
	}
	w.writeGap(g, w.opt.Sources[file], KindGap)
}

func (w *Writer) writeGap(g loss.GapRef, source, kind string) {
	if w.err != nil {
		return
	}
	rb := w.gaps.rb
	num := rb.Field(gFrameNumber).(*array.Int64Builder)
	prev := rb.Field(gPrevFrame).(*array.Int64Builder)
	tsB := rb.Field(gTsBefore).(*array.TimestampBuilder)
	tsA := rb.Field(gTsAfter).(*array.TimestampBuilder)
	nsB := rb.Field(gTsBeforeNs).(*array.Int64Builder)
	nsA := rb.Field(gTsAfterNs).(*array.Int64Builder)
	if kind == KindTail {
		num.AppendNull()
		tsA.AppendNull()
		nsA.AppendNull()
	} else {
		num.Append(int64(g.Frame))
		tsA.Append(micros(g.Ns))
		nsA.Append(g.Ns)
	}
	if g.PrevFrame > 0 {
		prev.Append(int64(g.PrevFrame))
		tsB.Append(micros(g.PrevNs))
		nsB.Append(g.PrevNs)
	} else {
		prev.AppendNull()
		tsB.AppendNull()
		nsB.AppendNull()
	}
	rb.Field(gInterfaceID).(*array.Int32Builder).Append(int32(g.Interface))
	rb.Field(gLost).(*array.Int64Builder).Append(int64(g.Lost))
	rb.Field(gSource).(*array.StringBuilder).Append(source)
	rb.Field(gKind).(*array.StringBuilder).Append(kind)
	w.stats.Gaps++
	w.stats.Lost += g.Lost
	if err := w.gaps.endRow(); err != nil {
		w.err = fmt.Errorf("parquet: gaps: %w", err)
	}
}

// Flow adds one final flow to the flows table. It has the signature of
// loss.Config.OnFlow.
func (w *Writer) Flow(fl *loss.Flow) {
	if w.err != nil {
		return
	}
	for _, add := range w.flowAppend {
		add(fl)
	}
	w.stats.Flows++
	if err := w.flows.endRow(); err != nil {
		w.err = fmt.Errorf("parquet: flows: %w", err)
	}
}

// Finish writes the held gaps and the tail gaps (one row per interface
// with a tail loss, from r.Files) and closes the three tables. r is the
// result of the run that fed the Writer.
func (w *Writer) Finish(r *analyze.Result) error {
	srcs := make([]string, len(r.Files))
	for i := range r.Files {
		srcs[i] = GapSource(&r.Files[i])
		hasGaps := r.Files[i].Gaps > 0 || r.Files[i].TailTotal() > 0
		if hasGaps && i < len(w.opt.Sources) && w.opt.Sources[i] != "" && w.opt.Sources[i] != srcs[i] && w.err == nil {
			w.err = fmt.Errorf("%w: %s: told %q, the join used %q", ErrSourceMismatch, r.Files[i].Name, w.opt.Sources[i], srcs[i])
		}
	}
	for _, h := range w.held {
		if h.file < len(srcs) {
			w.writeGap(h.g, srcs[h.file], KindGap)
		}
	}
	w.held = nil
	last := len(r.Files) - 1
	if last >= 0 {
		for _, t := range r.Files[last].Tail {
			if t.Lost == 0 {
				continue
			}
			g := loss.GapRef{Lost: t.Lost, Interface: int(t.Interface), File: last}
			if w.file == last && int(t.Interface) < len(w.last) {
				g.PrevFrame, g.PrevNs = w.last[t.Interface].number, w.last[t.Interface].ns
			}
			w.writeGap(g, srcs[last], KindTail)
		}
	}
	// In a run over a set, earlier files' tails have no last frame at
	// hand (the walk keeps only the current file's).
	for i := 0; i < last; i++ {
		for _, t := range r.Files[i].Tail {
			if t.Lost > 0 {
				w.writeGap(loss.GapRef{Lost: t.Lost, Interface: int(t.Interface), File: i}, srcs[i], KindTail)
			}
		}
	}
	meta := [][2]string{{MetaDecodeErrors, decodeErrors(r.Summary)}}
	if notes := r.LossUnknown(); len(notes) > 0 {
		meta = append(meta, [2]string{MetaLossUnknown, strings.Join(notes, "; ")})
	} else if !r.LossRecorded() {
		meta = append(meta, [2]string{MetaLossUnknown, LossNotRecorded})
	}
	w.frames.meta, w.gaps.meta, w.flows.meta = meta, meta, meta
	return w.close()
}

// MetaLossUnknown is the key of the Parquet key/value metadata that every
// table of a run whose sidecar ends before its capture carries:
// analyze.Result.LossUnknown's "loss unknown after frame N (the sidecar ends
// there)", joined by "; ". The frames after N have gap_before 0 because
// nothing is known of them, not because nothing was lost.
// Without any record of the loss (no sidecar, no pcapng epb_dropcount) its
// value is LossNotRecorded: every gap_before and lost is 0 because nothing
// is known, and the report's JSON gives those figures as null.
const MetaLossUnknown = "gapan.loss_unknown"

// LossNotRecorded is the value of MetaLossUnknown when no capture of the
// run had a record of its loss.
const LossNotRecorded = "not recorded: no sidecar and no pcapng drop counts"

// MetaDecodeErrors is the key of the Parquet key/value metadata that every
// table carries: the number of frames that failed to decode, then their
// reasons as the report's JSON names them, "3 (ipv4: truncated 2, tcp:
// malformed 1)"; "0" when every frame decoded.
const MetaDecodeErrors = "gapan.decode_errors"

// decodeErrors is the value of MetaDecodeErrors.
func decodeErrors(s *loss.Summary) string {
	if s == nil || s.DecodeFailed == 0 {
		return "0"
	}
	why := make([]string, len(s.DecodeErrors))
	for i, d := range s.DecodeErrors {
		why[i] = d.Reason + " " + strconv.FormatUint(d.Frames, 10)
	}
	return strconv.FormatUint(s.DecodeFailed, 10) + " (" + strings.Join(why, ", ") + ")"
}

// Abort closes the tables after a failed run; what was written is not a
// valid dataset and the caller should remove it.
func (w *Writer) Abort() {
	if w.err == nil {
		w.err = errors.New("parquet: aborted")
	}
	w.close()
}

func (w *Writer) close() error {
	if w.closed {
		return w.err
	}
	w.closed = true
	err := w.err
	for _, t := range []interface{ close() error }{w.frames, w.gaps, w.flows} {
		if cerr := t.close(); err == nil && cerr != nil {
			err = fmt.Errorf("parquet: %w", cerr)
		}
	}
	w.err = err
	return err
}
