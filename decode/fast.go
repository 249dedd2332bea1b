package decode

import (
	"encoding/binary"
	"net/netip"

	"github.com/gopacket/gopacket/layers"
)

// decodeFast decodes the common case by hand: Ethernet, up to two VLAN
// tags, IPv4 without options or fragmentation, or IPv6 without extension
// headers, then TCP or UDP (not VXLAN). It reports false, having possibly
// written to p, for anything else; Decode then starts over on the gopacket
// path. Both paths must fill p identically: TestFastPathMatchesGopacket
// and FuzzDecode check that.
func (d *Decoder) decodeFast(data []byte, p *Packet) bool {
	if len(data) < 14 {
		return false
	}
	et := binary.BigEndian.Uint16(data[12:14])
	off := 14
	for et == 0x8100 || et == 0x88a8 {
		if p.VLANCount == 2 || len(data) < off+4 {
			return false
		}
		p.VLAN[p.VLANCount] = binary.BigEndian.Uint16(data[off:]) & 0x0fff
		p.VLANCount++
		et = binary.BigEndian.Uint16(data[off+2:])
		off += 4
	}
	var l4 []byte
	var l4Len int
	switch et {
	case 0x0800:
		h := data[off:]
		if len(h) < 20 || h[0] != 0x45 {
			return false
		}
		tot := int(binary.BigEndian.Uint16(h[2:4]))
		if tot < 20 || binary.BigEndian.Uint16(h[6:8])&0x3fff != 0 {
			return false
		}
		if tot > len(h) {
			p.Flags |= FlagTruncated
		} else {
			h = h[:tot]
		}
		p.IPVersion = 4
		p.Proto = layers.IPProtocol(h[9])
		p.TTL = h[8]
		p.IPID = uint32(binary.BigEndian.Uint16(h[4:6]))
		p.Src = netip.AddrFrom4([4]byte(h[12:16]))
		p.Dst = netip.AddrFrom4([4]byte(h[16:20]))
		p.IPLen = tot
		l4 = h[20:]
		l4Len = tot - 20
	case 0x86dd:
		h := data[off:]
		if len(h) < 40 {
			return false
		}
		plen := int(binary.BigEndian.Uint16(h[4:6]))
		if h[0]>>4 != 6 || plen == 0 {
			return false
		}
		if 40+plen > len(h) {
			p.Flags |= FlagTruncated
		} else {
			h = h[:40+plen]
		}
		p.IPVersion = 6
		p.Proto = layers.IPProtocol(h[6])
		p.TTL = h[7]
		p.Src = netip.AddrFrom16([16]byte(h[8:24]))
		p.Dst = netip.AddrFrom16([16]byte(h[24:40]))
		p.IPLen = 40 + plen
		l4 = h[40:]
		l4Len = plen
	default:
		return false
	}
	switch p.Proto {
	case layers.IPProtocolTCP:
		if len(l4) < 20 {
			return false
		}
		hl := int(l4[12]>>4) * 4
		if hl < 20 || hl > len(l4) {
			return false
		}
		fillTCP(&p.TCP, l4[:hl])
		p.Flags |= FlagTCP
		p.PayloadLen = max(l4Len-hl, 0)
		if len(l4) > hl {
			p.Payload = l4[hl:]
		}
	case layers.IPProtocolUDP:
		if len(l4) < 8 {
			return false
		}
		ul := int(binary.BigEndian.Uint16(l4[4:6]))
		if ul != 0 && ul < 8 {
			return false // invalid UDP length: the gopacket path reports it
		}
		p.PayloadLen = max(l4Len-8, 0)
		if len(l4) > 8 {
			p.Payload = l4[8:]
		}
	default:
		return false
	}
	p.SrcPort = binary.BigEndian.Uint16(l4[0:2])
	p.DstPort = binary.BigEndian.Uint16(l4[2:4])
	if p.Proto == layers.IPProtocolUDP {
		if p.DstPort == VXLANPort {
			return false
		}
		udpSeq(p)
	}
	p.Flags |= FlagIP | FlagPorts
	p.EtherType = layers.EthernetType(et)
	return true
}
