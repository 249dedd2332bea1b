package report

import (
	"bufio"
	"cmp"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"math/bits"
	"os"

	"github.com/gapan/gapan/analyze"
	"github.com/gapan/gapan/internal/topn"
	"github.com/gapan/gapan/loss"
)

// DefaultGapBudget is the number of gaps a GapSpill keeps in memory
// before it writes them out, when NewGapSpill is given 0 (4.7 MB).
const DefaultGapBudget = 1 << 16

// GapSpill keeps the gaps of a run in stream order for the JSON report in
// bounded memory, however many gaps the capture has. Its Gap method is a
// loss.Config.OnGap; beyond the budget the gaps go to an unlinked
// temporary file, 48 bytes each.
type GapSpill struct {
	dir    string
	budget int
	mem    []loss.GapRef
	file   *os.File
	size   int64
	n      int
	err    error
}

// NewGapSpill returns a GapSpill that holds up to budget gaps in memory
// (DefaultGapBudget when 0) and writes the rest to a temporary file in
// dir (os.TempDir when empty).
func NewGapSpill(dir string, budget int) *GapSpill {
	if budget <= 0 {
		budget = DefaultGapBudget
	}
	return &GapSpill{dir: dir, budget: budget}
}

// gapRecLen is the size of a spilled gap: frame, lost, previous frame,
// previous time, time, interface, file.
const gapRecLen = 5*8 + 2*4

// Gap takes one gap. Errors are kept and returned by Err and Each.
func (s *GapSpill) Gap(g loss.GapRef) {
	if s.err != nil {
		return
	}
	s.mem = append(s.mem, g)
	s.n++
	if len(s.mem) >= s.budget {
		s.err = s.flush()
	}
}

// flush appends the held gaps to the file.
func (s *GapSpill) flush() error {
	if s.file == nil {
		f, err := spillFile(s.dir, "gapan-gaps-*")
		if err != nil {
			return fmt.Errorf("report: spilling gaps: %w", err)
		}
		s.file = f
	}
	bw := bufio.NewWriterSize(io.NewOffsetWriter(s.file, s.size), 1<<20)
	var b [gapRecLen]byte
	for _, g := range s.mem {
		if uint64(g.Interface) > math.MaxUint32 || uint64(g.File) > math.MaxUint32 {
			return fmt.Errorf("report: spilling gaps: interface %d, file %d out of range", g.Interface, g.File)
		}
		binary.LittleEndian.PutUint64(b[0:], g.Frame)
		binary.LittleEndian.PutUint64(b[8:], g.Lost)
		binary.LittleEndian.PutUint64(b[16:], g.PrevFrame)
		binary.LittleEndian.PutUint64(b[24:], uint64(g.PrevNs))
		binary.LittleEndian.PutUint64(b[32:], uint64(g.Ns))
		binary.LittleEndian.PutUint32(b[40:], uint32(g.Interface))
		binary.LittleEndian.PutUint32(b[44:], uint32(g.File))
		bw.Write(b[:])
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("report: spilling gaps: %w", err)
	}
	s.size += int64(len(s.mem)) * gapRecLen
	s.mem = s.mem[:0]
	return nil
}

// Len returns the number of gaps taken.
func (s *GapSpill) Len() int { return s.n }

// Err returns the first error of spilling the gaps.
func (s *GapSpill) Err() error { return s.err }

// Each calls fn with the gaps in stream order, then releases the
// GapSpill.
func (s *GapSpill) Each(fn func(loss.GapRef) error) error {
	defer s.Close()
	if s.err != nil {
		return s.err
	}
	if s.file != nil {
		r := bufio.NewReaderSize(io.NewSectionReader(s.file, 0, s.size), 1<<16)
		var b [gapRecLen]byte
		for range s.size / gapRecLen {
			if _, err := io.ReadFull(r, b[:]); err != nil {
				return fmt.Errorf("report: spilled gaps do not read back: %w", err)
			}
			g := loss.GapRef{
				Frame: binary.LittleEndian.Uint64(b[0:]), Lost: binary.LittleEndian.Uint64(b[8:]),
				PrevFrame: binary.LittleEndian.Uint64(b[16:]), PrevNs: int64(binary.LittleEndian.Uint64(b[24:])),
				Ns: int64(binary.LittleEndian.Uint64(b[32:])), Interface: int(binary.LittleEndian.Uint32(b[40:])),
				File: int(binary.LittleEndian.Uint32(b[44:])),
			}
			if err := fn(g); err != nil {
				return err
			}
		}
	}
	for _, g := range s.mem {
		if err := fn(g); err != nil {
			return err
		}
	}
	return nil
}

