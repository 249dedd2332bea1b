package decode

import (
	"encoding/binary"

	"github.com/gopacket/gopacket/layers"
)

// Fragment cache sizing. The cache is direct-mapped: a colliding datagram
// replaces the older entry, so memory is fixed (fragCacheSize entries of
// ~56 bytes) whatever the capture holds. An entry is ignored once
// fragMaxAgeFrames frames were decoded after it was stored, so that a reused
// IP ID much later does not inherit stale ports. The slot is a fixed
// function of the key (no per-process seed): which datagrams collide, and
// so which later fragments find their ports, must be the same in every run
// and in every Decoder, or the same capture could be accounted differently
// twice.
const (
	fragCacheSize    = 1024
	fragMaxAgeFrames = 1 << 16
)

type fragKey struct {
	src, dst [16]byte
	id       uint32
	proto    layers.IPProtocol
	version  uint8
}

type fragEntry struct {
	key              fragKey
	frame            uint64 // decoder frame counter when stored; 0 = empty
	srcPort, dstPort uint16
}

// fragCache maps (src, dst, proto, IP ID) of a fragmented datagram to the
// ports of its first fragment, so later fragments (which carry no transport
// header) can be attributed to the datagram's flow.
type fragCache struct {
	frames  uint64
	entries [fragCacheSize]fragEntry
}

func makeFragKey(p *Packet) fragKey {
	return fragKey{src: p.Src.As16(), dst: p.Dst.As16(), id: p.IPID, proto: p.Proto, version: p.IPVersion}
}

func (c *fragCache) slot(k *fragKey) *fragEntry {
	// A multiply-xorshift mix of the key's words (as in splitmix64).
	h := uint64(k.id) | uint64(k.proto)<<32 | uint64(k.version)<<40
	for _, a := range [2]*[16]byte{&k.src, &k.dst} {
		h = fragMix(h ^ binary.LittleEndian.Uint64(a[:8]))
		h = fragMix(h ^ binary.LittleEndian.Uint64(a[8:]))
	}
	return &c.entries[fragMix(h)%fragCacheSize]
}

func fragMix(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	return x ^ x>>31
}

// firstFragment remembers the ports of a first fragment (offset 0, more
// fragments set).
func (d *Decoder) firstFragment(p *Packet) {
	if p.Flags&(FlagMoreFragments|FlagPorts) != FlagMoreFragments|FlagPorts || p.FragOffset != 0 {
		return
	}
	k := makeFragKey(p)
	e := d.frags.slot(&k)
	*e = fragEntry{key: k, frame: d.frags.frames, srcPort: p.SrcPort, dstPort: p.DstPort}
}

// laterFragment gives a later fragment its datagram's ports if the first
// fragment was seen recently.
func (d *Decoder) laterFragment(p *Packet) {
	k := makeFragKey(p)
	e := d.frags.slot(&k)
	if e.frame == 0 || e.key != k || d.frags.frames-e.frame > fragMaxAgeFrames {
		return
	}
	p.SrcPort, p.DstPort = e.srcPort, e.dstPort
	p.Flags |= FlagPorts | FlagPortsFromFragment
}
