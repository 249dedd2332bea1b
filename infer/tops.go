package infer

import (
	"github.com/gapan/gapan/decode"
	"github.com/gapan/gapan/loss"
)

// topsRing is how many of the latest frames tops remembers.
const topsRing = 1 << 16

// topFrames is, for a frame, the last frame before it of each direction
// of its flow that carried TCP data beyond the direction's highest
// sequence number so far (0: none).
type topFrames struct {
	global uint64
	dir    uint8
	data   bool // the frame carried TCP payload
	tops   [2]uint64
}

// dirTop is a direction's highest sequence number and the frame that
// reached it.
type dirTop struct {
	end   uint32
	frame uint64
}

// tops tightens the start of the engine's brackets. The engine opens a
// bracket a few top-advancing frames back (loss.Fate.Lo), to hold loss
// even where the capture reordered a flow's segments; when a gap event
// cut holes into several flows, such long brackets reach over the gaps
// before it and merge events that are not one. tops remembers, for the
// latest topsRing frames, the frame that last advanced each direction of
// the frame's flow, so that evidence revealed by a frame still in reach
// gets the bracket start of that last advance (docs/infer.md).
type tops struct {
	flows   map[uint64]*[2]dirTop
	ring    []topFrames
	pending map[uint64][]int // frame → evidence told on it before it was seen
	ev      *[]Evidence
}

func newTops(ev *[]Evidence) *tops {
	return &tops{flows: map[uint64]*[2]dirTop{}, ring: make([]topFrames, topsRing), pending: map[uint64][]int{}, ev: ev}
}

// frame records frame info (analyze.Config.Frame: after the accounting).
func (t *tops) frame(info *loss.FrameInfo) {
	d := uint8(info.Dir) & 1
	ft := t.flows[info.FlowID]
	if ft == nil {
		ft = new([2]dirTop)
		t.flows[info.FlowID] = ft
	}
	p := info.Packet
	data := p != nil && p.Flags&decode.FlagTCP != 0 && p.PayloadLen > 0
	r := &t.ring[info.Global%topsRing]
	*r = topFrames{global: info.Global, dir: d, data: data, tops: [2]uint64{ft[0].frame, ft[1].frame}}
	if len(t.pending) > 0 {
		for _, i := range t.pending[info.Global] {
			t.tighten(&(*t.ev)[i], r)
		}
		delete(t.pending, info.Global)
	}
	if !data {
		return
	}
	end := p.TCP.Seq + uint32(p.PayloadLen)
	if top := &ft[d]; top.frame == 0 || int32(end-top.end) > 0 {
		top.end, top.frame = end, info.Global
	}
}

// forget drops the directions of flow id, which has ended: a frame of
// it can come no more (loss.Config.OnFlow).
func (t *tops) forget(id uint64) { delete(t.flows, id) }

// evidence tightens the last evidence added, or waits for its frame.
func (t *tops) evidence() {
	i := len(*t.ev) - 1
	e := &(*t.ev)[i]
	r := &t.ring[e.Frame%topsRing]
	switch {
	case r.global == e.Frame:
		t.tighten(e, r)
	case r.global < e.Frame:
		t.pending[e.Frame] = append(t.pending[e.Frame], i)
	}
}

// tighten moves e.Lo up to the last frame before e.Frame that advanced
// the sender's direction: the frame's own for data after a hole, the
// other one for an acknowledgement of data never seen. A hole revealed
// by a frame without data (a pure ACK or a FIN whose sequence number
// runs ahead: the capture holds it before data sent earlier) may end
// after it, so such a bracket ends at the acknowledgement that showed
// the receiver had the data (e.Ref) instead.
func (t *tops) tighten(e *Evidence, r *topFrames) {
	d := r.dir
	if e.Acked {
		d ^= 1
	}
	if lo := r.tops[d]; lo > e.Lo && lo < e.Frame {
		e.Lo = lo
	}
	if !e.Acked && !r.data && e.Ref > e.Frame {
		e.Frame = e.Ref
	}
}