// Close releases the memory and the temporary file; the GapSpill cannot
// be used afterwards.
func (s *GapSpill) Close() error {
	if s == nil {
		return nil
	}
	s.mem = nil
	if s.err == nil {
		s.err = errGapSpillUsed
	}
	if s.file == nil {
		return nil
	}
	err := s.file.Close()
	s.file = nil
	return err
}

var errGapSpillUsed = errors.New("report: GapSpill used after Each or Close")

// spillFile creates a temporary file in dir and unlinks it at once: the
// open file is all a spill needs, and nothing is left behind, even by a
// killed process.
func spillFile(dir, pattern string) (*os.File, error) {
	f, err := os.CreateTemp(dir, pattern)
	if err != nil {
		return nil, err
	}
	if err := os.Remove(f.Name()); err != nil {
		f.Close()
		return nil, err
	}
	return f, nil
}

// LargestGaps keeps, of the gaps of a run (its Gap method is a
// loss.Config.OnGap), the n largest, the earlier first among equals, and
// counts every gap by size: what the text, Markdown and HTML reports show
// of the gaps, in memory bounded by n however many gaps the capture has.
type LargestGaps struct {
	seq   uint64
	top   *topn.Keeper[seqGap]
	count uint64
	// bins count the gaps, and their frames, by bits.Len64(lost)-1.
	bins, binLost [65]uint64
}

// NewLargestGaps returns a LargestGaps that keeps n gaps.
func NewLargestGaps(n int) *LargestGaps {
	return &LargestGaps{top: topn.New(n, gapOrder)}
}

// keptGaps returns k, or, for a run that kept every gap (gaps, in stream
// order: Summary.Gaps) instead of a LargestGaps, one that has taken them
// and keeps the n largest.
func keptGaps(k *LargestGaps, gaps []loss.GapRef, n int) *LargestGaps {
	if k != nil {
		return k
	}
	k = NewLargestGaps(n)
	for _, g := range gaps {
		k.Gap(g)
	}
	return k
}

type seqGap struct {
	g   loss.GapRef
	seq uint64
}

// gapOrder orders gaps as the reports list them: largest first, then in
// stream order.
func gapOrder(a, b *seqGap) int {
	if c := cmp.Compare(b.g.Lost, a.g.Lost); c != 0 {
		return c
	}
	return cmp.Compare(a.seq, b.seq)
}

// Gap takes one gap.
func (k *LargestGaps) Gap(g loss.GapRef) {
	k.count++
	if g.Lost > 0 {
		b := bits.Len64(g.Lost) - 1
		k.bins[b]++
		k.binLost[b] += g.Lost
	}
	k.top.Offer(seqGap{g, k.seq})
	k.seq++
}

// Count returns the number of gaps taken.
func (k *LargestGaps) Count() uint64 { return k.count }

// Sorted returns the kept gaps, largest first, labelled with their
// capture's name when r has more than one capture (as Summary.Gaps are).
func (k *LargestGaps) Sorted(r *analyze.Result) []loss.GapRef {
	s := k.top.Sorted()
	out := make([]loss.GapRef, len(s))
	for i := range s {
		out[i] = namedGap(r, s[i].g)
	}
	return out
}

// namedGap labels a gap of a set of captures with its capture's name, as
// loss.TotalsCounter.Finish labels Summary.Gaps.
func namedGap(r *analyze.Result, g loss.GapRef) loss.GapRef {
	if len(r.Files) > 1 && g.File < len(r.Files) {
		g.Capture = r.Files[g.File].Name
	}
	return g
}
