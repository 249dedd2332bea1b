package decode

import (
	"net"
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

// seqDir holds the public captures of the sequence families.
const seqDir = "../testdata/seq/"

// seqCaptures are the captures of seqDir.
var seqCaptures = []string{
	"tcpdump-02-sunrise-sunset-esp.pcap", "tcpdump-espudp1.pcap",
	"zeek-gtp6_gtp_0x32.pcap", "zeek-gtp_ext_header.pcap",
	"zeek-5-pings.pcap", "zeek-icmp6-ping.pcap",
}

// TestSeqPublic: the numbers decode puts in Packet.Seq are those tshark
// shows (esp.spi/esp.sequence, gtp.teid/gtp.seq_number,
// icmp.ident/icmp.seq, icmpv6.echo.*, listed once with tshark -T
// fields), on both decoding paths.
func TestSeqPublic(t *testing.T) {
	for _, tc := range []struct {
		name string
		want map[int]SeqNum // by 1-based frame; frames not listed carry none
	}{
		{"tcpdump-02-sunrise-sunset-esp.pcap", map[int]SeqNum{1: {Kind: SeqESP, Stream: 0x12345678, Num: 1}, 8: {Kind: SeqESP, Stream: 0x12345678, Num: 8}}},
		{"tcpdump-espudp1.pcap", map[int]SeqNum{1: {Kind: SeqESP, Stream: 0x12345678, Num: 1}, 8: {Kind: SeqESP, Stream: 0x12345678, Num: 8}}},
		{"zeek-gtp6_gtp_0x32.pcap", map[int]SeqNum{1: {}, 3: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 0}, 26: {Kind: SeqGTPU, Stream: 0x26d7a, Num: 13}, 31: {}}},
		{"zeek-gtp_ext_header.pcap", map[int]SeqNum{1: {Kind: SeqGTPU, Stream: 0x00100657, Num: 5}}},
		{"zeek-5-pings.pcap", map[int]SeqNum{1: {Kind: SeqICMPEcho, Stream: 1226, Num: 1}, 10: {Kind: SeqICMPEcho, Stream: 1226, Num: 5, Flags: SeqReply}}},
		{"zeek-icmp6-ping.pcap", map[int]SeqNum{1: {Kind: SeqICMPEcho, Stream: 1, Num: 3}, 8: {Kind: SeqICMPEcho, Stream: 1, Num: 6, Flags: SeqReply}}},
	} {
		frames := readCapture(t, seqDir+tc.name)
		for _, noFast := range []bool{false, true} {
			d := NewDecoder()
			d.noFast = noFast
			for n, want := range tc.want {
				var p Packet
				if err := d.Decode(frames[n-1].lt, frames[n-1].data, &p); err != nil {
					t.Fatalf("%s frame %d: %v", tc.name, n, err)
				}
				if p.Seq != want {
					t.Errorf("%s frame %d (noFast %v): Seq %+v, want %+v", tc.name, n, noFast, p.Seq, want)
				}
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
