package loss_test

import (
	"encoding/binary"
	"math"
	"reflect"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gopacket/gopacket/layers"
)

// fuzzStep is the size of one frame's description in FuzzEngine's input.
const fuzzStep = 10

// fuzzFrame builds the Ethernet/IPv4 frame one fuzzStep-byte record
// describes, into buf:
//
//	b[0]     bits 0-1 flow (4 hosts pairs), bit 2 direction, bit 3 UDP (RTP
//	         when the payload is long enough), bits 4-7 TCP flags SYN FIN
//	         RST ACK
//	b[1:3]   sequence number change of the direction (signed; RTP: step)
//	b[3:5]   acknowledgement change (signed)
//	b[5]     payload length / 8
//	b[6]     gap before the frame (255: a large gap)
//	b[7]     time step in ms
//	b[8:10]  TCP: SACK block: offset above the ack and length, in 64-byte
//	         units; UDP: b[8] bits 0-1 the numbered family (0 RTP, 1
//	         GTP-U, 2 ESP in UDP, 3 ICMP echo: a request from the
//	         flow's initiator, a reply back), b[9] its stream (TEID,
//	         SPI, identifier)
//
// seqs holds each flow direction's next sequence number.
func fuzzFrame(buf []byte, b []byte, seqs *[8][2]uint32) (data []byte, gap uint64) {
	fl, dir := int(b[0]&3), int(b[0]>>2&1)
	udp := b[0]&8 != 0
	s := &seqs[fl*2+dir]
	s[0] += uint32(int32(int16(binary.BigEndian.Uint16(b[1:3]))))
	seqs[fl*2+1-dir][1] += uint32(int32(int16(binary.BigEndian.Uint16(b[3:5]))))
	payload := int(b[5]) * 8
	gap = uint64(b[6])
	if gap == 255 {
		gap = 1 << 20
	}
	src, dst := [4]byte{10, 0, byte(fl), 1}, [4]byte{10, 0, byte(fl), 2}
	sp, dp := uint16(40000+fl), uint16(80)
	if dir == 1 {
		src, dst, sp, dp = dst, src, dp, sp
	}
	// Ethernet
	data = buf[:0]
	data = append(data, 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	l4 := 20
	proto := byte(layers.IPProtocolTCP)
	sack := b[8] != 0 || b[9] != 0
	family := 0
	if udp {
		family = int(b[8] & 3)
		l4, proto = 8, byte(layers.IPProtocolUDP)
		if family == 3 {
			proto = byte(layers.IPProtocolICMPv4)
		}
	} else if sack {
		l4 += 12
	}
	total := 20 + l4 + payload
	data = append(data, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, proto, 0, 0)
	data = append(data, src[:]...)
	data = append(data, dst[:]...)
	if family == 3 { // ICMP echo: type, code, checksum, identifier, number
		typ := byte(8)
		if dir == 1 {
			typ = 0
		}
		data = append(data, typ, 0, 0, 0, 0, b[9])
		data = binary.BigEndian.AppendUint16(data, uint16(s[0]))
		return append(data, make([]byte, payload)...), gap
	}
	if family == 1 {
		sp, dp = 2152, 2152
	} else if family == 2 {
		sp, dp = 4500, 4500
	}
	data = binary.BigEndian.AppendUint16(data, sp)
	data = binary.BigEndian.AppendUint16(data, dp)
	if udp && family != 0 && payload >= 12 {
		data = binary.BigEndian.AppendUint16(data, uint16(8+payload))
		data = append(data, 0, 0)
		p := make([]byte, payload)
		if family == 1 { // GTP-U G-PDU with the S flag
			p[0], p[1] = 0x32, 0xff
			binary.BigEndian.PutUint16(p[2:], uint16(payload-8))
			p[7] = b[9]
			binary.BigEndian.PutUint16(p[8:], uint16(s[0]))
		} else { // ESP in UDP
			p[0], p[3] = 1, b[9]
			binary.BigEndian.PutUint32(p[4:], s[0])
		}
		return append(data, p...), gap
	}
	if udp {
		data = binary.BigEndian.AppendUint16(data, uint16(8+payload))
		data = append(data, 0, 0)
		if payload >= 12 { // an RTP header: version 2, PT 0, seq, ts, SSRC
			p := make([]byte, payload)
			p[0] = 0x80
			binary.BigEndian.PutUint16(p[2:], uint16(s[0]))
			binary.BigEndian.PutUint32(p[8:], uint32(fl+1))
			return append(data, p...), gap
		}
		return append(data, make([]byte, payload)...), gap
	}
	data = binary.BigEndian.AppendUint32(data, s[0])
	data = binary.BigEndian.AppendUint32(data, s[1])
	flags := byte(0)
	if b[0]&0x10 != 0 {
		flags |= 0x02 // SYN
	}
	if b[0]&0x20 != 0 {
		flags |= 0x01 // FIN
	}
	if b[0]&0x40 != 0 {
		flags |= 0x04 // RST
	}
	if b[0]&0x80 != 0 {
		flags |= 0x10 // ACK
	}
	data = append(data, byte(l4/4)<<4, flags, 0xff, 0xff, 0, 0, 0, 0)
	if sack {
		l := s[1] + uint32(b[8])*64
		r := l + uint32(b[9])*64
		data = append(data, 1, 1, 5, 10)
		data = binary.BigEndian.AppendUint32(data, l)
		data = binary.BigEndian.AppendUint32(data, r)
	}
	data = append(data, make([]byte, payload)...)
	if flags&0x03 != 0 {
		s[0]++
	}
	s[0] += uint32(payload)
	return data, gap
}

// FuzzEngine feeds the loss engine arbitrary frame sequences: TCP
// conversations with arbitrary sequence and acknowledgement jumps, SACK,
// SYN/FIN/RST, RTP streams and gaps (seeds in testdata/fuzz/FuzzEngine). It
// must never panic, and whatever it is fed: the capture-lost segments and
// bytes are exactly the explained plus the unexplained ones (every hole's
// fate adds up), missed_bytes is capture-lost plus unknown bytes, no counter
// went below zero (wrapped), frames and gaps add up to what went in, and
// the estimated loss shares add up to the frames lost.
func FuzzEngine(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{
		0x10, 0, 0, 0, 0, 0, 0, 1, 0, 0, // SYN a->b
		0x94, 0, 0, 0, 1, 0, 0, 1, 0, 0, // SYN-ACK
		0x80, 0, 0, 0, 1, 100, 0, 1, 0, 0, // data
		0x80, 3, 32, 0, 0, 100, 3, 1, 0, 0, // jump: a hole, 3 lost
		0x84, 0, 0, 0, 0, 0, 0, 1, 1, 2, // SACK
		0x08, 0, 1, 0, 0, 20, 0, 1, 0, 0, // RTP
		0x08, 0, 3, 0, 0, 20, 1, 1, 0, 0, // RTP, 2 missing
	})
	f.Add([]byte{ // the sequence families, each with numbers missing in a gap
		0x09, 0, 1, 0, 0, 4, 0, 1, 1, 7, // GTP-U TEID 7
		0x09, 0, 3, 0, 0, 4, 2, 1, 1, 7, // GTP-U, 2 missing
		0x0a, 0, 1, 0, 0, 4, 0, 1, 2, 9, // ESP in UDP, SPI 0x01000009
		0x0a, 0, 4, 0, 0, 4, 3, 1, 2, 9, // ESP, 3 missing
		0x0b, 0, 1, 0, 0, 4, 0, 1, 3, 5, // ICMP echo request 1
		0x0f, 0, 1, 0, 0, 4, 0, 1, 3, 5, // its reply
		0x0b, 0, 2, 0, 0, 4, 1, 1, 3, 5, // request 3 (2 in the gap)
		0x0f, 0, 2, 0, 0, 4, 0, 1, 3, 5, // reply 3
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096*fuzzStep {
			return
		}
		e := loss.NewEngine(loss.Config{KeepFlows: true, KeepGaps: true, Epoch: 16, EstWindow: 4, Unpacked: 2, MaxFlows: 0})
		var seqs [8][2]uint32
		buf := make([]byte, 0, 2048+64)
		var frames, gaps, lost uint64
		ts := int64(1_700_000_000) * 1e9
		for i := 0; i+fuzzStep <= len(in); i += fuzzStep {
			b := in[i : i+fuzzStep]
			data, gap := fuzzFrame(buf, b, &seqs)
			ts += int64(b[7]) * 1e6
			frames++
			if gap > 0 {
				gaps++
				lost += gap
			}
			e.Add(&join.Frame{Frame: &reader.Frame{Number: frames, TimestampNs: ts, CapLen: len(data), OrigLen: len(data), LinkType: layers.LinkTypeEthernet, Data: data}, GapBefore: gap})
		}
		s := e.Finish([]join.FileInfo{{Frames: frames, Gaps: gaps, Lost: lost}})
		if s.FramesCaptured != frames || s.GapEvents != gaps || s.FramesLost != lost {
			t.Fatalf("totals %d frames %d gaps %d lost; fed %d, %d, %d", s.FramesCaptured, s.GapEvents, s.FramesLost, frames, gaps, lost)
		}
		check := func(what string, c *loss.Counters) {
			if c.CaptureExplainedSegments+c.CaptureUnexplainedSegments != c.CaptureLostSegments ||
				c.CaptureExplainedBytes+c.CaptureUnexplainedBytes != c.CaptureLostBytes {
				t.Fatalf("%s: capture lost %d segments %d bytes, explained %d/%d + unexplained %d/%d", what,
					c.CaptureLostSegments, c.CaptureLostBytes, c.CaptureExplainedSegments, c.CaptureExplainedBytes, c.CaptureUnexplainedSegments, c.CaptureUnexplainedBytes)
			}
			if c.MissedBytes != c.CaptureLostBytes+c.UnknownBytes {
				t.Fatalf("%s: missed_bytes %d != capture lost %d + unknown %d", what, c.MissedBytes, c.CaptureLostBytes, c.UnknownBytes)
			}
			v := reflect.ValueOf(c).Elem()
			for _, sf := range reflect.VisibleFields(v.Type()) {
				switch x := v.FieldByIndex(sf.Index).Interface().(type) {
				case uint64:
					if x > 1<<62 {
						t.Fatalf("%s: %s = %d: a count went below zero", what, sf.Name, x)
					}
				case float64:
					if x < -1e-9 || math.IsNaN(x) || math.IsInf(x, 0) {
						t.Fatalf("%s: %s = %v", what, sf.Name, x)
					}
				}
			}
		}
		check("summary", &s.Flows)
		var est float64
		var packets uint64
		for _, fl := range s.List {
			check("flow", &fl.Counters)
			est += fl.EstLost
			packets += fl.Packets
			if fl.PacketsFwd+fl.PacketsRev != fl.Packets || fl.FirstFrame > fl.LastFrame || fl.LastFrame > frames {
				t.Fatalf("flow %d: packets %d = %d + %d? frames %d..%d of %d", fl.FlowID, fl.Packets, fl.PacketsFwd, fl.PacketsRev, fl.FirstFrame, fl.LastFrame, frames)
			}
		}
		if packets != frames {
			t.Fatalf("flows hold %d packets, %d frames fed", packets, frames)
		}
		// docs/metrics.md: the shares add up to frames_lost exactly (seeds
		// aea75b7410db8162, 303cad5e686b3b69 and 7ae7613f564fcbc1 caught
		// flows handed out before the gaps whose windows hold them were
		// shared out).
		if d := est + s.EstOther - float64(lost); math.Abs(d) > 1e-6*max(1, float64(lost)) {
			t.Fatalf("estimates add up to %v + other %v, %d lost", est, s.EstOther, lost)
		}
	})
}
