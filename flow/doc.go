// Package flow groups decoded packets into bidirectional flows.
//
// A flow is identified by a canonical Key (both endpoints, ports, IP
// protocol and VLAN ids; the EtherType for non-IP frames). Each frame gets
// the flow's record and a Direction (Forward = sent by the endpoint that
// sent the flow's first frame). Flows are numbered from 0 in the order of
// their first frame, across all protocols. A TCP SYN that reuses a 5-tuple
// with a new initial sequence number starts a new flow, as Wireshark's
// tcp.stream does. The table is bounded: flows end after an idle timeout
// (capture time) or are evicted at the MaxFlows cap, and every end is
// reported to OnEnd with its Reason.
//
//	tab := flow.NewTable(flow.Options[MyState]{
//		IdleTimeout: 2 * time.Minute,
//		MaxFlows:    1 << 20,
//		OnEnd:       func(f *flow.Flow[MyState]) { /* emit f */ },
//	})
//	f, dir := tab.Lookup(&pkt, tsNs) // f.State is MyState, stored inline
//	...
//	tab.Flush() // end of capture: ends the live flows in flow-id order
package flow
