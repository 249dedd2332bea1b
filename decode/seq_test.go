package decode

import (
	"net"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/internal/synth"
	"github.com/gapan/gapan/internal/testenv"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// seqSamples writes the synthetic captures of the sequence families
// (internal/synth.WriteSeqSamples) into a temporary directory and returns
// it.
func seqSamples(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	if err := synth.WriteSeqSamples(dir); err != nil {
		t.Fatal(err)
	}
	return dir
}

// TestSeqSamples: the numbers decode puts in Packet.Seq are those the
// synthetic captures were written with (ESP, ESP in UDP after a NAT
// keepalive, GTP-U with the S flag and with an extension header, ICMP
// and ICMPv6 echo, counted in little-endian too: the number on the
// wire), on both decoding paths.
func TestSeqSamples(t *testing.T) {
	want := map[string]map[int]SeqNum{ // by 1-based frame; frames not listed carry none
		synth.SampleESP:            {1: {Kind: SeqESP, Stream: 0x12345678, Num: 1}, 2: {Kind: SeqESP, Stream: 0x9abcdef0, Num: 1}, 15: {Kind: SeqESP, Stream: 0x12345678, Num: 8}},
		synth.SampleESPUDP:         {1: {}, 2: {Kind: SeqESP, Stream: 0x12345678, Num: 1}, 9: {Kind: SeqESP, Stream: 0x12345678, Num: 8}},
		synth.SampleGTPU:           {1: {}, 3: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 0}, 22: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 9}, 26: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 13}, 31: {}},
		synth.SampleGTPUUnnumbered: {1: {}, 10: {}},
		synth.SampleGTPUExt:        {1: {Kind: SeqGTPU, Stream: 0x00100657, Num: 5}},
		synth.SamplePing:           {1: {Kind: SeqICMPEcho, Stream: 1226, Num: 1}, 10: {Kind: SeqICMPEcho, Stream: 1226, Num: 5, Flags: SeqReply}},
		synth.SamplePing6:          {1: {Kind: SeqICMPEcho, Stream: 1, Num: 3}, 8: {Kind: SeqICMPEcho, Stream: 1, Num: 6, Flags: SeqReply}},
		synth.SamplePingLE:         {1: {Kind: SeqICMPEcho, Stream: 0x0100, Num: 9 << 8}, 3: {Kind: SeqICMPEcho, Stream: 0x0100, Num: 9 << 8, Flags: SeqReply}},
		synth.SamplePing6LE:        {1: {}, 3: {Kind: SeqICMPEcho, Stream: 0x2a, Num: 0}, 10: {Kind: SeqICMPEcho, Stream: 0x2a, Num: 3 << 8, Flags: SeqReply}},
	}
	dir := seqSamples(t)
	for _, name := range synth.SeqSamples {
		checkSeq(t, filepath.Join(dir, name), want[name])
	}
}

// TestSeqPublic (opt-in: GAPAN_PUBLIC_TRACES) measures the same on the
// public traces of tcpdump and Zeek, against the numbers tshark shows
// (esp.spi/esp.sequence, gtp.teid/gtp.seq_number, icmp.ident/icmp.seq,
// icmpv6.echo.*, listed once with tshark -T fields).
func TestSeqPublic(t *testing.T) {
	want := map[string]map[int]SeqNum{
		"tcpdump-02-sunrise-sunset-esp.pcap": {1: {Kind: SeqESP, Stream: 0x12345678, Num: 1}, 8: {Kind: SeqESP, Stream: 0x12345678, Num: 8}},
		"tcpdump-espudp1.pcap":               {1: {Kind: SeqESP, Stream: 0x12345678, Num: 1}, 8: {Kind: SeqESP, Stream: 0x12345678, Num: 8}},
		"zeek-gtp6_gtp_0x32.pcap":            {1: {}, 3: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 0}, 26: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 13}, 31: {}},
		"zeek-gtp_ext_header.pcap":           {1: {Kind: SeqGTPU, Stream: 0x00100657, Num: 5}},
		"zeek-5-pings.pcap":                  {1: {Kind: SeqICMPEcho, Stream: 1226, Num: 1}, 10: {Kind: SeqICMPEcho, Stream: 1226, Num: 5, Flags: SeqReply}},
		"zeek-icmp6-ping.pcap":               {1: {Kind: SeqICMPEcho, Stream: 1, Num: 3}, 8: {Kind: SeqICMPEcho, Stream: 1, Num: 6, Flags: SeqReply}},
	}
	names := []string{"tcpdump-02-sunrise-sunset-esp.pcap", "tcpdump-espudp1.pcap", "zeek-gtp6_gtp_0x32.pcap", "zeek-gtp_ext_header.pcap", "zeek-5-pings.pcap", "zeek-icmp6-ping.pcap"}
	for i, path := range testenv.PublicTraces(t, names...) {
		checkSeq(t, path, want[names[i]])
	}
}

