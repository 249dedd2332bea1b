package flow

// Reason says why a flow ended.
type Reason uint8

const (
	// ReasonActive: the flow has not ended.
	ReasonActive Reason = iota
	// ReasonIdle: no frame for longer than the idle timeout (capture time).
	ReasonIdle
	// ReasonEvicted: the table was full and this was the least recently
	// active flow.
	ReasonEvicted
	// ReasonPortReuse: a TCP SYN with a new initial sequence number started
	// a new flow on the same 5-tuple (Wireshark's "TCP port numbers reused").
	ReasonPortReuse
	// ReasonEndOfCapture: the flow was live when the capture ended (Flush).
	ReasonEndOfCapture
)

var reasonNames = [...]string{"active", "idle", "evicted", "port-reuse", "end-of-capture"}

// String returns the reason's name as used in reports.
func (r Reason) String() string {
	if int(r) < len(reasonNames) {
		return reasonNames[r]
	}
	return "unknown"
}

// Stats are the table's counters.
type Stats struct {
	Flows      uint64 // flows created
	Live       int    // flows live now
	PeakLive   int    // most flows live at once
	Idle       uint64 // flows ended by the idle timeout
	Evicted    uint64 // flows evicted by the MaxFlows cap
	PortReuse  uint64 // TCP flows ended by a new SYN on the same 5-tuple
	EndOfInput uint64 // flows ended by Flush
}
