// Command fuzzseeds writes the seed corpus of reader.FuzzReader: small real
// captures, damaged and compressed ones, and a synthetic pcapng with two
// sections. It runs from the reader directory by go generate:
//
//	go generate ./reader
//
// Its output is deterministic; reader.TestFuzzSeedCorpus checks that every
// seed exists and reads as expected.
package main

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"

	"github.com/gapan/gapan/reader/internal/capbuild"
	"github.com/klauspost/compress/zstd"
)

func main() {
	corpus := flag.String("corpus", "../testdata/corpus", "directory of the corpus captures")
	out := flag.String("out", "testdata/fuzz/FuzzReader", "seed corpus directory to write")
	flag.Parse()
	if err := run(*corpus, *out); err != nil {
		fmt.Fprintln(os.Stderr, "fuzzseeds:", err)
		os.Exit(1)
	}
}

func run(corpus, out string) error {
	read := func(name string) ([]byte, error) { return os.ReadFile(filepath.Join(corpus, name)) }
	seeds := map[string][]byte{}
	for _, name := range []string{
		"zeek-pcapng-multi-interface.pcapng", "gopacket-pcapng-be-test101.pcapng", "gopacket-pcapng-epb-dropcount.pcapng",
		"libpcap-pcap-invalid-version-1.pcap", "libpcap-shb-option-too-long.pcapng", "tcpdump-timestamp-invalid-nano.pcap",
		"zeek-get-to-ssh-server-nsec.pcap",
	} {
		b, err := read(name)
		if err != nil {
			return err
		}
		seeds[name] = b
	}
	smtp, err := read("suricata-smtp-to-comma-corrupt.pcap")
	if err != nil {
		return err
	}
	seeds["smtp-corrupt-head"] = smtp[:3695+64] // 18 frames, then a garbage record header
	nfs, err := read("suricata-nfs3-bigendian.pcap")
	if err != nil {
		return err
	}
	seeds["nfs3-bigendian-head"] = nfs[:1024]
	if seeds["nsec.pcap.gz"], err = gz(seeds["zeek-get-to-ssh-server-nsec.pcap"]); err != nil {
		return err
	}
	if seeds["multi.pcapng.zst"], err = zst(seeds["zeek-pcapng-multi-interface.pcapng"]); err != nil {
		return err
	}
	seeds["synthetic-two-sections"] = twoSections()
	seeds["pcap-huge-record-cut"], seeds["pcapng-huge-blocks"] = hugeLengths()

	if err := os.MkdirAll(out, 0o755); err != nil {
		return err
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(out, name), []byte(content), 0o644); err != nil {
			return err
		}
	}
	return nil
}

// twoSections is a big-endian pcapng 1.2 section (binary timestamp
// resolution, if_tsoffset, an epb_dropcount, a simple packet block,
// statistics) followed by a little-endian one.
func twoSections() []byte {
	var b capbuild.Pcapng
	b.SHB(binary.BigEndian, 2)
	b.IDB(1, 0, capbuild.Opt{Code: 9, Val: []byte{0x94}}, capbuild.Opt{Code: 14, Val: b.U64(1)})
	b.EPB(0, 12345, []byte("abc"), 3, capbuild.Opt{Code: 4, Val: b.U64(9)})
	b.Block(capbuild.BlockSimplePacket, append(b.U32(3), 'x', 'y', 'z', 0))
	b.ISB(0, 1, capbuild.Opt{Code: 7, Val: b.U64(2)})
	b.SHB(binary.LittleEndian, 0)
	b.IDB(101, 64)
	b.EPB(0, 1, []byte("d"), 1)
	return b.Bytes()
}

// hugeLengths returns a pcap whose one record announces 16 MiB (the most
// a file declaring that snap length may hold) but ends after 100 bytes,
// and a pcapng with an unknown block announcing 4 GiB after a valid
// packet: lengths the reader must not allocate for.
func hugeLengths() (pcap, pcapng []byte) {
	pcap = capbuild.Pcap(binary.LittleEndian, 0xA1B2C3D4, 4, 16<<20,
		capbuild.PcapRecord{Sec: 1, Data: make([]byte, 100), Orig: 16 << 20, CapLen: 16 << 20})
	var b capbuild.Pcapng
	b.SHB(binary.LittleEndian, 0)
	b.IDB(1, 0)
	b.EPB(0, 1, []byte("one"), 3)
	pcapng = append(b.Bytes(), b.U32(0x0BAD)...)
	pcapng = append(pcapng, b.U32(0xFFFFFFF0)...)
	return pcap, append(pcapng, make([]byte, 64)...)
}

func gz(b []byte) ([]byte, error) {
	var w bytes.Buffer
	z := gzip.NewWriter(&w)
	if _, err := z.Write(b); err != nil {
		return nil, err
	}
	if err := z.Close(); err != nil {
		return nil, err
	}
	return w.Bytes(), nil
}

func zst(b []byte) ([]byte, error) {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		return nil, err
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil), nil
}
