package sidecar_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gapan/gapan/sidecar"
)

// captureIdentity reads the identity of a pcap from the corpus with gopacket.
func captureIdentity(t *testing.T, name string) sidecar.Identity {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "testdata", "corpus", name))
	if err != nil {
		t.Skipf("corpus file missing: %v", err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	data, ci, err := r.ReadPacketData()
	if err != nil {
		t.Fatal(err)
	}
	return sidecar.IdentityOf(uint32(r.LinkType()), r.Snaplen(), ci.Timestamp.UnixNano(), data)
}

// TestCorpusIdentity writes sidecars carrying the identity of real captures
// and checks that pairing one with another capture is detected.
func TestCorpusIdentity(t *testing.T) {
	names := []string{"sipp-g711a-rtp.pcap", "ndpi-kakaotalk-voice-sll.pcap", "zeek-get-to-ssh-server-nsec.pcap", "ndpi-ocs-rawip.pcap"}
	ids := make([]sidecar.Identity, len(names))
	for i, n := range names {
		ids[i] = captureIdentity(t, n)
		h := testHeader
		h.Identity = ids[i]
		got, err := decode(encode(t, h, []sidecar.Record{{Frame: 2, Gap: 1}}, &sidecar.Trailer{Frames: 2}, 0))
		if err != nil || got.Header.Identity != ids[i] {
			t.Fatalf("%s: identity did not round-trip: %+v, %v", n, got.Header.Identity, err)
		}
	}
	// Known link types from MANIFEST.tsv.
	if ids[0].LinkType != 1 || ids[1].LinkType != 113 || ids[3].LinkType != 101 || ids[2].SnapLen != 2000 {
		t.Fatalf("identities %+v", ids)
	}
	for i := range ids {
		for j := range ids {
			err := ids[i].Check(ids[j])
			if (i == j) != (err == nil) || (i != j && !errors.Is(err, sidecar.ErrIdentity)) {
				t.Errorf("%s vs %s: %v", names[i], names[j], err)
			}
		}
	}
	// Same capture, different first frame bytes (e.g. re-captured): detected by the CRC.
	other := ids[0]
	other.FirstFrameCRC = sidecar.Checksum(bytes.Repeat([]byte{1}, 10))
	if err := ids[0].Check(other); !errors.Is(err, sidecar.ErrIdentity) {
		t.Error("first-frame CRC change not detected")
	}
}
