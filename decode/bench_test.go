package decode

import (
	"testing"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
)

func benchFrames(b *testing.B, frames []corpusFrame, noFast bool) {
	d := NewDecoder()
	d.noFast = noFast
	var p Packet
	var n int64
	for _, f := range frames {
		n += int64(len(f.data))
	}
	b.SetBytes(n / int64(len(frames)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		f := &frames[i%len(frames)]
		_ = d.Decode(f.lt, f.data, &p)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkDecode decodes the frames of real captures in a loop, with the
// fast path (default) and with the gopacket layers only, and the frames
// of an ERSPAN capture.
func BenchmarkDecode(b *testing.B) {
	for _, name := range []string{"tls-subjectaltname.pcap", "zeek-echo-connections.pcap", "ndpi-tumblr-ipv6.pcap", "ndpi-quickplay-sll.pcap"} {
		frames := readCorpus(b, name)
		b.Run(name+"/fast", func(b *testing.B) { benchFrames(b, frames, false) })
		b.Run(name+"/gopacket", func(b *testing.B) { benchFrames(b, frames, true) })
	}
	// ERSPAN type II (GRE with sequence numbers, inner Ethernet frames):
	// the gopacket path only.
	// The synthetic one of internal/synth.WriteMirrorSamples (108 frames,
	// inner Ethernet/IPv4/UDP).
	frames := readCapture(b, mirrorSamples(b)[1])
	b.Run("erspan2.pcap", func(b *testing.B) { benchFrames(b, frames, false) })
}

// BenchmarkDecodingLayerParser is the reference: gopacket's own
// DecodingLayerParser over Ethernet/IPv4/IPv6/TCP/UDP, extracting nothing.
func BenchmarkDecodingLayerParser(b *testing.B) {
	frames := readCorpus(b, "tls-subjectaltname.pcap")
	var eth layers.Ethernet
	var ip4 layers.IPv4
	var ip6 layers.IPv6
	var tcp layers.TCP
	var udp layers.UDP
	var payload gopacket.Payload
	parser := gopacket.NewDecodingLayerParser(layers.LayerTypeEthernet, &eth, &ip4, &ip6, &tcp, &udp, &payload)
	parser.IgnoreUnsupported = true
	decoded := make([]gopacket.LayerType, 0, 8)
	var n int64
	for _, f := range frames {
		n += int64(len(f.data))
	}
	b.SetBytes(n / int64(len(frames)))
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		_ = parser.DecodeLayers(frames[i%len(frames)].data, &decoded)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "frames/s")
}
