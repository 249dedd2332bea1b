package reader

import (
	"bytes"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

var updateFuzz = flag.Bool("update-fuzz", false, "rewrite the seed corpus in testdata/fuzz/FuzzReader")

// FuzzReader feeds arbitrary bytes to the Reader: it must never panic or
// hang, and must end with io.EOF or a *FormatError that is consistent
// with the frames it delivered.
func FuzzReader(f *testing.F) {
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkFuzzErr(t, err, 0)
			return
		}
		defer r.Close()
		var n uint64
		for {
			fr, err := r.Next()
			if err == io.EOF {
				break
			}
			if err != nil {
				checkFuzzErr(t, err, n)
				break
			}
			n++
			if fr.Number != n || fr.CapLen != len(fr.Data) || fr.Offset < 0 {
				t.Fatalf("frame %d: Number %d CapLen %d len(Data) %d Offset %d", n, fr.Number, fr.CapLen, len(fr.Data), fr.Offset)
			}
			if r.Compression() == CompressionNone && fr.Offset+int64(fr.CapLen) > int64(len(data)) {
				t.Fatalf("frame %d at offset %d with %d bytes lies outside the %d byte input", n, fr.Offset, fr.CapLen, len(data))
			}
			if fr.InterfaceID < 0 || fr.InterfaceID >= len(r.Interfaces()) {
				t.Fatalf("frame %d on interface %d of %d", n, fr.InterfaceID, len(r.Interfaces()))
			}
		}
		_ = r.Stats()
	})
}

func checkFuzzErr(t *testing.T, err error, frames uint64) {
	t.Helper()
	var fe *FormatError
	if !errors.As(err, &fe) {
		t.Fatalf("error %T %v is not a *FormatError", err, err)
	}
	if fe.FramesRead != frames || fe.Frame != frames+1 || fe.File != "fuzz" || fe.Offset < 0 {
		t.Fatalf("error %+v after %d frames", fe, frames)
	}
}

// TestWriteFuzzSeeds regenerates the seed corpus with -update-fuzz: small
// real captures, damaged ones and compressed ones.
func TestWriteFuzzSeeds(t *testing.T) {
	if !*updateFuzz {
		t.Skip("run with -update-fuzz to rewrite testdata/fuzz/FuzzReader")
	}
	seeds := map[string][]byte{}
	for _, name := range []string{
		"zeek-pcapng-multi-interface.pcapng", "gopacket-pcapng-be-test101.pcapng", "gopacket-pcapng-epb-dropcount.pcapng",
		"libpcap-pcap-invalid-version-1.pcap", "libpcap-shb-option-too-long.pcapng", "tcpdump-timestamp-invalid-nano.pcap",
		"zeek-get-to-ssh-server-nsec.pcap",
	} {
		b, err := os.ReadFile(corpus(name))
		if err != nil {
			t.Fatal(err)
		}
		seeds[name] = b
	}
	smtp, err := os.ReadFile(corpus("suricata-smtp-to-comma-corrupt.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	seeds["smtp-corrupt-head"] = smtp[:3695+64]
	nfs, err := os.ReadFile(corpus("suricata-nfs3-bigendian.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	seeds["nfs3-bigendian-head"] = nfs[:1024]
	seeds["nsec.pcap.gz"] = gz(t, seeds["zeek-get-to-ssh-server-nsec.pcap"])
	seeds["multi.pcapng.zst"] = zst(t, seeds["zeek-pcapng-multi-interface.pcapng"])
	var b ngBuilder
	b.shb(binary.BigEndian, 2)
	b.idb(1, 0, ngOpt{9, []byte{0x94}}, ngOpt{14, b.u64(1)})
	b.epb(0, 12345, []byte("abc"), 3, ngOpt{4, b.u64(9)})
	b.block(3, append(b.u32(3), 'x', 'y', 'z', 0))
	b.isb(0, 1, ngOpt{7, b.u64(2)})
	b.shb(binary.LittleEndian, 0)
	b.idb(101, 64)
	b.epb(0, 1, []byte("d"), 1)
	seeds["synthetic-two-sections"] = b.bytes()

	dir := filepath.Join("testdata", "fuzz", "FuzzReader")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range seeds {
		content := fmt.Sprintf("go test fuzz v1\n[]byte(%s)\n", strconv.Quote(string(data)))
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}
