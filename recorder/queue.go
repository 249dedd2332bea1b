package recorder

import (
	"fmt"
	"io"
	"sync/atomic"
	"time"

	"github.com/gapan/gapan/sidecar"
)

// The receiver hands frames to the writer in chunks of whole pcap records.
// A chunk goes to the writer when it holds chunkBytes or chunkFrames frames,
// or when its first frame is Config.FlushEvery old. At most queueChunks
// chunks exist; when all are with the writer (the disk is slower than the
// traffic), the receiver keeps taking frames from the kernel and drops them
// itself, counting them in Stats.RecorderDrops and in the gap of the next
// frame it writes, so the sidecar stays exact.
const (
	chunkBytes  = 1 << 20
	chunkFrames = 4096
	queueChunks = 32
)

// chunk is a run of frames for one file, formatted as pcap records, with
// the sidecar records of the frames among them that had a gap.
type chunk struct {
	pcap    []byte
	frames  int
	gaps    []sidecar.Record // frame numbers counted from 1 in the file
	started time.Time        // when the first frame was added
	// end, if set, closes the file after the chunk's frames.
	end *fileEnd
}

// fileEnd tells the writer to close the current file with trailer and,
// unless next is empty, to open the file next.
type fileEnd struct {
	trailer sidecar.Trailer
	next    string
	replace bool // next may exist: --force, or a ring that came round
}

func newChunk() *chunk {
	return &chunk{pcap: make([]byte, 0, chunkBytes)}
}

// fits reports whether a frame of capLen bytes goes into c.
func (c *chunk) fits(capLen int) bool {
	return c.frames < chunkFrames && len(c.pcap)+16+capLen <= cap(c.pcap)
}

func (c *chunk) reset() {
	c.pcap, c.frames, c.gaps, c.end = c.pcap[:0], 0, c.gaps[:0], nil
}

// diskWriter writes chunks to the output files on its own goroutine, so
// that a slow write never holds up reception.
type diskWriter struct {
	in       chan *chunk
	free     chan *chunk
	made     int // chunks allocated so far (receiver side)
	done     chan struct{}
	failed   atomic.Bool
	out      *output
	linkType uint32
	snaplen  int
	maxFiles int
	progress io.Writer
	// Read only after done is closed:
	err                          error
	frames, gapEvents, gapFrames uint64
	files                        []string
}

func newDiskWriter(first *output, cfg *Config, linkType uint32) *diskWriter {
	w := &diskWriter{
		in: make(chan *chunk, queueChunks), free: make(chan *chunk, queueChunks),
		done: make(chan struct{}), out: first, linkType: linkType, snaplen: cfg.Snaplen,
		maxFiles: cfg.MaxFiles, progress: cfg.Progress, files: []string{first.name},
	}
	go w.run()
	return w
}

// get returns a free chunk without waiting, or nil when every chunk is
// queued for the writer.
func (w *diskWriter) get() *chunk {
	select {
	case c := <-w.free:
		return c
	default:
	}
	if w.made < queueChunks {
		w.made++
		return newChunk()
	}
	return nil
}

// wait returns a free chunk, waiting for the writer if need be; nil if the
// writer has stopped on an error.
func (w *diskWriter) wait() *chunk {
	if c := w.get(); c != nil {
		return c
	}
	select {
	case c := <-w.free:
		return c
	case <-w.done:
		return nil
	}
}

// put queues c for writing. It never blocks: there are never more chunks
// than the queue holds.
func (w *diskWriter) put(c *chunk) { w.in <- c }

// stop waits for the writer to write everything queued and returns its
// error.
func (w *diskWriter) stop() error {
	close(w.in)
	<-w.done
	return w.err
}

func (w *diskWriter) run() {
	defer close(w.done)
	for c := range w.in {
		if w.err == nil {
			if w.err = w.write(c); w.err != nil {
				w.failed.Store(true)
			}
		}
		c.reset()
		select {
		case w.free <- c:
		default: // the receiver has stopped taking chunks
		}
	}
	// Stopped without a final trailer (an error on either side): the
	// files stay as they are, the sidecar without a trailer.
	if w.out != nil {
		w.gapEvents += w.out.gapEvents
		w.gapFrames += w.out.gapFrames
		w.out.abort()
		w.out = nil
	}
}

func (w *diskWriter) write(c *chunk) error {
	o := w.out
	n, err := o.writeChunk(c)
	w.frames += uint64(n)
	if err != nil {
		return err
	}
	if c.end == nil {
		return nil
	}
	w.gapEvents += o.gapEvents
	w.gapFrames += o.gapFrames
	w.out = nil
	if err := o.close(c.end.trailer); err != nil {
		return err
	}
	if w.progress != nil {
		fmt.Fprintf(w.progress, "gapan record: wrote %s: %d %s, %d gap %s, %d %s lost before them\n",
			o.name, o.frames, plural(o.frames, "frame", "frames"), o.gapEvents, plural(o.gapEvents, "event", "events"), o.gapFrames, plural(o.gapFrames, "frame", "frames"))
	}
	if c.end.next == "" {
		return nil
	}
	next, err := openOutput(c.end.next, w.linkType, w.snaplen, c.end.replace)
	if err != nil {
		return err
	}
	w.out = next
	if w.maxFiles > 0 && len(w.files) == w.maxFiles {
		// The ring came round: next is the oldest file, now overwritten.
		w.files = append(w.files[:0], w.files[1:]...)
	}
	w.files = append(w.files, next.name)
	return nil
}
