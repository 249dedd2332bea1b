// Package flow is the vocabulary of gapan's bidirectional flows: a flow's
// canonical Key (both endpoints, ports, IP protocol and VLAN ids; the
// EtherType for non-IP frames), the Direction of a frame in its flow
// (Forward = sent by the endpoint that sent the flow's first frame), the
// Reason a flow ended and the flow table's Stats, as loss.Summary and
// loss.Flow report them.
//
//	k, fromA := flow.KeyOf(&pkt) // pkt: a decode.Packet
//	// k is the same for both directions of a flow; fromA says which
//	// endpoint of k sent pkt.
//
// The bounded flow table itself (flows numbered from 0 in the order of
// their first frame, across all protocols; a new flow on a TCP SYN that
// reuses a 5-tuple, as Wireshark's tcp.stream does; idle timeout and
// MaxFlows eviction in capture time) is internal to the loss accounting
// (internal/flowtab), which runs it for every frame: docs/decoding.md.
package flow
