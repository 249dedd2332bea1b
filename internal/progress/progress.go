// Package progress draws a one-line progress meter for long runs of gapan
// (report, parquet, annotate) on standard error when it is a terminal:
// frames read, MB/s, and, when the input size is known, percent done and
// the time left.
//
//	m := progress.ForTerminal(os.Stderr, quiet, "report")
//	cfg.Progress = m.Files(sizes)
//	...
//	m.Done()
//
// A nil *Meter does nothing, so callers need not test whether progress is
// shown.
package progress

import (
	"fmt"
	"github.com/gapan/gapan/internal/numfmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"golang.org/x/term"
)

// DefaultInterval is how often a Meter redraws at most.
const DefaultInterval = 250 * time.Millisecond

// Status is one reading of a run's progress.
type Status struct {
	Label   string
	Frames  uint64
	Bytes   int64 // bytes of input consumed
	Total   int64 // bytes of input in all; <= 0 when unknown
	Elapsed time.Duration
}

// Format returns the meter line of s, e.g.
// "gapan report: 1,234,567 frames  45.3 MB/s  37%  ETA 0:12". The rate is
// of input bytes (MB = 10^6 bytes); percent and ETA appear only when the
// total size is known, the ETA only once a second has passed.
func Format(s Status) string {
	var b strings.Builder
	b.WriteString("gapan")
	if s.Label != "" {
		b.WriteString(" " + s.Label)
	}
	b.WriteString(": " + thousands(s.Frames) + " frames")
	secs := s.Elapsed.Seconds()
	if secs > 0 && s.Bytes > 0 {
		fmt.Fprintf(&b, "  %.1f MB/s", float64(s.Bytes)/1e6/secs)
	}
	if s.Total > 0 {
		done := min(s.Bytes, s.Total)
		fmt.Fprintf(&b, "  %d%%", done*100/s.Total)
		if s.Elapsed >= time.Second && done > 0 {
			left := time.Duration(float64(s.Elapsed) * float64(s.Total-done) / float64(done))
			b.WriteString("  ETA " + clock(left))
		}
	}
	return b.String()
}

// clock formats d as m:ss or h:mm:ss, rounded up to the second.
func clock(d time.Duration) string {
	sec := int64((d + time.Second - 1) / time.Second)
	h, m, s := sec/3600, sec/60%60, sec%60
	if h > 0 {
		return fmt.Sprintf("%d:%02d:%02d", h, m, s)
	}
	return fmt.Sprintf("%d:%02d", m, s)
}

// thousands formats n with thousands separators.
func thousands(n uint64) string { return numfmt.Int(n) }

// Meter redraws a progress line in place ("\r" and erase to the end of
// line). Its methods are safe for concurrent use, and do nothing on a nil
// *Meter.
type Meter struct {
	// Now returns the current time (tests replace it).
	Now func() time.Time
	// Interval is the least time between two redraws.
	Interval time.Duration

	w     io.Writer
	label string
	mu    sync.Mutex
	start time.Time
	last  time.Time
	drawn bool
	width int // the longest line drawn, to erase it
	files []fileState
}

type fileState struct {
	bytes, size int64
	frames      uint64
}

// New returns a Meter that draws on w, whatever w is.
func New(w io.Writer, label string) *Meter {
	return &Meter{Now: time.Now, Interval: DefaultInterval, w: w, label: label}
}

// ForTerminal returns a Meter drawing on w when w is a terminal (an
// *os.File on one) and quiet is false, and nil (no progress) otherwise.
func ForTerminal(w io.Writer, quiet bool, label string) *Meter {
	f, ok := w.(*os.File)
	if quiet || !ok || f == nil || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return New(f, label)
}

// Update records the progress of the run as a whole: frames so far, bytes
// consumed and the total bytes (<= 0: unknown). It redraws at most every
// Interval.
func (m *Meter) Update(frames uint64, bytes, total int64) {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.update(frames, bytes, total)
}

