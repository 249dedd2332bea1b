package loss_test

import (
	"encoding/binary"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/reader"
	"github.com/gopacket/gopacket/layers"
)

// mirrorFuzzFrame builds into buf an Ethernet/IPv4 frame carrying GRE with
// sequence number seq, an ERSPAN II header of session id (or, with
// plain, GRE key id carrying Ethernet), and a mirrored Ethernet/IPv4/UDP
// frame of inner flow flow, from switch 192.0.2.sw.
func mirrorFuzzFrame(buf []byte, sw byte, id uint16, seq uint32, plain bool, flow byte) []byte {
	data := append(buf[:0], 2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1, 0x08, 0x00)
	greLen, proto := 8+8, uint16(0x88be)
	if plain {
		greLen, proto = 12, 0x6558
	}
	inner := 14 + 20 + 8 + 4
	total := 20 + greLen + inner
	data = append(data, 0x45, 0, byte(total>>8), byte(total), 0, 0, 0x40, 0, 64, 47, 0, 0, 192, 0, 2, sw, 198, 51, 100, 9)
	if plain {
		data = append(data, 0x30, 0) // K and S bits
		data = binary.BigEndian.AppendUint16(data, proto)
		data = binary.BigEndian.AppendUint32(data, uint32(id))
	} else {
		data = append(data, 0x10, 0)
		data = binary.BigEndian.AppendUint16(data, proto)
	}
	data = binary.BigEndian.AppendUint32(data, seq)
	if !plain {
		data = binary.BigEndian.AppendUint16(data, 1<<12)    // version 1
		data = binary.BigEndian.AppendUint16(data, id&0x3ff) // session id
		data = append(data, 0, 0, 0, 0)
	}
	data = append(data, 2, 0, 1, 0, 0, flow, 2, 0, 2, 0, 0, flow, 0x08, 0x00)
	data = append(data, 0x45, 0, 0, 32, 0, 0, 0x40, 0, 64, 17, 0, 0, 10, 1, 0, flow, 10, 2, 0, flow)
	data = append(data, 0x03, 0xe8, 0x07, 0xd0, 0, 12, 0, 0)
	return append(data, 0, 0, 0, 0)
}

// FuzzMirror feeds the engine arbitrary mirror sessions' numbering, 4
// bytes a frame: b[0] bits 0-1 the switch, bit 2 plain GRE (else ERSPAN
// II), bits 3-4 the session id, bits 5-7 the inner flow; b[1] the step of
// the session's number (signed: 0 a duplicate, negative behind; 127 a
// jump of 2^31); b[2] the frames lost just before (a recorded gap); b[3]
// unused. Whatever it is fed it must not panic, every session's missing
// numbers are its capture plus its mirror loss, the capture loss fits in
// the recorded gaps, the sessions hold every frame, and the fates add up
// to the sessions' figures.
func FuzzMirror(f *testing.F) {
	f.Add([]byte{})
	f.Add([]byte{
		0, 1, 0, 0, 0, 1, 0, 0, 0, 3, 0, 0, // 2 missing, mirror
		0, 1, 0, 0, 0, 3, 2, 0, // 2 missing, in a gap of 2
		4, 1, 0, 0, 4, 2, 0, 0, 4, 0xff, 0, 0, 4, 2, 0, 0, // GRE: late
		1, 1, 0, 0, 1, 0, 0, 0, 1, 1, 0, 0, // a duplicate
		2, 5, 0, 0, 2, 127, 0, 0, 2, 1, 0, 0, // a restart
	})
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) > 4096*4 {
			return
		}
		var fates []loss.Fate
		e := loss.NewEngine(loss.Config{Epoch: 16, OnFate: func(f loss.Fate) { fates = append(fates, f) }})
		var seqs [32]uint32
		buf := make([]byte, 0, 128)
		var frames, lost uint64
		ts := int64(1_700_000_000) * 1e9
		for i := 0; i+4 <= len(in); i += 4 {
			b := in[i : i+4]
			k := int(b[0] & 0x1f)
			step := uint32(int32(int8(b[1])))
			if b[1] == 127 {
				step = 1 << 31
			}
			seqs[k] += step
			data := mirrorFuzzFrame(buf, b[0]&3+1, uint16(b[0]>>3&3), seqs[k], b[0]&4 != 0, b[0]>>5)
			frames++
			lost += uint64(b[2])
			ts += 1e6
			e.Add(&join.Frame{Frame: &reader.Frame{Number: frames, TimestampNs: ts, CapLen: len(data), OrigLen: len(data), LinkType: layers.LinkTypeEthernet, Data: data}, GapBefore: uint64(b[2])})
		}
		s := e.Finish([]join.FileInfo{{Frames: frames}})
		var sum loss.MirrorTotals
		for _, m := range s.MirrorSessions {
			if m.Missing != m.CaptureLost+m.MirrorLost {
				t.Fatalf("session %+v: missing is not capture plus mirror loss", m)
			}
			sum.Frames += m.Frames
			sum.CaptureLost += m.CaptureLost
			sum.MirrorLost += m.MirrorLost
		}
		if sum.Frames != frames || s.Mirror.Frames != frames || sum.CaptureLost != s.Mirror.CaptureLost || sum.MirrorLost != s.Mirror.MirrorLost {
			t.Fatalf("sessions hold %d frames (totals %+v) of %d", sum.Frames, s.Mirror, frames)
		}
		if sum.CaptureLost > lost {
			t.Fatalf("capture lost %d mirrored frames, the gaps hold %d", sum.CaptureLost, lost)
		}
		var capture, mirror uint64
		for _, f := range fates {
			if f.Evidence != loss.EvidenceMirror {
				continue
			}
			switch f.Kind {
			case loss.FateCapture:
				capture += f.Segments
			case loss.FateMirror:
				mirror += f.Segments
			default:
				t.Fatalf("mirror fate %+v", f)
			}
		}
		if capture != sum.CaptureLost || mirror != sum.MirrorLost {
			t.Fatalf("fates: capture %d mirror %d; sessions %d, %d", capture, mirror, sum.CaptureLost, sum.MirrorLost)
		}
	})
}
