//go:build linux

package recorder

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/gapan/gapan/sidecar"
)

// Run captures frames from cfg.Interface into cfg.Output and its sidecar
// until ctx is cancelled, cfg.Count frames have been captured or
// cfg.Duration has elapsed. On a clean stop it stops the kernel from queueing
// more frames, drains the frames already queued, reads the socket's drop
// counter and PACKET_STATISTICS, and writes the trailer (tail gap and kernel
// totals) of the last file. The returned Stats are valid even when err is
// not nil, for the part of the capture that succeeded: Stats.Frames counts
// the frames that reached the files.
//
// Reception and writing run apart: this goroutine receives and formats the
// frames, a second one writes them (see queue.go), so a slow write never
// holds up reception.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	var st Stats
	if cfg.Progress != nil && cfg.Interface == AnyInterface && cfg.Promisc {
		fmt.Fprintln(cfg.Progress, `gapan record: warning: promiscuous mode is not supported on the "any" device`)
	}
	if err := normalize(&cfg); err != nil {
		return st, err
	}
	if err := checkOutputs(&cfg); err != nil {
		return st, err
	}
	var ifi *net.Interface // nil: every interface
	if cfg.Interface != AnyInterface {
		var err error
		if ifi, err = net.InterfaceByName(cfg.Interface); err != nil {
			return st, fmt.Errorf("recorder: interface %q: %w", cfg.Interface, err)
		}
	}
	sock, err := openSocket(ctx, &cfg, ifi)
	if err != nil {
		return st, err
	}
	st.LinkType = sock.linkType
	defer sock.close()
	r := &run{cfg: &cfg, sock: sock, st: &st, linkType: sock.linkType}
	err = r.loop(ctx)
	if cfg.Progress != nil && len(st.Files) > 0 {
		st.WriteSummary(cfg.Progress)
	}
	return st, err
}

type run struct {
	cfg      *Config
	sock     *socket
	st       *Stats
	linkType uint32
	w        *diskWriter
	cur      *chunk    // chunk being filled; nil while every chunk is with the writer
	now      time.Time // when the last receive returned
	// The current file as the receiver sees it: the frames it has given
	// the writer for it, their size, and when it was started.
	fileIndex    int
	fileFrames   uint64
	fileBytes    int64
	fileOpenedAt time.Time
	accepted     uint64 // frames given to the writer, for Count
	lastCount    uint32 // drop count carried by the previous written frame
	// pendingGap: frames the recorder dropped itself since the last
	// written frame; they join the next frame's gap (or the tail).
	pendingGap uint64
}

// start opens the first file and the writer.
func (r *run) start(now time.Time) error {
	o, err := openOutput(FileName(r.cfg.Output, 0, r.cfg.MaxFiles), r.linkType, r.cfg.Snaplen, r.cfg.Overwrite)
	if err != nil {
		return err
	}
	r.w = newDiskWriter(o, r.cfg, r.linkType)
	r.fileOpenedAt, r.fileBytes = now, 24
	r.cur = r.w.get()
	return nil
}

// end stops the writer and copies its figures into the Stats.
func (r *run) end() error {
	err := r.w.stop()
	r.st.Frames = r.w.frames
	r.st.GapEvents = r.w.gapEvents
	r.st.GapFrames = r.w.gapFrames
	r.st.Files = r.w.files
	return err
}

func (r *run) loop(ctx context.Context) (err error) {
	start := time.Now()
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = start.Add(r.cfg.Duration)
	}
	if err := r.start(start); err != nil {
		return err
	}
	if r.cfg.Progress != nil {
		first := FileName(r.cfg.Output, 0, r.cfg.MaxFiles)
		fmt.Fprintf(r.cfg.Progress, "gapan record: listening on %s, writing %s and %s\n", r.cfg.Interface, first, sidecar.PathFor(first))
	}
	if r.cfg.Started != nil {
		r.cfg.Started()
	}
	pace := newPacer(r.cfg.Holdoff, r.sock.rcvbufBytes, r.cfg.Batch, start)
	for {
		if ctx.Err() != nil || r.w.failed.Load() {
			break
		}
		n, done, err := r.receive(false)
		if err != nil {
			r.end()
			return err
		}
		if done {
			return r.finish(false)
		}
		if d := pace.after(n, r.now); d > 0 {
			time.Sleep(d)
		}
		if !deadline.IsZero() && !r.now.Before(deadline) {
			break
		}
		if r.cur != nil && r.cur.frames > 0 && r.now.Sub(r.cur.started) >= r.cfg.FlushEvery {
			r.handOver()
		}
		if r.cur == nil {
			r.cur = r.w.get()
		}
	}
	if r.w.failed.Load() {
		return r.end()
	}
	return r.finish(true)
}

// receive takes one batch from the socket and queues it; done reports
// that Count frames have been captured or the file limit reached.
func (r *run) receive(nonblock bool) (n int, done bool, err error) {
	if n, err = r.sock.recv(nonblock); err != nil {
		return 0, false, err
	}
	r.now = time.Now()
	done, err = r.handle(n)
	return n, done, err
}

// handOver queues the current chunk for the writer and takes a free one
// (nil if there is none).
func (r *run) handOver() {
	r.w.put(r.cur)
	r.cur = r.w.get()
}

