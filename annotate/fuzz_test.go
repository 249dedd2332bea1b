package annotate

import (
	"bytes"
	"io"
	"os"
	"testing"

	"github.com/gapan/gapan/reader"
)

// FuzzWriterRoundTrip feeds any capture the reader accepts through the
// Writer and requires the reader to read back exactly the frames written,
// with the gaps as epb_dropcount: what annotate writes, it reads back
// identically. Damaged input is written up to the damage.
func FuzzWriterRoundTrip(f *testing.F) {
	for _, name := range []string{"zeek-pcapng-multi-interface.pcapng", "gopacket-pcapng-epb-dropcount.pcapng", "zeek-get-to-ssh-server-nsec.pcap", "gopacket-pcapng-be-test101.pcapng"} {
		b, err := os.ReadFile(corpus + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, uint64(0x5a5a5a5a5a5a5a5a))
	}
	f.Fuzz(roundTrip)
}

func roundTrip(t *testing.T, data []byte, gapBits uint64) {
	{
		rd, err := reader.NewReader(bytes.NewReader(data), "fuzz")
		if err != nil {
			return
		}
		defer rd.Close()
		var out bytes.Buffer
		w := NewWriter(&out, Options{Comment: "fuzz"})
		type want struct {
			ts    int64
			iface int
			data  []byte
			gap   uint64
		}
		var wants []want
		seen := map[int]bool{}
		for len(wants) < 2000 {
			fr, err := rd.Next()
			if err != nil {
				break
			}
			for w.Interfaces() <= fr.InterfaceID {
				if _, err := w.AddInterface(rd.Interfaces()[w.Interfaces()]); err != nil {
					t.Fatal(err)
				}
			}
			gap := (gapBits >> (fr.Number % 61)) & 7
			if err := w.WriteFrame(fr.InterfaceID, fr, gap, true); err != nil {
				t.Fatalf("frame %d: %v", fr.Number, err)
			}
			wants = append(wants, want{fr.TimestampNs, fr.InterfaceID, bytes.Clone(fr.Data), gap})
		}
		if w.Interfaces() == 0 {
			return
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := reader.NewReader(bytes.NewReader(out.Bytes()), "annotated")
		if err != nil {
			t.Fatalf("reading back: %v", err)
		}
		for i, wf := range wants {
			fr, err := back.Next()
			if err != nil {
				t.Fatalf("frame %d of %d: %v", i+1, len(wants), err)
			}
			if fr.TimestampNs != wf.ts || fr.InterfaceID != wf.iface || !bytes.Equal(fr.Data, wf.data) {
				t.Fatalf("frame %d: ts %d/%d iface %d/%d bytes equal %v", i+1, fr.TimestampNs, wf.ts, fr.InterfaceID, wf.iface, bytes.Equal(fr.Data, wf.data))
			}
			first := !seen[wf.iface]
			seen[wf.iface] = true
			if fr.DropCount != wf.gap || fr.HasDropCount != (wf.gap > 0 || first) {
				t.Fatalf("frame %d: drop count %d (%v), want %d", i+1, fr.DropCount, fr.HasDropCount, wf.gap)
			}
		}
		if _, err := back.Next(); err != io.EOF {
			t.Fatalf("after the last frame: %v", err)
		}
		if st := back.Stats(); len(st) != w.Interfaces() {
			t.Fatalf("%d statistics blocks for %d interfaces", len(st), w.Interfaces())
		}
	}
}
