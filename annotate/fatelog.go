package annotate

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
	"os"
	"slices"

	"github.com/gapan/gapan/loss"
)

// fateLog keeps the fates of a run until the frames they are told on are
// written. The accounting hands fates out when they are final, which may
// be long after their frame (a retransmission much later, an explanation
// round every 65,536 frames, the flow's end), so they arrive out of frame
// order. The log holds up to fateMemRecords of them in memory; beyond
// that it sorts them by frame and appends them to a temporary file as one
// run, and the reading side merges the runs. The memory of a run is thus
// bounded by fateMemRecords fates plus one read buffer per run.
type fateLog struct {
	mem   []loss.Fate
	limit int
	tmp   *os.File
	runs  []fateRun
	size  int64 // bytes written to tmp
	// tmpName is the spill file's name when it could not be removed
	// while open.
	tmpName string
	err     error
}

// fateMemRecords is how many fates a fateLog of Write keeps in memory (64
// bytes each: 16 MiB) before it spills them; a variable so that a test can
// make Write spill.
var fateMemRecords = 1 << 18

type fateRun struct {
	off, n int64 // byte offset in the file and record count
}

// fateRecordLen is the size of a fate in the spill file.
const fateRecordLen = 7*8 + 3

// add takes one fate (Config.OnFate).
func (l *fateLog) add(f loss.Fate) {
	if l.err != nil {
		return
	}
	l.mem = append(l.mem, f)
	if len(l.mem) >= l.limit {
		l.err = l.spill()
	}
}

func byFrame(a, b loss.Fate) int {
	switch {
	case a.Frame < b.Frame:
		return -1
	case a.Frame > b.Frame:
		return 1
	}
	return 0
}

// spill writes the fates in memory to the temporary file as one run,
// sorted by frame (stably: fates of one frame keep their order).
func (l *fateLog) spill() error {
	if l.tmp == nil {
		f, err := os.CreateTemp("", "gapan-fates-*")
		if err != nil {
			return err
		}
		// Removed at once where the system allows it (nothing to clean
		// up however the run ends), else by close.
		if os.Remove(f.Name()) != nil {
			l.tmpName = f.Name()
		}
		l.tmp = f
	}
	slices.SortStableFunc(l.mem, byFrame)
	bw := bufio.NewWriterSize(io.NewOffsetWriter(l.tmp, l.size), 1<<16)
	var b [fateRecordLen]byte
	for i := range l.mem {
		encodeFate(&b, &l.mem[i])
		if _, err := bw.Write(b[:]); err != nil {
			return err
		}
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	n := int64(len(l.mem))
	l.runs = append(l.runs, fateRun{off: l.size, n: n})
	l.size += n * fateRecordLen
	clear(l.mem)
	l.mem = l.mem[:0]
	return nil
}

func encodeFate(b *[fateRecordLen]byte, f *loss.Fate) {
	for i, v := range [...]uint64{f.Frame, f.FlowID, f.Bytes, f.Segments, f.Gap, f.GapLost, f.Ref} {
		binary.LittleEndian.PutUint64(b[8*i:], v)
	}
	b[56] = byte(f.Kind)
	var fl byte
	if f.Resend {
		fl |= 1
	}
	if f.Acked {
		fl |= 2
	}
	b[57] = fl
	b[58] = byte(f.Evidence)
}

func decodeFate(b *[fateRecordLen]byte) loss.Fate {
	var v [7]uint64
	for i := range v {
		v[i] = binary.LittleEndian.Uint64(b[8*i:])
	}
	return loss.Fate{Frame: v[0], FlowID: v[1], Bytes: v[2], Segments: v[3], Gap: v[4], GapLost: v[5], Ref: v[6],
		Kind: loss.FateKind(b[56]), Resend: b[57]&1 != 0, Acked: b[57]&2 != 0, Evidence: loss.Evidence(b[58])}
}

// errFateOrder means the writing side asked for the fates of a frame
// before those of an earlier one.
var errFateOrder = errors.New("annotate: fates read out of frame order")

// fateReader gives the fates of a fateLog frame by frame, in frame order.
type fateReader struct {
	runs  []*runReader
	out   []loss.Fate
	frame uint64
}

// runReader reads one sorted run: from the spill file, or from memory
// when r is nil.
type runReader struct {
	r    *bufio.Reader
	left int64
	mem  []loss.Fate
	head loss.Fate
	ok   bool
}

func (r *runReader) next() error {
	if r.r == nil {
		r.ok = len(r.mem) > 0
		if r.ok {
			r.head, r.mem = r.mem[0], r.mem[1:]
		}
		return nil
	}
	if r.left == 0 {
		r.ok = false
		return nil
	}
	var b [fateRecordLen]byte
	if _, err := io.ReadFull(r.r, b[:]); err != nil {
		return err
	}
	r.left--
	r.head, r.ok = decodeFate(&b), true
	return nil
}

// reader ends the log's writing side and returns its reading side.
func (l *fateLog) reader() (*fateReader, error) {
	if l.err != nil {
		return nil, l.err
	}
	fr := &fateReader{}
	if l.tmp == nil {
		// Everything fits in memory: one run, sorted in place.
		slices.SortStableFunc(l.mem, byFrame)
		rr := &runReader{mem: l.mem}
		rr.next()
		fr.runs = []*runReader{rr}
		return fr, nil
	}
	if len(l.mem) > 0 {
		if err := l.spill(); err != nil {
			return nil, err
		}
	}
	for _, run := range l.runs {
		rr := &runReader{r: bufio.NewReaderSize(io.NewSectionReader(l.tmp, run.off, run.n*fateRecordLen), 1<<15), left: run.n}
		if err := rr.next(); err != nil {
			return nil, err
		}
		fr.runs = append(fr.runs, rr)
	}
	return fr, nil
}

// take returns the fates told on frame, in the order the accounting gave
// them out; frames must be asked for in increasing order. The slice is
// valid until the next call.
func (fr *fateReader) take(frame uint64) ([]loss.Fate, error) {
	if frame < fr.frame {
		return nil, errFateOrder
	}
	fr.frame = frame
	fr.out = fr.out[:0]
	// Runs in the order they were written, each sorted stably: taking
	// run by run keeps the fates of one frame in arrival order. A fate
	// told on an earlier frame than asked for cannot be (every frame is
	// asked for), but is skipped rather than stalling the merge.
	for _, r := range fr.runs {
		for r.ok && r.head.Frame <= frame {
			if r.head.Frame == frame {
				fr.out = append(fr.out, r.head)
			}
			if err := r.next(); err != nil {
				return nil, err
			}
		}
	}
	return fr.out, nil
}

// close removes the spill file.
func (l *fateLog) close() {
	if l.tmp != nil {
		l.tmp.Close()
		l.tmp = nil
	}
	if l.tmpName != "" {
		os.Remove(l.tmpName)
		l.tmpName = ""
	}
}
