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
// not nil, for the part of the capture that succeeded.
func Run(ctx context.Context, cfg Config) (Stats, error) {
	var st Stats
	if err := normalize(&cfg); err != nil {
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
	return st, r.loop(ctx)
}

func normalize(cfg *Config) error {
	if cfg.Interface == "" {
		return fmt.Errorf("%w: no interface", ErrConfig)
	}
	if cfg.Output == "" {
		return fmt.Errorf("%w: no output file", ErrConfig)
	}
	if cfg.Output == "-" {
		return fmt.Errorf("%w: the recorder writes a pcap and its sidecar and cannot write to stdout", ErrConfig)
	}
	if cfg.Snaplen == 0 {
		cfg.Snaplen = DefaultSnaplen
	}
	if cfg.Snaplen < 0 || cfg.Snaplen > DefaultSnaplen {
		return fmt.Errorf("%w: snaplen %d out of range 1..%d", ErrConfig, cfg.Snaplen, DefaultSnaplen)
	}
	if cfg.Interface == AnyInterface {
		// As libpcap: room for the LINUX_SLL2 header and a byte.
		cfg.Snaplen = max(cfg.Snaplen, sll2Len+1)
	}
	if cfg.BufferKiB < 0 || cfg.BufferKiB > 1<<21 {
		return fmt.Errorf("%w: buffer size %d KiB out of range 0..%d", ErrConfig, cfg.BufferKiB, 1<<21)
	}
	if cfg.RotateMB < 0 || cfg.RotateEvery < 0 || cfg.Duration < 0 || cfg.FlushEvery < 0 || cfg.MaxFiles < 0 {
		return fmt.Errorf("%w: negative size, duration or file count", ErrConfig)
	}
	if cfg.MaxFiles > 0 && cfg.RotateMB == 0 && cfg.RotateEvery == 0 {
		return fmt.Errorf("%w: a file count (-W) needs rotation by size (-C) or time (-G)", ErrConfig)
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Batch < 1 || cfg.Batch > 1024 {
		return fmt.Errorf("%w: batch %d out of range 1..1024", ErrConfig, cfg.Batch)
	}
	if cfg.FlushEvery == 0 {
		cfg.FlushEvery = time.Second
	}
	return nil
}

type run struct {
	cfg       *Config
	sock      *socket
	st        *Stats
	linkType  uint32
	out       *output
	fileIndex int
	lastCount uint32 // drop count carried by the previous frame
}

func (r *run) loop(ctx context.Context) (err error) {
	start := time.Now()
	var deadline time.Time
	if r.cfg.Duration > 0 {
		deadline = start.Add(r.cfg.Duration)
	}
	if err := r.open(start); err != nil {
		return err
	}
	defer func() {
		if err != nil && r.out != nil {
			r.out.abort()
		}
	}()
	if r.cfg.Started != nil {
		r.cfg.Started()
	}
	lastFlush := start
	for {
		if ctx.Err() != nil {
			break
		}
		n, err := r.sock.recv(false)
		if err != nil {
			return err
		}
		done, err := r.handle(n)
		if err != nil || done {
			if err != nil {
				return err
			}
			return r.finish(false)
		}
		now := time.Now()
		if !deadline.IsZero() && !now.Before(deadline) {
			break
		}
		if now.Sub(lastFlush) >= r.cfg.FlushEvery {
			if err := r.out.flush(); err != nil {
				return err
			}
			lastFlush = now
		}
	}
	return r.finish(true)
}

// handle writes the n frames of the last receive; done reports that Count
// frames have been captured.
func (r *run) handle(n int) (done bool, err error) {
	for i := range n {
		data, origLen, fi := r.sock.frame(i)
		// A frame that does not fit the last file (-W) is neither
		// captured nor lost, so its gap stays in the tail.
		if last, err := r.maybeRotate(len(data)); err != nil || last {
			return last, err
		}
		gap := uint64(fi.dropCount - r.lastCount) // uint32 arithmetic: survives the counter's wrap
		r.lastCount = fi.dropCount
		tsNs := fi.tsNs
		if !fi.hasTs {
			tsNs = time.Now().UnixNano()
		}
		if err := r.out.write(tsNs, data, origLen, gap); err != nil {
			return false, err
		}
		r.st.Frames++
		if gap > 0 {
			r.st.GapEvents++
			r.st.GapFrames += gap
		}
		if r.cfg.Count > 0 && r.st.Frames >= r.cfg.Count {
			return true, nil
		}
	}
	return false, nil
}

func (r *run) open(now time.Time) error {
	name := FileName(r.cfg.Output, r.fileIndex, r.cfg.MaxFiles)
	o, err := openOutput(name, r.linkType, r.cfg.Snaplen, now)
	if err != nil {
		return err
	}
	r.out = o
	if r.cfg.MaxFiles > 0 && len(r.st.Files) == r.cfg.MaxFiles {
		// The ring came round: name is the oldest file, now overwritten.
		r.st.Files = append(r.st.Files[:0], r.st.Files[1:]...)
	}
	r.st.Files = append(r.st.Files, name)
	return nil
}

// maybeRotate starts the next file before a frame of capLen bytes if the
// current file is full or old enough. Loss since the last frame of the old
// file is the gap of the first frame of the new one, so the old file's tail
// gap is 0; its kernel totals are PACKET_STATISTICS since the previous read.
// It reports last when the file is full and MaxFiles without RotateMB says
// it was the last one: the capture ends before that frame.
func (r *run) maybeRotate(capLen int) (last bool, err error) {
	o := r.out
	if o.frames == 0 {
		return false, nil
	}
	bySize := r.cfg.RotateMB > 0 && o.sizeBytes+16+int64(capLen) > int64(r.cfg.RotateMB)*1_000_000
	now := time.Time{}
	byAge := false
	if r.cfg.RotateEvery > 0 {
		now = time.Now()
		byAge = now.Sub(o.openedAt) >= r.cfg.RotateEvery
	}
	if !bySize && !byAge {
		return false, nil
	}
	if r.cfg.MaxFiles > 0 && r.cfg.RotateMB == 0 && r.fileIndex+1 == r.cfg.MaxFiles {
		if r.cfg.Progress != nil {
			fmt.Fprintf(r.cfg.Progress, "gapan record: maximum file limit reached: %d\n", r.cfg.MaxFiles)
		}
		return true, nil // as tcpdump -G -W
	}
	if now.IsZero() {
		now = time.Now()
	}
	packets, drops, err := r.sock.statistics()
	if err != nil {
		return false, err
	}
	r.st.KernelPackets += uint64(packets)
	r.st.KernelDrops += uint64(drops)
	if err := o.close(sidecar.Trailer{HasKernel: true, KernelPackets: uint64(packets), KernelDrops: uint64(drops)}); err != nil {
		return false, err
	}
	r.progress(o)
	r.out = nil
	r.fileIndex++
	return false, r.open(now)
}

// finish ends the capture: freeze the socket's counters, drain what is
// queued (unless Count was reached), then write the last trailer.
func (r *run) finish(drain bool) error {
	if err := r.sock.freeze(); err != nil {
		return err
	}
	if drain {
		for {
			n, err := r.sock.recv(true)
			if err != nil {
				return err
			}
			if n == 0 {
				break
			}
			done, err := r.handle(n)
			if err != nil {
				return err
			}
			if done {
				break
			}
		}
	}
	total, err := r.sock.drops()
	if err != nil {
		return err
	}
	tail := uint64(total - r.lastCount)
	packets, drops, err := r.sock.statistics()
	if err != nil {
		return err
	}
	r.st.TailGap = tail
	r.st.KernelPackets += uint64(packets)
	r.st.KernelDrops += uint64(drops)
	t := sidecar.Trailer{HasKernel: true, KernelPackets: uint64(packets), KernelDrops: uint64(drops)}
	if tail > 0 {
		t.Tail = []sidecar.InterfaceGap{{Interface: 0, Lost: tail}}
	}
	o := r.out
	r.out = nil
	if err := o.close(t); err != nil {
		return err
	}
	r.progress(o)
	return nil
}

func (r *run) progress(o *output) {
	if r.cfg.Progress == nil {
		return
	}
	fmt.Fprintf(r.cfg.Progress, "gapan record: wrote %s: %d frames, %d gap events, %d frames lost before them\n",
		o.name, o.frames, o.gapEvents, o.gapFrames)
}
