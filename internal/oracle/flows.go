package oracle

import "time"

// IdleTimeout is gapan's default flow idle timeout (docs/metrics.md
// "Flows"), which the oracle's flow identity follows.
const IdleTimeout = 5 * time.Minute

// flowRec is one flow found by assignFlows.
type flowRec struct {
	first   int  // index of its first frame
	fromLo  bool // its first frame was sent by key.lo
	lastNs  int64
	base    [2]uint32 // per sender (0: lo, 1: hi): the Wireshark base sequence number
	hasBase [2]bool
}

// side is 0 for frames sent by the key's lower endpoint, 1 for the other.
func (f *frame) side() int {
	if f.fromLo {
		return 0
	}
	return 1
}

// assignFlows gives each present frame a flow (index into the returned
// list; -1 for frames not present), by the rules of docs/metrics.md
// "Flows" and docs/decoding.md: a bidirectional key; a flow idle for
// longer than IdleTimeout (capture time: the largest timestamp seen) ends;
// a TCP SYN without ACK whose sequence number differs from its sender's
// base sequence number (the ISN of a SYN, seq-1 of any other first
// segment) starts a new flow.
func assignFlows(frames []frame, present func(i int) bool) ([]int32, []flowRec) {
	ids := make([]int32, len(frames))
	var flows []flowRec
	live := map[key]int32{}
	var now int64
	for i := range frames {
		f := &frames[i]
		if !present(i) {
			ids[i] = -1
			continue
		}
		now = max(now, f.ns)
		id, ok := live[f.key]
		if ok {
			fl := &flows[id]
			s := f.side()
			switch {
			case now-fl.lastNs > int64(IdleTimeout):
				ok = false
			case f.tcp && f.flags&(fSYN|fACK) == fSYN && fl.hasBase[s] && fl.base[s] != f.seq:
				ok = false
			}
		}
		if !ok {
			id = int32(len(flows))
			flows = append(flows, flowRec{first: i, fromLo: f.fromLo})
			live[f.key] = id
		}
		fl := &flows[id]
		fl.lastNs = f.ns
		if s := f.side(); f.tcp && !fl.hasBase[s] {
			fl.hasBase[s] = true
			fl.base[s] = f.seq - 1
			if f.flags&fSYN != 0 {
				fl.base[s] = f.seq
			}
		}
		ids[i] = id
	}
	return ids, flows
}
