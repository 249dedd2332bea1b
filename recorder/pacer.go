package recorder

import "time"

// pacer decides the receiver's hold-off: how long to let frames gather in
// the kernel's buffer after a receive that emptied the queue, so that they
// come hundreds per wake-up instead of one or two (see Config.Holdoff).
//
// The rate is measured over a window that starts when the receiver last
// went to sleep (or the capture started, or a receive timed out with no
// frame), not over the last receive alone: after a full batch the next
// receive returns the few frames that came meanwhile, and at 50,000 frames
// a second the receive after that wakes for every frame or two, too few to
// measure a rate by, though traffic flows. Counted over the window, the
// receiver sleeps after every few receives at any rate of at least
// pacerFrames frames per window, and wakes about once per most frames.
type pacer struct {
	max   time.Duration // the longest hold-off (Config.Holdoff); 0: none
	most  int           // frames to let gather, at the rate seen
	batch int           // frames per receive: a full one may leave more queued
	// The window: frames received since start.
	frames int
	start  time.Time
}

// pacerFrames is the least number of frames in a window that makes the
// receiver hold off: fewer, and the traffic is too thin to be worth it.
const pacerFrames = 4

// newPacer returns the pacer of a receiver that receives batch frames per
// call from a socket buffer of rcvbuf bytes. It lets at most
// holdoffMaxFrames frames, and at most a quarter of the buffer at 2 KiB a
// frame (a frame's charge on most drivers is below that), gather during a
// hold-off; with room for fewer than pacerFrames it never holds off.
func newPacer(holdoff time.Duration, rcvbuf, batch int, now time.Time) *pacer {
	p := &pacer{max: max(holdoff, 0), most: min(holdoffMaxFrames, rcvbuf/4/2048), batch: batch, start: now}
	if p.most < pacerFrames {
		p.max = 0
	}
	return p
}

// after returns how long to wait before the next receive, after one that
// returned n frames at now; when it returns a wait, a new window starts.
func (p *pacer) after(n int, now time.Time) time.Duration {
	if n == 0 { // a time-out: traffic stopped, measure afresh
		p.frames, p.start = 0, now
		return 0
	}
	p.frames += n
	if p.max <= 0 || n >= p.batch || p.frames < pacerFrames {
		return 0
	}
	d := min(p.max, now.Sub(p.start)*time.Duration(p.most)/time.Duration(p.frames))
	p.frames, p.start = 0, now
	return d
}
