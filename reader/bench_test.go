package reader

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"
)

func benchInput(b *testing.B, name string) []byte {
	raw, err := os.ReadFile(corpus(name))
	if err != nil {
		b.Fatal(err)
	}
	return raw
}

func benchReader(b *testing.B, name string, raw []byte) {
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var frames int
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(raw), name)
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			frames++
		}
		r.Close()
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkReadPcap reads an 82582-frame, 6.8 MB pcap from memory.
func BenchmarkReadPcap(b *testing.B) {
	benchReader(b, "echo.pcap", benchInput(b, "zeek-echo-connections.pcap"))
}

// BenchmarkReadPcapLarge reads a pcap of large (GRO) frames.
func BenchmarkReadPcapLarge(b *testing.B) {
	benchReader(b, "sll2.pcap", benchInput(b, "suricata-decode-sll2-02.pcap"))
}

// BenchmarkReadPcapng reads a 3103-frame, 1.3 MB pcapng from memory.
func BenchmarkReadPcapng(b *testing.B) {
	benchReader(b, "alexa.pcapng", benchInput(b, "ndpi-alexa-app.pcapng"))
}

// BenchmarkReadPcapGzip includes gzip decompression.
func BenchmarkReadPcapGzip(b *testing.B) {
	benchReader(b, "echo.pcap.gz", gz(b, benchInput(b, "zeek-echo-connections.pcap")))
}

// BenchmarkPcapgoBaseline is the bare pcapgo ZeroCopyReadPacketData loop
// over the same file as BenchmarkReadPcap, for comparison.
func BenchmarkPcapgoBaseline(b *testing.B) {
	raw := benchInput(b, "zeek-echo-connections.pcap")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var frames int
	for b.Loop() {
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			frames++
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}

// BenchmarkPcapgoNgBaseline is the bare pcapgo pcapng loop over the same
// file as BenchmarkReadPcapng.
func BenchmarkPcapgoNgBaseline(b *testing.B) {
	raw := benchInput(b, "ndpi-alexa-app.pcapng")
	b.SetBytes(int64(len(raw)))
	b.ReportAllocs()
	var frames int
	for b.Loop() {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.NgReaderOptions{WantMixedLinkType: true})
		if err != nil {
			b.Fatal(err)
		}
		for {
			_, _, err := r.ZeroCopyReadPacketData()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			frames++
		}
	}
	b.ReportMetric(float64(frames)/b.Elapsed().Seconds(), "frames/s")
}
