package synth

import (
	"encoding/binary"
	"io"
	"net"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// PIDs of the transport stream MP2T writes.
const (
	MP2TPAT   = 0x0000
	MP2TPMT   = 0x1000
	MP2TVideo = 0x0100
	MP2TAudio = 0x0101
	MP2TNull  = 0x1FFF
)

// mp2tMux is the order of the PIDs over 70 TS packets (10 datagrams of
// 7): a PAT and a PMT, 8 audio packets, 5 null packets, the rest video,
// as a constant-rate multiplex interleaves them.
var mp2tMux = func() [70]uint16 {
	var m [70]uint16
	for i := range m {
		m[i] = MP2TVideo
	}
	m[0], m[1] = MP2TPAT, MP2TPMT
	for i := 5; i < 70; i += 8 {
		m[i] = MP2TAudio
	}
	for i := 10; i < 70; i += 14 {
		m[i] = MP2TNull
	}
	return m
}()

// MP2TConfig describes an MPEG transport stream over UDP (or RTP) to
// generate: Datagrams datagrams of 7 TS packets from 10.0.0.1:5000 to
// 239.1.1.1:5004, 1 ms apart.
type MP2TConfig struct {
	Datagrams int
	// RTP puts an RTP header (payload type 33, sequence numbers from 1)
	// before the TS packets.
	RTP bool
	// Skip lists datagrams (0-based) that are not written: lost before
	// the capture point. With RTP their sequence numbers are skipped.
	Skip []int
	// AFOnlyEvery makes every n-th video packet an adaptation-field-only
	// packet (a PCR and no payload), whose continuity counter does not
	// advance (0: none).
	AFOnlyEvery int
	// DupVideo lists datagrams whose second video packet is sent twice in
	// a row, a duplicate ISO 13818-1 allows (it takes the place of the
	// next video packet, which follows one slot later).
	DupVideo []int
	// Copy lists datagrams that are written twice in a row (a mirror
	// port's or a network's duplicate).
	Copy []int
	// Discontinuity lists datagrams whose first video packet sets the
	// discontinuity_indicator and moves the video counter on by 7 (a jump
	// that, without the indicator, would show 7 packets missing).
	Discontinuity []int
}

// MP2TTruth is what MP2T wrote.
type MP2TTruth struct {
	// Frames is the number of frames written; Frame[i] is the 1-based
	// frame number of datagram i (0 for a skipped one).
	Frames int
	Frame  []int
	// Lost is, by PID, the TS packets with a payload in skipped
	// datagrams (null packets not counted); LostTotal their sum.
	Lost      map[uint16]int
	LostTotal int
	// Duplicates is the duplicate video packets written.
	Duplicates int
	// payload is, by datagram, its TS packets with a payload that count
	// (null packets and duplicates do not).
	payload []int
}

// LostIn returns the TS packets with a payload (null packets and
// duplicates not counted) that datagrams ds carried: what deleting them
// from the capture takes away.
func (t *MP2TTruth) LostIn(ds []int) int {
	n := 0
	for _, d := range ds {
		n += t.payload[d]
	}
	return n
}

// MP2T writes the stream cfg describes as an Ethernet pcap to w. The
// continuity counters follow ISO/IEC 13818-1: per PID, advanced by each
// packet with a payload, not by an adaptation-field-only packet, nor by a
// duplicate; null packets' counters stay 0.
func MP2T(w io.Writer, cfg MP2TConfig) (*MP2TTruth, error) {
	pw := pcapgo.NewWriter(w)
	if err := pw.WriteFileHeader(65535, layers.LinkTypeEthernet); err != nil {
		return nil, err
	}
	in := func(l []int, i int) bool {
		for _, v := range l {
			if v == i {
				return true
			}
		}
		return false
	}
	t := &MP2TTruth{Frame: make([]int, cfg.Datagrams), Lost: map[uint16]int{}, payload: make([]int, cfg.Datagrams)}
	cc := map[uint16]uint8{}
	slot, video := 0, 0
	ts := time.Unix(1_700_000_000, 0)
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	for d := range cfg.Datagrams {
		skip := in(cfg.Skip, d)
		var pl []byte
		if cfg.RTP {
			var h [12]byte
			h[0], h[1] = 0x80, 33
			binary.BigEndian.PutUint16(h[2:], uint16(d+1))
			binary.BigEndian.PutUint32(h[4:], uint32(d*90))
			binary.BigEndian.PutUint32(h[8:], 0x5eed)
			pl = append(pl, h[:]...)
		}
		dupNext, firstVideo := false, true
		for range 7 {
			var p [188]byte
			p[0] = 0x47
			pid := mp2tMux[slot%len(mp2tMux)]
			slot++
			afc := byte(1) // payload only
			var af []byte  // adaptation field, after its length byte
			c := cc[pid]
			switch {
			case pid == MP2TNull:
				c = 0
			case pid == MP2TVideo && dupNext:
				// The duplicate: the previous video packet again.
				dupNext = false
				c = cc[pid] - 1
				t.Duplicates++
				video++
				goto write
			case pid == MP2TVideo:
				video++
				first := firstVideo
				firstVideo = false
				if first && in(cfg.DupVideo, d) {
					dupNext = true
				}
				if first && in(cfg.Discontinuity, d) {
					c += 7
					afc = 3
					af = []byte{0x80} // discontinuity_indicator
				} else if cfg.AFOnlyEvery > 0 && video%cfg.AFOnlyEvery == 0 {
					// The counter of the PID's latest packet, not advanced.
					c--
					afc = 2
					af = []byte{0x10, 0, 0, 0, 0, 0, 0} // PCR flag, a PCR of 0
				}
			}
			if afc&1 != 0 && pid != MP2TNull {
				cc[pid] = (c + 1) & 0x0F
				if skip {
					t.Lost[pid]++
					t.LostTotal++
				}
				t.payload[d]++
			}
		write:
			p[1] = byte(pid >> 8)
			p[2] = byte(pid)
			p[3] = afc<<4 | c&0x0F
			o := 4
			if afc&2 != 0 {
				n := len(af)
				if afc == 2 {
					n = 183 // the whole packet
				}
				p[4] = byte(n)
				copy(p[5:], af)
				for i := 5 + len(af); i < 5+n; i++ {
					p[i] = 0xFF // stuffing
				}
				o = 5 + n
			}
			for i := o; i < len(p); i++ {
				p[i] = byte(i)
			}
			pl = append(pl, p[:]...)
		}
		if skip {
			continue
		}
		eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{1, 0, 0x5e, 1, 1, 1}, EthernetType: layers.EthernetTypeIPv4}
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 16, Protocol: layers.IPProtocolUDP, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{239, 1, 1, 1}}
		udp := &layers.UDP{SrcPort: 5000, DstPort: 5004}
		if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
			return nil, err
		}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, eth, ip, udp, gopacket.Payload(pl)); err != nil {
			return nil, err
		}
		b := buf.Bytes()
		if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(d) * time.Millisecond), CaptureLength: len(b), Length: len(b)}, b); err != nil {
			return nil, err
		}
		t.Frames++
		t.Frame[d] = t.Frames
		if in(cfg.Copy, d) {
			if err := pw.WritePacket(gopacket.CaptureInfo{Timestamp: ts.Add(time.Duration(d)*time.Millisecond + time.Microsecond), CaptureLength: len(b), Length: len(b)}, b); err != nil {
				return nil, err
			}
			t.Frames++
		}
	}
	return t, nil
}

// MP2TFile writes the stream cfg describes as a pcap file at path.
func MP2TFile(path string, cfg MP2TConfig) (*MP2TTruth, error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, err
	}
	t, err := MP2T(f, cfg)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return t, err
}
