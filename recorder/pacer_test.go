package recorder

import (
	"testing"
	"time"
)

const mib = 1 << 20

// TestPacerWaits checks the hold-off decisions against figures worked out
// by hand: 256 frames at the rate seen, capped at the hold-off.
func TestPacerWaits(t *testing.T) {
	t0 := time.Unix(1000, 0)
	us := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Microsecond) }

	// One frame per receive at 50,000 frames a second (20 µs apart): the
	// fourth makes a window of 4 frames in 80 µs, and 256 frames at that
	// rate take 5.12 ms.
	p := newPacer(10*time.Millisecond, 24*mib, 256, t0)
	for i := 1; i <= 3; i++ {
		if d := p.after(1, us(20*i)); d != 0 {
			t.Fatalf("receive %d of 1 frame: wait %v, want none (3 frames in the window)", i, d)
		}
	}
	if d := p.after(1, us(80)); d != 5120*time.Microsecond {
		t.Fatalf("4 frames in 80 µs: wait %v, want 5.12ms", d)
	}
	// The next window starts at that wait: a full batch 5.2 ms later
	// waits for nothing (more may be queued), the 3 frames after it
	// make 259 in 5.3 ms: 256 of them take 5.3 × 256/259 ms.
	if d := p.after(256, us(80+5200)); d != 0 {
		t.Fatalf("a full batch: wait %v, want none", d)
	}
	want := 5300 * time.Microsecond * 256 / 259
	if d := p.after(3, us(80+5300)); d != want {
		t.Fatalf("259 frames in 5.3 ms: wait %v, want %v", d, want)
	}

	// Thin traffic: 4 frames in a second would take 64 s for 256 frames;
	// the wait is capped at the hold-off.
	p = newPacer(10*time.Millisecond, 24*mib, 256, t0)
	if d := p.after(4, us(1_000_000)); d != 10*time.Millisecond {
		t.Fatalf("4 frames in 1 s: wait %v, want the 10ms cap", d)
	}

	// A receive that timed out empty starts the window afresh.
	p = newPacer(10*time.Millisecond, 24*mib, 256, t0)
	p.after(3, us(30))
	p.after(0, us(100_030))
	if d := p.after(3, us(100_060)); d != 0 {
		t.Fatalf("3 frames after a time-out: wait %v, want none (the 3 before it do not count)", d)
	}

	// The buffer bounds the frames let gather: 64 KiB holds a quarter
	// of 32 frames of 2 KiB, so 8 frames; 4 frames in 40 µs: 80 µs.
	p = newPacer(10*time.Millisecond, 64<<10, 256, t0)
	if d := p.after(4, us(40)); d != 80*time.Microsecond {
		t.Fatalf("64 KiB buffer, 4 frames in 40 µs: wait %v, want 80µs", d)
	}
	// Under 32 KiB (room for fewer than 4 frames), or a negative
	// hold-off: never.
	for _, tc := range []struct {
		holdoff time.Duration
		rcvbuf  int
	}{{10 * time.Millisecond, 24 << 10}, {-1, 24 * mib}} {
		p = newPacer(tc.holdoff, tc.rcvbuf, 256, t0)
		if d := p.after(100, us(100)); d != 0 {
			t.Errorf("hold-off %v, buffer %d: wait %v, want none", tc.holdoff, tc.rcvbuf, d)
		}
	}
}

// TestPacerWakeups runs the pacer against a model of a steady source and a
// receiver that a frame wakes 30 µs after it arrives: at 50,000 frames a
// second the receiver must take about 256 frames per hold-off, not one or
// two per wake-up. The model counts receives that returned frames; it
// measures no time.
func TestPacerWakeups(t *testing.T) {
	const (
		total   = 100_000
		gap     = 20 * time.Microsecond // 50,000 frames a second
		latency = 30 * time.Microsecond // from a frame to a blocked receiver running
		batch   = 256
	)
	t0 := time.Unix(1000, 0)
	arrival := func(i int) time.Time { return t0.Add(time.Duration(i) * gap) }
	p := newPacer(10*time.Millisecond, 24*mib, batch, t0)
	now, next, receives, waits := t0, 0, 0, 0
	for next < total {
		// Frames queued by now.
		queued := 0
		for next+queued < total && !arrival(next+queued).After(now) {
			queued++
		}
		if queued == 0 {
			now = arrival(next).Add(latency) // blocked until the next frame
			continue
		}
		n := min(queued, batch)
		next += n
		receives++
		if d := p.after(n, now); d > 0 {
			waits++
			now = now.Add(d)
		}
	}
	// 100,000 frames at 256 per hold-off: 391 hold-offs, and each is
	// followed by a receive or two of the frames that came meanwhile
	// (here, in the model, the receive itself takes no time).
	if waits < total/batch-10 || receives > 3*total/batch {
		t.Errorf("%d receives and %d hold-offs for %d frames; want about %d hold-offs and at most %d receives", receives, waits, total, total/batch, 3*total/batch)
	}
	t.Logf("%d receives, %d hold-offs for %d frames", receives, waits, total)
}
