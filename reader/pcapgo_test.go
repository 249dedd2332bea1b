package reader

import (
	"bytes"
	"encoding/binary"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/reader/internal/capbuild"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// refFrame is one frame as gopacket's pcapgo reads it: the independent
// implementation the Reader is held to.
type refFrame struct {
	tsNs        int64
	capLen, len int
	iface       int // global: pcapgo numbers interfaces per section
	link        layers.LinkType
	data        []byte
}

// readPcapgo reads a capture with pcapgo.Reader or pcapgo.NgReader until
// its first error (nil at a clean end).
func readPcapgo(raw []byte) ([]refFrame, error) {
	var (
		next func() ([]byte, gopacket.CaptureInfo, error)
		link func(ci gopacket.CaptureInfo) layers.LinkType
		base int // interfaces of the sections before the current one
	)
	if isPcapMagic(raw) {
		if len(raw) >= 24 {
			// pcapgo refuses minor versions other than 4, though 2.1 to
			// 2.4 share one record format: it reads a copy made 2.4.
			raw = bytes.Clone(raw)
			pcapByteOrder(raw).PutUint16(raw[6:8], 4)
		}
		r, err := pcapgo.NewReader(bytes.NewReader(raw))
		if err != nil {
			return nil, err
		}
		next = r.ReadPacketData
		link = func(gopacket.CaptureInfo) layers.LinkType { return r.LinkType() }
	} else {
		r, err := pcapgo.NewNgReader(bytes.NewReader(raw), pcapgo.NgReaderOptions{
			WantMixedLinkType:  true,
			SectionEndCallback: func(ifs []pcapgo.NgInterface, _ pcapgo.NgSectionInfo) { base += len(ifs) },
		})
		if err != nil {
			return nil, err
		}
		next = r.ReadPacketData
		link = func(ci gopacket.CaptureInfo) layers.LinkType { return ci.AncillaryData[0].(layers.LinkType) }
	}
	var out []refFrame
	for {
		data, ci, err := next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		f := refFrame{capLen: ci.CaptureLength, len: ci.Length, iface: base + ci.InterfaceIndex, link: link(ci), data: data}
		if !ci.Timestamp.IsZero() { // simple packet blocks have none
			f.tsNs = ci.Timestamp.UnixNano()
		}
		out = append(out, f)
	}
}

// captures lists every uncompressed pcap and pcapng file under the
// repository's testdata/, found by its magic.
func captures(t *testing.T) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(filepath.Join(corpusDir, ".."), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		var m [4]byte
		if _, err := io.ReadFull(f, m[:]); err != nil {
			return nil
		}
		if isPcapMagic(m[:]) || binary.LittleEndian.Uint32(m[:]) == ngSectionHeader {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) < 30 {
		t.Fatalf("found only %d captures under testdata/", len(out))
	}
	return out
}

// TestAgainstPcapgo holds the Reader to gopacket's pcapgo, frame by frame,
// on every capture under testdata/: timestamp, captured and original
// length, bytes, interface and link type. Where pcapgo stops with an error
// (it refuses records longer than the snap length or than the original
// length, and pcapng 1.2 sections), the
// frames before its error must match and the Reader must read at least as
// far; where pcapgo reads the whole file, the Reader must read exactly the
// same frames and end cleanly too.
func TestAgainstPcapgo(t *testing.T) {
	compared, full := 0, 0
	for _, path := range captures(t) {
		t.Run(filepath.Base(path), func(t *testing.T) {
			raw, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, werr := readPcapgo(raw)
			r, err := NewReader(bytes.NewReader(raw), path)
			var got []Frame
			if err == nil {
				got, err = readAll(t, r)
			}
			if werr == nil {
				full++
				if err != nil {
					t.Errorf("pcapgo reads all %d frames, the Reader fails after %d: %v", len(want), len(got), err)
				}
				if len(got) != len(want) {
					t.Errorf("%d frames, pcapgo %d", len(got), len(want))
				}
			} else {
				t.Logf("pcapgo stops after %d frames: %v; the Reader reads %d frames, then %v", len(want), werr, len(got), err)
				if len(got) < len(want) {
					t.Errorf("the Reader reads %d frames, fewer than pcapgo's %d", len(got), len(want))
				}
			}
			for i := range min(len(got), len(want)) {
				g, w := &got[i], &want[i]
				if g.TimestampNs != w.tsNs || g.CapLen != w.capLen || g.OrigLen != w.len || g.InterfaceID != w.iface ||
					g.LinkType != w.link || !bytes.Equal(g.Data, w.data) || g.Number != uint64(i+1) {
					t.Fatalf("frame %d differs:\n got ts %d caplen %d len %d if %d link %v\nwant ts %d caplen %d len %d if %d link %v (data equal: %v)",
						i+1, g.TimestampNs, g.CapLen, g.OrigLen, g.InterfaceID, g.LinkType,
						w.tsNs, w.capLen, w.len, w.iface, w.link, bytes.Equal(g.Data, w.data))
				}
				compared++
			}
		})
	}
	t.Logf("%d frames compared; pcapgo read %d captures to the end", compared, full)
	if compared < 100000 || full < 25 {
		t.Errorf("only %d frames compared, %d captures read whole by pcapgo", compared, full)
	}
}

// TestAgainstPcapgoSynthetic covers, against pcapgo, what the corpus has
// little of: several pcapng sections (interface ids global in the Reader,
// per section in pcapgo), a big-endian section, options after the packet,
// simple packet blocks and obsolete packet blocks.
func TestAgainstPcapgoSynthetic(t *testing.T) {
	var b capbuild.Pcapng
	b.SHB(binary.BigEndian, 0)
	b.IDB(1, 96, capbuild.Opt{Code: 9, Val: []byte{9}}, capbuild.Opt{Code: 14, Val: b.U64(7)})
	b.IDB(101, 0)
	b.EPB(1, 1_700_000_000_000_000_001, []byte("raw-ip"), 60, capbuild.Opt{Code: 1, Val: []byte("comment")})
	b.Block(ngSimplePacket, append(b.U32(3), 'x', 'y', 'z'))
	body := append(b.U16(1), 0xFF, 0xFF) // obsolete packet block: interface 1, no drop count
	body = append(body, b.U32(0)...)
	body = append(body, b.U32(1_000_000)...)
	body = append(body, b.U32(4)...)
	body = append(body, b.U32(9)...)
	b.Block(ngObsoletePacket, append(body, "obso"...))
	b.SHB(binary.LittleEndian, 0)
	b.IDB(1, 0)
	b.EPB(0, 1_700_000_000_123_456, []byte("second section"), 14, capbuild.Opt{Code: 4, Val: b.U64(3)})
	raw := b.Bytes()

	want, err := readPcapgo(raw)
	if err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(bytes.NewReader(raw), "synthetic")
	if err != nil {
		t.Fatal(err)
	}
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 || len(want) != 4 {
		t.Fatalf("%d frames, pcapgo %d, want 4", len(got), len(want))
	}
	for i := range got {
		g, w := &got[i], &want[i]
		if g.TimestampNs != w.tsNs || g.CapLen != w.capLen || g.OrigLen != w.len || g.InterfaceID != w.iface ||
			g.LinkType != w.link || !bytes.Equal(g.Data, w.data) {
			t.Errorf("frame %d: got %+v, pcapgo %+v", i+1, *g, *w)
		}
	}
	if got[3].InterfaceID != 2 {
		t.Errorf("frame 4 on interface %d, want the global id 2", got[3].InterfaceID)
	}
}
