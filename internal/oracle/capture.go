// Package oracle computes, independently of gapan's engine, what deleting
// frames from a capture did to each flow: the truth that the differential
// accuracy suite (package accuracy) holds gapan's figures against.
//
// It is written from the definitions in docs/metrics.md, not from the
// engine, and must not import the engine's packages (loss, flow, decode, or
// anything built on them): TestIndependent checks its imports. It reads the
// original capture with gopacket's pcapgo and decodes every frame with
// gopacket's layers (slowly, and simply), then, for a set of deleted frame
// numbers (the ones `gapan simulate` deleted), works out per flow and per
// byte of TCP sequence space what the damaged capture can and cannot show:
//
//	c, err := oracle.Load("in.pcap")
//	truth := c.Compute(map[uint64]bool{1228: true})
//
// docs/accuracy.md defines every figure.
package oracle

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net/netip"
	"os"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// key is a flow's identity as docs/metrics.md "Flows" defines it: both
// endpoints in canonical order (lower address, then port, first), the IP
// protocol and version, and both VLAN ids; non-IP frames by EtherType and
// VLAN ids.
type key struct {
	proto     uint8
	ipv       uint8
	lo, hi    netip.AddrPort
	vlan      [2]int32 // id+1; 0 means no tag
	etherType uint16   // non-IP frames only
}

// TCP flag bits of a frame.
const (
	fSYN = 1 << iota
	fACK
	fFIN
	fRST
)

// frame is what the oracle keeps of one frame of the original capture.
type frame struct {
	num    uint64 // 1-based frame number
	ns     int64
	key    key
	fromLo bool // sent by key.lo
	tcp    bool
	udp    bool
	// TCP
	flags    uint8
	seq, ack uint32
	plen     uint32      // payload length from the IP length (tcp.len)
	sack     [][2]uint32 // SACK blocks [left, right)
	// UDP: an RTP version 2 header at the start of the payload
	rtp  bool
	pt   uint8
	rseq uint16
	ssrc uint32
}

// Capture is an original capture, decoded once; Compute may be called for
// any number of deletion sets.
type Capture struct {
	Path   string
	frames []frame
}

// Frames returns the number of frames in the capture.
func (c *Capture) Frames() int { return len(c.frames) }

// Load reads and decodes every frame of a pcap or pcapng file. A file cut
// short or damaged after some frames yields the frames before the damage
// and ErrTruncated (wrapped), like a reader that keeps going.
func Load(path string) (*Capture, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	br := bufio.NewReader(f)
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("oracle: %s: %w", path, err)
	}
	type source interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var (
		src  source
		link func(ci gopacket.CaptureInfo) layers.LinkType
	)
	if binary.LittleEndian.Uint32(magic) == 0x0a0d0d0a {
		r, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, fmt.Errorf("oracle: %s: %w", path, err)
		}
		src = r
		link = func(ci gopacket.CaptureInfo) layers.LinkType {
			if i, err := r.Interface(ci.InterfaceIndex); err == nil {
				return i.LinkType
			}
			return r.LinkType()
		}
	} else {
		r, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, fmt.Errorf("oracle: %s: %w", path, err)
		}
		src = r
		link = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	}
	c := &Capture{Path: path}
	frags := map[fragKey][2]uint16{}
	for {
		data, ci, err := src.ReadPacketData()
		if err == io.EOF {
			return c, nil
		}
		if err != nil {
			return c, fmt.Errorf("oracle: %s after frame %d: %w: %w", path, len(c.frames), ErrTruncated, err)
		}
		fr := decodeFrame(data, link(ci), frags)
		fr.num = uint64(len(c.frames) + 1)
		fr.ns = ci.Timestamp.UnixNano()
		c.frames = append(c.frames, fr)
	}
}

// ErrTruncated means the capture ends in a damaged or cut-off record.
var ErrTruncated = errors.New("oracle: capture damaged or cut short")

// fragKey finds the ports of a later IPv4 fragment: its first fragment had
// them (docs/decoding.md "Fragments").
type fragKey struct {
	src, dst netip.Addr
	proto    uint8
	id       uint16
}

