package flow

import (
	"encoding/binary"
	"fmt"
	"net/netip"
	"unsafe"

	"github.com/gapan/gapan/decode"
	"github.com/gopacket/gopacket/layers"
)

// Key identifies a bidirectional flow. It is a fixed-size comparable value
// (no pointers), used directly as a map key.
//
// For IP packets the two endpoints are ordered canonically: endpoint A is
// the lower (address, port) pair, compared bytewise on the 16-byte address
// form and then on the port, so both directions of a conversation give the
// same Key. VLAN ids (both QinQ tags, outermost first) are part of the key.
// Protocols without ports (ICMP, GRE that is not decoded, ESP, ...) have
// zero ports. For frames that are not IP (or whose IP header could not be
// decoded) the key is the EtherType plus the VLAN ids, so such frames are
// counted per EtherType.
type Key struct {
	// A and B are the endpoint addresses in 16-byte form (IPv4 as
	// IPv4-mapped IPv6), A <= B.
	A, B [16]byte
	// PortA and PortB are the ports of A and B.
	PortA, PortB uint16
	// VLAN holds the packet's first two VLAN ids.
	VLAN [2]uint16
	// EtherType is set only for non-IP flows.
	EtherType uint16
	// Proto is the IP protocol number.
	Proto uint8
	// IPVersion is 4, 6, or 0 for a non-IP flow.
	IPVersion uint8
}

// KeyOf returns p's flow key and whether p was sent by endpoint A. Non-IP
// packets are always "from A".
func KeyOf(p *decode.Packet) (k Key, fromA bool) {
	fromA = k.Set(p)
	return k, fromA
}

// Set sets k to p's flow key and returns whether p was sent by endpoint
// A, as KeyOf does, writing the key in place (every frame does it).
func (k *Key) Set(p *decode.Packet) (fromA bool) {
	if p.Flags&decode.FlagIP == 0 {
		*k = Key{VLAN: p.VLAN, EtherType: uint16(p.EtherType)}
		return true
	}
	k.VLAN = p.VLAN
	k.EtherType = 0
	k.IPVersion = p.IPVersion
	k.Proto = uint8(p.Proto)
	var sp, dp uint16
	if p.Flags&decode.FlagPorts != 0 {
		sp, dp = p.SrcPort, p.DstPort
	}
	// Bytewise order of the 16-byte forms, as two big-endian halves: the
	// same order as bytes.Compare, without the call.
	sh, sl := halves(&p.Src)
	dh, dl := halves(&p.Dst)
	if sh < dh || sh == dh && (sl < dl || sl == dl && sp <= dp) {
		putAddr(&k.A, sh, sl)
		putAddr(&k.B, dh, dl)
		k.PortA, k.PortB = sp, dp
		return true
	}
	putAddr(&k.A, dh, dl)
	putAddr(&k.B, sh, sl)
	k.PortA, k.PortB = dp, sp
	return false
}

// halves returns the high and low 64 bits of a's 16-byte form (As16 read
// as two big-endian numbers). Where netip.Addr keeps them as its first
// two words, as every Go release since 1.18 does (addrWords, checked
// once), they are read there: As16 writes them into an array that is
// then read back in 16-byte pieces, which the processor cannot forward
// from its two 8-byte stores, a stall on every frame.
func halves(a *netip.Addr) (hi, lo uint64) {
	if addrWords {
		w := (*[2]uint64)(unsafe.Pointer(a))
		return w[0], w[1]
	}
	b := a.As16()
	return binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
}

// addrWords says that a netip.Addr begins with the high and low 64 bits
// of its 16-byte form: checked on addresses of each kind against As16.
var addrWords = func() bool {
	if unsafe.Sizeof(netip.Addr{}) < 16 {
		return false
	}
	for _, s := range []string{"1.2.3.4", "255.254.253.252", "2001:db8:1:2:3:4:5:6", "fe80::8:9%eth0", "::ffff:10.0.0.1", "::"} {
		a := netip.MustParseAddr(s)
		b := a.As16()
		w := (*[2]uint64)(unsafe.Pointer(&a))
		if w[0] != binary.BigEndian.Uint64(b[:8]) || w[1] != binary.BigEndian.Uint64(b[8:]) {
			return false
		}
	}
	return true
}()

// putAddr writes the 16-byte form whose halves are hi and lo into a.
func putAddr(a *[16]byte, hi, lo uint64) {
	binary.BigEndian.PutUint64(a[:8], hi)
	binary.BigEndian.PutUint64(a[8:], lo)
}

func (k *Key) addr(a *[16]byte) netip.Addr {
	x := netip.AddrFrom16(*a)
	if k.IPVersion == 4 {
		return x.Unmap()
	}
	return x
}

// AddrA returns endpoint A's address (invalid for a non-IP flow).
func (k *Key) AddrA() netip.Addr {
	if k.IPVersion == 0 {
		return netip.Addr{}
	}
	return k.addr(&k.A)
}

// AddrB returns endpoint B's address (invalid for a non-IP flow).
func (k *Key) AddrB() netip.Addr {
	if k.IPVersion == 0 {
		return netip.Addr{}
	}
	return k.addr(&k.B)
}

// String formats the key as "tcp 10.0.0.1:80 <-> 10.0.0.2:1234 vlan 10/20",
// or "ether 0x0806 vlan 10" for a non-IP flow.
func (k Key) String() string {
	vlan := ""
	if k.VLAN != [2]uint16{} {
		vlan = fmt.Sprintf(" vlan %d/%d", k.VLAN[0], k.VLAN[1])
	}
	if k.IPVersion == 0 {
		return fmt.Sprintf("ether %#04x%s", k.EtherType, vlan)
	}
	proto := layers.IPProtocol(k.Proto).String()
	return fmt.Sprintf("%s %s <-> %s%s", proto,
		netip.AddrPortFrom(k.AddrA(), k.PortA), netip.AddrPortFrom(k.AddrB(), k.PortB), vlan)
}

// Direction is a packet's direction within its flow.
type Direction uint8

const (
	// Forward is a packet sent by the flow's initiator: the endpoint that
	// sent the flow's first frame in this capture (not necessarily the TCP
	// client when the capture starts mid-connection).
	Forward Direction = 0
	// Reverse is a packet sent by the other endpoint.
	Reverse Direction = 1
)

// String returns "fwd" or "rev".
func (d Direction) String() string {
	if d == Forward {
		return "fwd"
	}
	return "rev"
}
