package loss

// estimator computes each flow's est_lost (docs/metrics.md). A gap's lost
// frames go first to the flows whose own evidence claimed them: the
// explanation assigns gap capacity to capture-lost TCP data and missing
// RTP packets, and each frame so assigned counts for that flow. The rest
// of the gap is shared among the flows seen around it — the w frames
// before it and the w frames from it on — each frame taking an equal part,
// so a flow's part is proportional to its packet rate there.
type estimator struct {
	w     int
	ring  []*acct // the last 2w frames' flows, by global index mod 2w
	last  uint64  // global index of the newest frame in the ring
	pend  []pendGap
	head  int
	ready []readyGap // windows complete, waiting for the explanation
	other float64    // parts of frames that belong to no flow
}

type pendGap struct {
	at   uint64 // global index of the frame after the gap (last+1 for a tail)
	lost float64
	tail bool
}

// readyGap is a gap whose window is known: the flows in it with how many
// frames each had there.
type readyGap struct {
	pendGap
	frames int
	shares []share
	round  uint64 // explanation round during which the window completed
}

type share struct {
	a *acct
	n int
}

func (s *estimator) init(w int) {
	s.w = w
	s.ring = make([]*acct, 2*w)
}

// gap registers lost frames just before global frame at.
func (s *estimator) gap(at uint64, lost float64) {
	s.pend = append(s.pend, pendGap{at: at, lost: lost})
}

// tail registers loss after the last frame: shared over the last w frames.
func (s *estimator) tail(lost float64) {
	s.pend = append(s.pend, pendGap{at: s.last + 1, lost: lost, tail: true})
}

// push records the flow of global frame gi and takes a snapshot of the
// windows that are now complete.
func (s *estimator) push(gi uint64, a *acct, round uint64) {
	s.ring[gi%uint64(len(s.ring))] = a
	s.last = gi
	for s.head < len(s.pend) && s.pend[s.head].at+uint64(s.w)-1 <= gi {
		s.snapshot(s.pend[s.head], round)
		s.head++
	}
	if s.head == len(s.pend) {
		s.pend, s.head = s.pend[:0], 0
	} else if s.head >= 1024 && 2*s.head >= len(s.pend) {
		// With a gap before every frame the queue is never empty: without
		// this it would keep every gap of the capture (2 M gaps: 48 MB).
		n := copy(s.pend, s.pend[s.head:])
		s.pend, s.head = s.pend[:n], 0
	}
}

// snapshot records which flows the frames of g's window belong to.
func (s *estimator) snapshot(g pendGap, round uint64) {
	lo := uint64(1)
	if g.at > uint64(s.w) {
		lo = g.at - uint64(s.w)
	}
	hi := min(g.at+uint64(s.w)-1, s.last)
	if s.last >= uint64(len(s.ring)) && lo <= s.last-uint64(len(s.ring)) {
		lo = s.last - uint64(len(s.ring)) + 1
	}
	r := readyGap{pendGap: g, round: round}
	for i := lo; i <= hi && hi >= lo; i++ {
		a := s.ring[i%uint64(len(s.ring))]
		r.frames++
		found := false
		for k := range r.shares {
			if r.shares[k].a == a {
				r.shares[k].n++
				found = true
				break
			}
		}
		if !found {
			r.shares = append(r.shares, share{a: a, n: 1})
		}
	}
	s.ready = append(s.ready, r)
}

// distribute shares out the unclaimed part of the ready gaps whose window
// completed before round `before` (all of them when final). left gives
// what the explanation left unclaimed of a gap.
func (s *estimator) distribute(before uint64, final bool, left func(at uint64) float64) {
	if final {
		for ; s.head < len(s.pend); s.head++ {
			s.snapshot(s.pend[s.head], before)
		}
		s.pend, s.head = s.pend[:0], 0
	}
	keep := s.ready[:0]
	for _, r := range s.ready {
		if !final && r.round >= before {
			keep = append(keep, r)
			continue
		}
		rest := r.lost
		if !r.tail {
			rest = left(r.at)
		}
		if r.frames == 0 {
			s.other += rest
			continue
		}
		part := rest / float64(r.frames)
		for _, sh := range r.shares {
			if sh.a != nil {
				sh.a.c().EstLost += part * float64(sh.n)
			} else {
				s.other += part * float64(sh.n)
			}
		}
	}
	clear(s.ready[len(keep):])
	s.ready = keep
}