// drop counts frames the recorder could not queue: they are lost, before
// the next frame it writes.
func (r *run) drop(n int) {
	r.st.RecorderDrops += uint64(n)
	r.pendingGap += uint64(n)
}

// handle queues the n frames of the last receive; done reports that Count
// frames have been captured or the file limit reached.
func (r *run) handle(n int) (done bool, err error) {
	for i := range n {
		if r.cur == nil {
			if r.cur = r.w.get(); r.cur == nil {
				r.drop(n - i)
				return false, nil
			}
		}
		data, origLen, fi := r.sock.frame(i)
		if !r.cur.fits(len(data)) {
			if r.handOver(); r.cur == nil {
				r.drop(n - i)
				return false, nil
			}
		}
		// A frame that does not fit the last file (-W) is neither
		// captured nor lost, so its gap stays in the tail.
		last, err := r.maybeRotate(len(data))
		if err != nil || last {
			return last, err
		}
		if r.cur == nil {
			r.drop(n - i)
			return false, nil
		}
		gap := uint64(fi.dropCount-r.lastCount) + r.pendingGap // uint32 arithmetic: survives the counter's wrap
		r.lastCount, r.pendingGap = fi.dropCount, 0
		tsNs := fi.tsNs
		if !fi.hasTs {
			tsNs = time.Now().UnixNano()
		}
		c := r.cur
		if c.frames == 0 {
			c.started = r.now
		}
		c.pcap = appendPcapRecord(c.pcap, tsNs, data, origLen)
		c.frames++
		r.fileFrames++
		r.fileBytes += 16 + int64(len(data))
		if gap > 0 {
			c.gaps = append(c.gaps, sidecar.Record{Frame: r.fileFrames, Gap: gap})
		}
		r.accepted++
		if r.cfg.Count > 0 && r.accepted >= r.cfg.Count {
			return true, nil
		}
	}
	return false, nil
}

// maybeRotate starts the next file before a frame of capLen bytes if the
// current file is full or old enough. Loss since the last frame of the old
// file is the gap of the first frame of the new one, so the old file's tail
// gap is 0; its kernel totals are PACKET_STATISTICS since the previous read.
// It reports last when the file is full and MaxFiles without RotateMB says
// it was the last one: the capture ends before that frame.
func (r *run) maybeRotate(capLen int) (last bool, err error) {
	if r.fileFrames == 0 {
		return false, nil
	}
	bySize := r.cfg.RotateMB > 0 && r.fileBytes+16+int64(capLen) > int64(r.cfg.RotateMB)*1_000_000
	byAge := r.cfg.RotateEvery > 0 && r.now.Sub(r.fileOpenedAt) >= r.cfg.RotateEvery
	if !bySize && !byAge {
		return false, nil
	}
	if r.cfg.MaxFiles > 0 && r.cfg.RotateMB == 0 && r.fileIndex+1 == r.cfg.MaxFiles {
		if r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "gapan record: maximum file limit reached: %d\n", r.cfg.MaxFiles)
		}
		return true, nil // as tcpdump -G -W
	}
	packets, drops, err := r.sock.statistics()
	if err != nil {
		return false, err
	}
	r.st.KernelPackets += uint64(packets)
	r.st.KernelDrops += uint64(drops)
	r.fileIndex++
	r.cur.end = &fileEnd{
		trailer: sidecar.Trailer{HasKernel: true, KernelPackets: uint64(packets), KernelDrops: uint64(drops)},
		next:    FileName(r.cfg.Output, r.fileIndex, r.cfg.MaxFiles),
		// A ring coming round replaces its own oldest file.
		replace: r.cfg.Overwrite || r.cfg.MaxFiles > 0 && r.fileIndex >= r.cfg.MaxFiles,
	}
	r.handOver()
	r.fileFrames, r.fileBytes, r.fileOpenedAt = 0, 24, r.now
	return false, nil
}

// finish ends the capture: freeze the socket's counters, drain what is
// queued (unless Count was reached), then have the writer write the last
// trailer.
func (r *run) finish(drain bool) error {
	if err := r.sock.freeze(); err != nil {
		r.end()
		return err
	}
	for drain && !r.w.failed.Load() {
		n, done, err := r.receive(true)
		if err != nil {
			r.end()
			return err
		}
		if n == 0 || done {
			break
		}
	}
	total, err := r.sock.drops()
	if err != nil {
		r.end()
		return err
	}
	tail := uint64(total-r.lastCount) + r.pendingGap
	packets, drops, err := r.sock.statistics()
	if err != nil {
		r.end()
		return err
	}
	r.st.TailGap = tail
	r.st.KernelPackets += uint64(packets)
	r.st.KernelDrops += uint64(drops)
	t := sidecar.Trailer{HasKernel: true, KernelPackets: uint64(packets), KernelDrops: uint64(drops)}
	if tail > 0 {
		t.Tail = []sidecar.InterfaceGap{{Interface: 0, Lost: tail}}
	}
	if r.cur == nil {
		if r.cur = r.w.wait(); r.cur == nil {
			return r.end() // the writer failed
		}
	}
	r.cur.end = &fileEnd{trailer: t}
	r.w.put(r.cur)
	r.cur = nil
	return r.end()
}