func (m *Meter) update(frames uint64, bytes, total int64) {
	now := m.Now()
	if m.start.IsZero() {
		m.start = now
	}
	if m.drawn && now.Sub(m.last) < m.Interval {
		return
	}
	m.last = now
	line := Format(Status{Label: m.label, Frames: frames, Bytes: bytes, Total: total, Elapsed: now.Sub(m.start)})
	pad := ""
	if n := len(line); n < m.width {
		pad = strings.Repeat(" ", m.width-n)
	} else {
		m.width = n
	}
	fmt.Fprint(m.w, "\r"+line+pad)
	m.drawn = true
}

// Start sets the time rates and ETA are measured from (by default, the
// first update).
func (m *Meter) Start() {
	if m == nil {
		return
	}
	m.mu.Lock()
	m.start = m.Now()
	m.mu.Unlock()
}

// Files returns a callback with the signature of analyze.Config.Progress
// for a set of files read one after another: frames counts over the whole
// set, bytesRead and size are the current file's (size -1 if unknown).
// sizes are the files' sizes as known beforehand (-1 for unknown, e.g.
// standard input); the total is known when every size is.
func (m *Meter) Files(sizes []int64) func(file int, bytesRead, size int64, frames uint64) {
	if m == nil {
		return nil
	}
	return func(file int, bytesRead, size int64, frames uint64) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.setFile(sizes, file, bytesRead, size, 0, true)
		var done, total int64
		for _, f := range m.files {
			done += f.bytes
			if total >= 0 && f.size > 0 {
				total += f.size
			} else {
				total = -1
			}
		}
		m.update(frames, done, total)
	}
}

// Parallel returns a callback for files read at the same time (one call
// per file now and then): frames, bytesRead and size are the file's own.
// Frames and bytes are summed over the files.
func (m *Meter) Parallel(sizes []int64) func(file int, bytesRead, size int64, frames uint64) {
	if m == nil {
		return nil
	}
	return func(file int, bytesRead, size int64, frames uint64) {
		m.mu.Lock()
		defer m.mu.Unlock()
		m.setFile(sizes, file, bytesRead, size, frames, false)
		var done, total int64
		var n uint64
		for _, f := range m.files {
			done += f.bytes
			n += f.frames
			if total >= 0 && f.size > 0 {
				total += f.size
			} else {
				total = -1
			}
		}
		m.update(n, done, total)
	}
}

// setFile records one file's state; files before a sequential set's
// current one count as read to their end.
func (m *Meter) setFile(sizes []int64, file int, bytesRead, size int64, frames uint64, sequential bool) {
	if len(m.files) < len(sizes) {
		m.files = make([]fileState, len(sizes))
		for i, s := range sizes {
			m.files[i].size = s
		}
	}
	for len(m.files) <= file {
		m.files = append(m.files, fileState{size: -1})
	}
	f := &m.files[file]
	f.bytes, f.frames = bytesRead, frames
	if size > 0 {
		f.size = size
	}
	if sequential {
		for i := 0; i < file; i++ {
			if m.files[i].size > 0 {
				m.files[i].bytes = m.files[i].size
			}
		}
	}
}

// Done erases the meter line, if one was drawn, so that what follows on
// the terminal starts on a clean line.
func (m *Meter) Done() {
	if m == nil {
		return
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.drawn {
		fmt.Fprint(m.w, "\r"+strings.Repeat(" ", m.width)+"\r")
		m.drawn = false
	}
}

// Sizes returns the sizes of the named files, -1 for "-" (standard input)
// and for files it cannot stat.
func Sizes(names []string) []int64 {
	out := make([]int64, len(names))
	for i, n := range names {
		out[i] = -1
		if n == "-" {
			continue
		}
		if st, err := os.Stat(n); err == nil && st.Mode().IsRegular() {
			out[i] = st.Size()
		}
	}
	return out
}
