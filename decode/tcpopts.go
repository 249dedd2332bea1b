package decode

import "encoding/binary"

// fillTCP fills t from a complete TCP header (len(h) >= 20, len(h) equal to
// the data offset). Options are read straight from the header bytes, so
// both decode paths share one option parser; a malformed option ends the
// option list, as in Wireshark.
func fillTCP(t *TCP, h []byte) {
	t.Seq = binary.BigEndian.Uint32(h[4:8])
	t.Ack = binary.BigEndian.Uint32(h[8:12])
	t.Flags = TCPFlags(binary.BigEndian.Uint16(h[12:14]) & 0x1ff)
	t.Window = binary.BigEndian.Uint16(h[14:16])
	t.HeaderLen = uint8(len(h))
	o := h[20:]
	for len(o) > 0 {
		kind := o[0]
		if kind == 0 { // end of option list
			return
		}
		if kind == 1 { // no-operation
			o = o[1:]
			continue
		}
		if len(o) < 2 {
			return
		}
		n := int(o[1])
		if n < 2 || n > len(o) {
			return
		}
		v := o[2:n]
		switch kind {
		case 2:
			if len(v) == 2 {
				t.MSS = binary.BigEndian.Uint16(v)
				t.Opts |= OptMSS
			}
		case 3:
			if len(v) == 1 {
				t.WindowScale = v[0]
				t.Opts |= OptWindowScale
			}
		case 4:
			t.Opts |= OptSACKPermitted
		case 5:
			if len(v) >= 8 && len(v)%8 == 0 {
				t.Opts |= OptSACK
				for i := 0; i+8 <= len(v) && t.SACKCount < 4; i += 8 {
					t.SACK[t.SACKCount] = SACKBlock{
						Left:  binary.BigEndian.Uint32(v[i:]),
						Right: binary.BigEndian.Uint32(v[i+4:]),
					}
					t.SACKCount++
				}
			}
		case 8:
			if len(v) == 8 {
				t.TSVal = binary.BigEndian.Uint32(v[0:4])
				t.TSEcr = binary.BigEndian.Uint32(v[4:8])
				t.Opts |= OptTimestamps
			}
		}
		o = o[n:]
	}
}
