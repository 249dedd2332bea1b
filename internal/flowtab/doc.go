// Package flowtab is the bounded table of bidirectional flows that the
// loss accounting runs for every frame. Each frame gets its flow's record
// (flow.Key, counts, the caller's per-flow state S stored inline) and its
// flow.Direction. Flows are numbered from 0 in the order of their first
// frame, across all protocols (unlike Wireshark's tcp.stream and
// udp.stream). A TCP SYN that reuses a 5-tuple with a new initial sequence
// number starts a new flow, as Wireshark's tcp.stream does. The table is
// bounded: flows end after an idle timeout (capture time) or are evicted
// at the MaxFlows cap, and every end is reported to OnEnd with its
// flow.Reason.
//
//	tab := flowtab.NewTable(flowtab.Options[MyState]{
//		IdleTimeout: 2 * time.Minute,
//		MaxFlows:    1 << 20,
//		OnEnd:       func(f *flowtab.Flow[MyState]) { /* emit f */ },
//	})
//	f, dir := tab.Lookup(&pkt, tsNs) // f.State is MyState, stored inline
//	...
//	tab.Flush() // end of capture: ends the live flows in flow-id order
//
// Besides Lookup it has the loss accounting's fast path: a key's hash
// computed ahead on another goroutine (Hasher), the table's entries and
// records read ahead of the frames that will look them up (PrefetchSlot,
// PeekSlot, PeekFlow), and
// LookupKey with the key and hash given. It is internal because only that
// pipeline needs it.
package flowtab
