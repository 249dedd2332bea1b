package recorder

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func TestPcapWriter(t *testing.T) {
	var b bytes.Buffer
	w := pcapWriter{w: &b}
	if err := w.writeFileHeader(65535, 1); err != nil {
		t.Fatal(err)
	}
	// 1.5 s plus 7 ns after the epoch; and a time before it.
	if err := w.writePacket(1_500_000_007, []byte{0xde, 0xad}, 60); err != nil {
		t.Fatal(err)
	}
	if err := w.writePacket(-1, nil, 0); err != nil {
		t.Fatal(err)
	}
	want := "4d3cb2a1" + "02000400" + "00000000" + "00000000" + "ffff0000" + "01000000" +
		"01000000" + "0765cd1d" + "02000000" + "3c000000" + "dead" +
		"ffffffff" + "ffc99a3b" + "00000000" + "00000000"
	if got := hex.EncodeToString(b.Bytes()); got != want {
		t.Fatalf("pcap bytes\n got %s\nwant %s", got, want)
	}
	frame := []byte{1}
	if n := testing.AllocsPerRun(100, func() { b.Reset(); w.writePacket(1, frame, 1) }); n != 0 {
		t.Errorf("writePacket allocates %.0f times per frame", n)
	}
}