// checkSeq decodes the frames of want in path on both decoding paths and
// requires their Packet.Seq.
func checkSeq(t *testing.T, path string, want map[int]SeqNum) {
	t.Helper()
	name := filepath.Base(path)
	frames := readCapture(t, path)
	if len(want) == 0 {
		t.Fatalf("%s: nothing to check", name)
	}
	for _, noFast := range []bool{false, true} {
		d := NewDecoder()
		d.noFast = noFast
		for n, want := range want {
			if n > len(frames) {
				t.Fatalf("%s: no frame %d", name, n)
			}
			var p Packet
			if err := d.Decode(frames[n-1].lt, frames[n-1].data, &p); err != nil {
				t.Fatalf("%s frame %d: %v", name, n, err)
			}
			if p.Seq != want {
				t.Errorf("%s frame %d (noFast %v): Seq %+v, want %+v", name, n, noFast, p.Seq, want)
			}
		}
	}
}

// echoFrames returns Ethernet frames of ICMP and ICMPv6 echo requests and
// replies (identifier 0x4242, sequence number 7), built by gopacket.
func echoFrames(t testing.TB) [][]byte {
	t.Helper()
	eth := func(et layers.EthernetType) *layers.Ethernet {
		return &layers.Ethernet{SrcMAC: net.HardwareAddr{2, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{2, 0, 0, 0, 0, 2}, EthernetType: et}
	}
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	var out [][]byte
	for _, typ := range []uint8{layers.ICMPv4TypeEchoRequest, layers.ICMPv4TypeEchoReply} {
		ip := &layers.IPv4{Version: 4, IHL: 5, TTL: 64, Protocol: layers.IPProtocolICMPv4, SrcIP: net.IP{10, 0, 0, 1}, DstIP: net.IP{10, 0, 0, 2}}
		icmp := &layers.ICMPv4{TypeCode: layers.CreateICMPv4TypeCode(typ, 0), Id: 0x4242, Seq: 7}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, eth(layers.EthernetTypeIPv4), ip, icmp, gopacket.Payload("abcdefgh")); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	for _, typ := range []uint8{layers.ICMPv6TypeEchoRequest, layers.ICMPv6TypeEchoReply} {
		ip := &layers.IPv6{Version: 6, HopLimit: 64, NextHeader: layers.IPProtocolICMPv6, SrcIP: net.ParseIP("fd00::1"), DstIP: net.ParseIP("fd00::2")}
		icmp := &layers.ICMPv6{TypeCode: layers.CreateICMPv6TypeCode(typ, 0)}
		if err := icmp.SetNetworkLayerForChecksum(ip); err != nil {
			t.Fatal(err)
		}
		echo := &layers.ICMPv6Echo{Identifier: 0x4242, SeqNumber: 7}
		buf := gopacket.NewSerializeBuffer()
		if err := gopacket.SerializeLayers(buf, opts, eth(layers.EthernetTypeIPv6), ip, icmp, echo, gopacket.Payload("abcdefgh")); err != nil {
			t.Fatal(err)
		}
		out = append(out, buf.Bytes())
	}
	return out
}

// TestSeqEcho: ICMP and ICMPv6 echo requests and replies that gopacket
// built carry their identifier and number in Packet.Seq, replies marked.
func TestSeqEcho(t *testing.T) {
	d := NewDecoder()
	for i, fr := range echoFrames(t) {
		var p Packet
		if err := d.Decode(layers.LinkTypeEthernet, fr, &p); err != nil {
			t.Fatal(err)
		}
		want := SeqNum{Kind: SeqICMPEcho, Stream: 0x4242, Num: 7, Flags: uint8(i % 2)}
		if p.Seq != want {
			t.Errorf("echo %d (IPv%d type %d): Seq %+v, want %+v", i, p.IPVersion, p.ICMP.Type, p.Seq, want)
		}
	}
}
