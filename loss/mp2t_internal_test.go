package loss

import (
	"testing"

	"github.com/gapan/gapan/decode"
	"github.com/gopacket/gopacket/layers"
)

// tsPacket returns a 188-byte TS packet of pid with counter cc and
// adaptation field control afc; di sets the discontinuity_indicator of
// its adaptation field.
func tsPacket(pid uint16, cc, afc uint8, di bool) []byte {
	p := make([]byte, 188)
	p[0], p[1], p[2], p[3] = 0x47, byte(pid>>8)&0x1F, byte(pid), afc<<4|cc&0x0F
	if afc&2 != 0 {
		p[4] = 1
		if di {
			p[5] = 0x80
		}
	}
	return p
}

// TestMP2TScan reads the headers of bare and RTP-carried TS datagrams,
// and refuses what is not a transport stream.
func TestMP2TScan(t *testing.T) {
	cat := func(bs ...[]byte) []byte {
		var out []byte
		for _, b := range bs {
			out = append(out, b...)
		}
		return out
	}
	seven := cat(tsPacket(0x100, 1, 1, false), tsPacket(0x101, 2, 3, true), tsPacket(0x1FFF, 0, 1, false), tsPacket(0, 4, 2, false),
		tsPacket(0x100, 2, 1, false), tsPacket(0x100, 3, 1, false), tsPacket(0x100, 4, 1, false))
	rtp := make([]byte, 12)
	rtp[0], rtp[1] = 0x80, 33
	// Two CSRCs and a 1-word header extension.
	rtpX := []byte{0x92, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 2, 0xBE, 0xDE, 0, 1, 9, 9, 9, 9}
	wantHdr := [7]uint32{0x010011, 0x010132 | mp2tDI, 0x1FFF10, 0x000024, 0x010012, 0x010013, 0x010014}
	for _, tc := range []struct {
		name    string
		payload []byte
		capLen  int // captured bytes of the payload (0: all)
		ok      bool
		n       uint8
		flags   uint8
	}{
		{"bare", seven, 0, true, 7, 0},
		{"rtp", cat(rtp, seven), 0, true, 7, mp2tRTP},
		{"rtp csrc ext", cat(rtpX, seven), 0, true, 7, mp2tRTP},
		{"snap", seven, 188*2 + 10, true, 3, mp2tPartial},
		{"snap in af", seven, 188 + 5, true, 1, mp2tPartial},
		{"one", seven[:188], 0, true, 1, 0},
		{"not 188", seven[:300], 0, false, 0, 0},
		{"sync lost", cat(seven[:188], make([]byte, 188)), 0, false, 0, 0},
		{"rtp not ts", cat(rtp, make([]byte, 188)), 0, false, 0, 0},
		{"rtp padding", cat([]byte{0xA0, 33, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1}, seven), 0, false, 0, 0},
		{"short", []byte{0x47, 0, 0}, 0, false, 0, 0},
		{"nine", cat(seven, seven[:376]), 0, true, 7, mp2tPartial},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := decode.Packet{Proto: layers.IPProtocolUDP, PayloadLen: len(tc.payload), Payload: tc.payload}
			if tc.capLen > 0 {
				p.Payload = tc.payload[:tc.capLen]
			}
			var h mp2tHead
			if ok := h.scan(&p); ok != tc.ok || h.n != tc.n || h.flags != tc.flags {
				t.Fatalf("scan %v n %d flags %b; want %v %d %b", ok, h.n, h.flags, tc.ok, tc.n, tc.flags)
			}
			for i := range h.n {
				if h.hdr[i] != wantHdr[i] {
					t.Errorf("header %d: %#x, want %#x", i, h.hdr[i], wantHdr[i])
				}
			}
		})
	}
	// Not UDP: not read.
	p := decode.Packet{Proto: layers.IPProtocolTCP, PayloadLen: len(seven), Payload: seven}
	var h mp2tHead
	if h.scan(&p) {
		t.Error("a TCP payload read as TS")
	}
}
