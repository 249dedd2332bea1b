package loss

// GTPUCounters are the figures of GTP-U's sequence numbers (3GPP TS
// 29.281: G-PDUs with the S flag), per tunnel endpoint (TEID) within a
// flow: gtpu_* in docs/metrics.md.
type GTPUCounters struct {
	GTPUPackets      uint64 `json:"gtpu_packets"`
	GTPULostCapture  uint64 `json:"gtpu_lost_capture"`
	GTPULostUpstream uint64 `json:"gtpu_lost_upstream"`
	GTPULate         uint64 `json:"gtpu_late"`
	GTPUDuplicates   uint64 `json:"gtpu_duplicates"`
	GTPURestarts     uint64 `json:"gtpu_restarts"`
}

func (c *GTPUCounters) add(o *GTPUCounters) {
	c.GTPUPackets += o.GTPUPackets
	c.GTPULostCapture += o.GTPULostCapture
	c.GTPULostUpstream += o.GTPULostUpstream
	c.GTPULate += o.GTPULate
	c.GTPUDuplicates += o.GTPUDuplicates
	c.GTPURestarts += o.GTPURestarts
}

// gtpuFamily: 16-bit numbers that wrap, one stream per TEID and
// direction (a flow between two gateways carries many). A jump beyond
// 3,000 is a restart, as for RTP (rtpMaxStep).
var gtpuFamily = seqFamily{
	evidence: EvidenceGTPU,
	bits:     16,
	maxStep:  rtpMaxStep,
	reorder:  64,
	outside:  FateUpstream,
	label:    "GTP-U", prefix: "gtpu", outsideName: "lost_upstream", outsideWords: "lost upstream",
	counts: func(c *Counters) seqCounts {
		g := &c.GTPUCounters
		return seqCounts{&g.GTPUPackets, &g.GTPULostCapture, &g.GTPULostUpstream, &g.GTPULate, &g.GTPUDuplicates, &g.GTPURestarts}
	},
}
