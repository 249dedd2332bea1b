package loss

// estimator shares each gap's lost frames among the flows seen around it:
// the w frames before the gap and the w frames after it, each frame taking
// an equal part (so a flow's part is proportional to its packet rate
// there). A flow's est_lost is the sum of its parts (docs/metrics.md).
type estimator struct {
	w     int
	ring  []*acct // the last 2w frames' flows, by global index mod 2w
	last  uint64  // global index of the newest frame in the ring
	pend  []pendGap
	head  int
	other float64 // parts of frames that belong to no flow
}

type pendGap struct {
	at   uint64 // global index of the frame after the gap
	lost float64
}

func (s *estimator) init(w int) {
	s.w = w
	s.ring = make([]*acct, 2*w)
}

// gap registers lost frames just before global frame at.
func (s *estimator) gap(at uint64, lost float64) {
	s.pend = append(s.pend, pendGap{at: at, lost: lost})
}

// push records the flow of global frame gi and shares out the gaps whose
// window is now complete.
func (s *estimator) push(gi uint64, a *acct) {
	s.ring[gi%uint64(len(s.ring))] = a
	s.last = gi
	for s.head < len(s.pend) && s.pend[s.head].at+uint64(s.w)-1 <= gi {
		s.share(s.pend[s.head])
		s.head++
	}
	if s.head == len(s.pend) {
		s.pend, s.head = s.pend[:0], 0
	}
}

// share divides g.lost over the frames of its window that exist.
func (s *estimator) share(g pendGap) {
	lo := uint64(1)
	if g.at > uint64(s.w) {
		lo = g.at - uint64(s.w)
	}
	hi := min(g.at+uint64(s.w)-1, s.last)
	if s.last >= uint64(len(s.ring)) && lo <= s.last-uint64(len(s.ring)) {
		lo = s.last - uint64(len(s.ring)) + 1
	}
	if hi < lo {
		s.other += g.lost
		return
	}
	part := g.lost / float64(hi-lo+1)
	for i := lo; i <= hi; i++ {
		if a := s.ring[i%uint64(len(s.ring))]; a != nil {
			a.EstLost += part
		} else {
			s.other += part
		}
	}
}

// tail registers loss after the last frame: shared over the last w frames.
func (s *estimator) tail(lost float64) {
	s.pend = append(s.pend, pendGap{at: s.last + 1, lost: lost})
}

// finish shares out every gap still waiting, with the frames there are.
func (s *estimator) finish() {
	for ; s.head < len(s.pend); s.head++ {
		s.share(s.pend[s.head])
	}
	s.pend, s.head = s.pend[:0], 0
}
