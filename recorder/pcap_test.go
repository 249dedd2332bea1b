package recorder

import (
	"encoding/hex"
	"testing"
)

func TestPcapWriter(t *testing.T) {
	b := make([]byte, 24, 128)
	putPcapFileHeader(b, 65535, 1)
	// 1.5 s plus 7 ns after the epoch; and a time before it.
	b = appendPcapRecord(b, 1_500_000_007, []byte{0xde, 0xad}, 60)
	b = appendPcapRecord(b, -1, nil, 0)
	want := "4d3cb2a1" + "02000400" + "00000000" + "00000000" + "ffff0000" + "01000000" +
		"01000000" + "0765cd1d" + "02000000" + "3c000000" + "dead" +
		"ffffffff" + "ffc99a3b" + "00000000" + "00000000"
	if got := hex.EncodeToString(b); got != want {
		t.Fatalf("pcap bytes\n got %s\nwant %s", got, want)
	}
	frame := []byte{1}
	if n := testing.AllocsPerRun(100, func() { b = appendPcapRecord(b[:0], 1, frame, 1) }); n != 0 {
		t.Errorf("appendPcapRecord allocates %.0f times per frame", n)
	}
}
