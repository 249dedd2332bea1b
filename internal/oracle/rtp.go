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

// walkStreams follows the RTP streams of one direction (side) of the UDP
// flow made of frames m, over the frames present: a stream is confirmed by
// 4 consecutive datagrams of version 2 with the same SSRC and sequence
// steps of 1 to 100 (RTCP payload types skipped). visit is called for each
// packet of a confirmed stream after its confirming packet, with its
// unwrapped sequence number and whether it is older than the stream's
// newest packet so far (late).
func walkStreams(fr []frame, m []int, side int, present func(int) bool, visit func(i int, st *rtpStream, u uint64, late bool)) map[uint32]*rtpStream {
	streams := map[uint32]*rtpStream{}
	var (
		run  int
		cur  uint32
		last uint16
	)
	for _, i := range m {
		f := &fr[i]
		if f.side() != side || !present(i) {
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
			visit(i, st, u, u < st.top)
			st.top = max(st.top, u)
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
	return streams
}

// rtpTruth finds, per direction of the UDP flow made of frames m, the RTP
// streams the damaged capture confirms, and counts the deleted packets of
// each that lie strictly between the confirming packet and the highest
// surviving one; and, in the original, the late packets that were deleted.
func rtpTruth(fr []frame, m []int, del func(int) bool) *RTP {
	t := &RTP{}
	for side := range 2 {
		walkStreams(fr, m, side, func(int) bool { return true }, func(i int, _ *rtpStream, _ uint64, late bool) {
			if late && del(i) {
				t.LateDeleted++
			}
		})
		streams := walkStreams(fr, m, side, func(i int) bool { return !del(i) }, func(_ int, st *rtpStream, u uint64, _ bool) {
			st.surviving[u] = true
		})
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
