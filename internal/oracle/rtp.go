package oracle

// RTP payload types 72-76 are RTCP on the RTP port (docs/metrics.md "RTP").
func rtcpType(pt uint8) bool { return pt >= 72 && pt <= 76 }

// rtpStream is one confirmed RTP stream of one direction of the damaged
// capture.
type rtpStream struct {
	confirm   uint64 // unwrapped sequence number of the confirming packet
	top       uint64 // highest unwrapped surviving sequence number
	ref       uint64 // latest unwrapped sequence number (for unwrapping)
	surviving map[uint64]bool
}

func (st *rtpStream) unwrap(v uint16) uint64 {
	u := uint64(int64(st.ref) + int64(int16(v-uint16(st.ref))))
	st.ref = u
	return u
}

// rtpTruth finds, per direction of the UDP flow made of frames m, the RTP
// streams the damaged capture confirms (4 consecutive datagrams of
// version 2 with the same SSRC and sequence steps of 1 to 100; RTCP
// payload types skipped) and counts the deleted packets of each that lie
// strictly between the confirming packet and the highest surviving one.
func rtpTruth(fr []frame, m []int, del func(int) bool) *RTP {
	t := &RTP{}
	for side := range 2 {
		streams := map[uint32]*rtpStream{}
		var (
			run  int
			cur  uint32
			last uint16
		)
		for _, i := range m {
			f := &fr[i]
			if f.side() != side || del(i) {
				continue
			}
			if !f.rtp {
				run = 0
				continue
			}
			if rtcpType(f.pt) {
				continue
			}
			if st := streams[f.ssrc]; st != nil {
				u := st.unwrap(f.rseq)
				st.top = max(st.top, u)
				st.surviving[u] = true
			}
			if run > 0 && f.ssrc == cur && uint16(f.rseq-last) >= 1 && uint16(f.rseq-last) <= 100 {
				run++
			} else {
				run, cur = 1, f.ssrc
			}
			last = f.rseq
			if run == 4 && streams[f.ssrc] == nil {
				u := 1<<40 + uint64(f.rseq)
				streams[f.ssrc] = &rtpStream{confirm: u, top: u, ref: u, surviving: map[uint64]bool{u: true}}
			}
		}
		t.Streams += len(streams)
		// The deleted packets, unwrapped near the stream's packets around
		// them: walk the side again in capture order.
		for _, st := range streams {
			st.ref = st.confirm
		}
		for _, i := range m {
			f := &fr[i]
			if f.side() != side || !f.rtp || rtcpType(f.pt) {
				continue
			}
			st := streams[f.ssrc]
			if st == nil {
				continue
			}
			if !del(i) {
				st.unwrap(f.rseq)
				continue
			}
			t.Deleted++
			u := st.unwrap(f.rseq)
			if u > st.confirm && u < st.top && !st.surviving[u] {
				t.Detectable++
			}
		}
	}
	return t
}
