// Package decode turns a frame's bytes into a fixed-size Packet without
// allocating: link layer, VLAN tags, PPPoE, MPLS, tunnels (GRE, VXLAN,
// IP-in-IP), IPv4/IPv6 (with fragments and extension headers), and the
// TCP, UDP and ICMP fields that flow tracking and loss accounting need.
//
//	d := decode.NewDecoder()
//	var p decode.Packet
//	for frame := range frames {
//		err := d.Decode(frame.LinkType, frame.Data, &p)
//		p.OrigLen = frame.OrigLen
//		// use p; p.Payload aliases frame.Data
//	}
//
// Decoding uses gopacket's layers (DecodeFromBytes into preallocated
// layers, which is what DecodingLayerParser does) except for the common
// Ethernet[/VLAN]/IPv4|IPv6/TCP|UDP case, which a hand-written fast path
// decodes several times faster; tests and the fuzz target require both
// paths to produce identical Packets. PPPoE, PPP, MPLS and the IPv6 fixed
// header are read by hand because gopacket has no allocation-free layer for
// them. docs/decoding.md describes what is decoded and what is not.
package decode