// decodeFrame decodes one frame with gopacket's layers into a frame.
func decodeFrame(data []byte, lt layers.LinkType, frags map[fragKey][2]uint16) frame {
	var fr frame
	p := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{NoCopy: true})
	var (
		src, dst     netip.Addr
		sport, dport uint16
		ether        uint16
		nvlan        int
		ipSeen       bool
		segLen       = -1 // transport segment length from the IP header
		ip4          *layers.IPv4
		ip6ext       int
		ip6len       = -1
	)
	// ext skips an IPv6 extension header.
	ext := func(contents []byte, next layers.IPProtocol) {
		ip6ext += len(contents)
		fr.key.proto = uint8(next)
	}
	for _, l := range p.Layers() {
		switch l := l.(type) {
		case *layers.Ethernet:
			if !ipSeen {
				ether = uint16(l.EthernetType)
				if l.EthernetType < 0x0600 {
					ether = 0
				}
			}
		case *layers.Dot1Q:
			if !ipSeen {
				if nvlan < 2 {
					fr.key.vlan[nvlan] = int32(l.VLANIdentifier) + 1
				}
				nvlan++
				ether = uint16(l.Type)
			}
		case *layers.LinuxSLL:
			ether = uint16(l.EthernetType)
		case *layers.LinuxSLL2:
			ether = uint16(l.ProtocolType)
		case *layers.IPv4:
			if ipSeen {
				continue // a tunnel's inner packet: not decoded (the outer packet is the flow)
			}
			ipSeen = true
			ip4 = l
			src, _ = netip.AddrFromSlice(l.SrcIP.To4())
			dst, _ = netip.AddrFromSlice(l.DstIP.To4())
			fr.key.proto, fr.key.ipv = uint8(l.Protocol), 4
			if l.Length != 0 {
				segLen = int(l.Length) - int(l.IHL)*4
			}
		case *layers.IPv6:
			if ipSeen {
				continue
			}
			ipSeen = true
			src, _ = netip.AddrFromSlice(l.SrcIP.To16())
			dst, _ = netip.AddrFromSlice(l.DstIP.To16())
			fr.key.proto, fr.key.ipv = uint8(l.NextHeader), 6
			if l.Length != 0 {
				ip6len = int(l.Length)
			}
		case *layers.IPv6HopByHop:
			ext(l.Contents, l.NextHeader)
		case *layers.IPv6Routing:
			ext(l.Contents, l.NextHeader)
		case *layers.IPv6Destination:
			ext(l.Contents, l.NextHeader)
		case *layers.IPv6Fragment:
			ext(l.Contents, l.NextHeader)
		case *layers.TCP:
			if fr.tcp || fr.udp {
				continue
			}
			fr.tcp = true
			sport, dport = uint16(l.SrcPort), uint16(l.DstPort)
			fr.seq, fr.ack = l.Seq, l.Ack
			if l.SYN {
				fr.flags |= fSYN
			}
			if l.ACK {
				fr.flags |= fACK
			}
			if l.FIN {
				fr.flags |= fFIN
			}
			if l.RST {
				fr.flags |= fRST
			}
			for _, o := range l.Options {
				if o.OptionType == layers.TCPOptionKindSACK {
					for b := o.OptionData; len(b) >= 8; b = b[8:] {
						fr.sack = append(fr.sack, [2]uint32{binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])})
					}
				}
			}
			n := len(l.Contents) + len(l.Payload) // captured: TSO with IP length 0, jumbograms
			if ip6len >= 0 {
				segLen = ip6len - ip6ext
			}
			if segLen >= 0 {
				n = segLen
			}
			if n > len(l.Contents) {
				fr.plen = uint32(n - len(l.Contents))
			}
		case *layers.UDP:
			if fr.tcp || fr.udp {
				continue
			}
			fr.udp = true
			sport, dport = uint16(l.SrcPort), uint16(l.DstPort)
			if b := l.Payload; len(b) >= 12 && b[0]>>6 == 2 {
				fr.rtp = true
				fr.pt = b[1] & 0x7f
				fr.rseq = binary.BigEndian.Uint16(b[2:])
				fr.ssrc = binary.BigEndian.Uint32(b[8:])
			}
		}
	}
	if !ipSeen {
		fr.key = key{etherType: ether, vlan: fr.key.vlan}
		return fr
	}
	if (fr.key.proto == 6 || fr.key.proto == 17) && !fr.tcp && !fr.udp && ip4 != nil {
		fk := fragKey{src, dst, fr.key.proto, ip4.Id}
		if ip4.FragOffset == 0 && len(ip4.Payload) >= 4 {
			// A first fragment, or a header gopacket could not decode
			// (cut short): the ports are still there.
			sport, dport = binary.BigEndian.Uint16(ip4.Payload), binary.BigEndian.Uint16(ip4.Payload[2:])
		} else if pp, ok := frags[fk]; ok {
			sport, dport = pp[0], pp[1]
		}
	}
	if ip4 != nil && ip4.Flags&layers.IPv4MoreFragments != 0 && ip4.FragOffset == 0 {
		frags[fragKey{src, dst, fr.key.proto, ip4.Id}] = [2]uint16{sport, dport}
	}
	if fr.key.proto != 6 && fr.key.proto != 17 && fr.key.proto != 132 && fr.key.proto != 33 && fr.key.proto != 136 {
		sport, dport = 0, 0
	}
	a, b := netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	if a.Compare(b) <= 0 {
		fr.key.lo, fr.key.hi, fr.fromLo = a, b, true
	} else {
		fr.key.lo, fr.key.hi, fr.fromLo = b, a, false
	}
	return fr
}
