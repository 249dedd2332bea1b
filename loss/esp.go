package loss

// ESPCounters are the figures of IPsec ESP's sequence numbers (RFC 4303),
// per security association (SPI) within a flow: esp_* in
// docs/metrics.md.
type ESPCounters struct {
	ESPPackets      uint64 `json:"esp_packets"`
	ESPLostCapture  uint64 `json:"esp_lost_capture"`
	ESPLostUpstream uint64 `json:"esp_lost_upstream"`
	ESPLate         uint64 `json:"esp_late"`
	ESPDuplicates   uint64 `json:"esp_duplicates"`
	ESPRestarts     uint64 `json:"esp_restarts"`
}

func (c *ESPCounters) add(o *ESPCounters) {
	c.ESPPackets += o.ESPPackets
	c.ESPLostCapture += o.ESPLostCapture
	c.ESPLostUpstream += o.ESPLostUpstream
	c.ESPLate += o.ESPLate
	c.ESPDuplicates += o.ESPDuplicates
	c.ESPRestarts += o.ESPRestarts
}

// espFamily: 32-bit numbers, one stream per SPI and direction. An SA's
// counter starts at 1 and must not cycle (RFC 4303 3.3.3): a new SA
// takes a new SPI, and a number far from the last (a wrap without
// extended sequence numbers, an SA set up again with the same SPI) is a
// restart. With extended sequence numbers only the low 32 bits travel,
// and taken modulo 2^32 they continue across the wrap. The reorder
// window is the default anti-replay window (RFC 4303 3.4.3: 64).
var espFamily = seqFamily{
	evidence: EvidenceESP,
	bits:     32,
	maxStep:  1 << 16,
	reorder:  64,
	outside:  FateUpstream,
	label:    "ESP", prefix: "esp", outsideName: "lost_upstream", outsideWords: "lost upstream",
	counts: func(c *Counters) seqCounts {
		e := &c.ESPCounters
		return seqCounts{&e.ESPPackets, &e.ESPLostCapture, &e.ESPLostUpstream, &e.ESPLate, &e.ESPDuplicates, &e.ESPRestarts}
	},
}
