package reader

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"fmt"
	"github.com/gapan/gapan/internal/testenv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/reader/internal/capbuild"
	"github.com/gopacket/gopacket/layers"
	"github.com/klauspost/compress/zstd"
)

const corpusDir = "../testdata/corpus"

func corpus(name string) string { return filepath.Join(corpusDir, name) }

// readAll reads frames until an error and returns copies of them.
func readAll(t testing.TB, r *Reader) ([]Frame, error) {
	t.Helper()
	var out []Frame
	for {
		f, err := r.Next()
		if err != nil {
			if err == io.EOF {
				return out, nil
			}
			return out, err
		}
		c := *f
		c.Data = bytes.Clone(f.Data)
		out = append(out, c)
	}
}

type manifestRow struct {
	file   string
	frames int
	note   string // what follows the count: "", "then error", "then truncated", "unreadable", "rejected"
}

func readManifest(t *testing.T) []manifestRow {
	t.Helper()
	b, err := os.ReadFile(corpus("MANIFEST.tsv"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []manifestRow
	for i, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if i == 0 {
			continue
		}
		cols := strings.Split(line, "\t")
		if len(cols) < 8 {
			t.Fatalf("manifest line %d has %d columns", i+1, len(cols))
		}
		field := cols[7]
		num, rest, _ := strings.Cut(field, " ")
		n, err := strconv.Atoi(num)
		if err != nil {
			t.Fatalf("manifest %s: frames %q", cols[0], field)
		}
		rows = append(rows, manifestRow{file: cols[0], frames: n, note: strings.Trim(rest, "()")})
	}
	if len(rows) < 30 {
		t.Fatalf("manifest has only %d rows", len(rows))
	}
	return rows
}

// TestCorpusFrameCounts reads every corpus file and checks the frame count
// against MANIFEST.tsv, and that damaged files fail after exactly the
// frames the manifest says are readable.
func TestCorpusFrameCounts(t *testing.T) {
	for _, row := range readManifest(t) {
		t.Run(row.file, func(t *testing.T) {
			r, err := Open(corpus(row.file))
			if err != nil {
				if row.frames == 0 && (strings.HasPrefix(row.note, "unreadable") || strings.HasPrefix(row.note, "rejected")) {
					var fe *FormatError
					if !errors.As(err, &fe) {
						t.Fatalf("Open error %T %v, want *FormatError", err, err)
					}
					return
				}
				t.Fatal(err)
			}
			defer r.Close()
			frames, err := readAll(t, r)
			if len(frames) != row.frames {
				t.Errorf("read %d frames, manifest says %d", len(frames), row.frames)
			}
			switch {
			case row.note == "":
				if err != nil {
					t.Errorf("unexpected error: %v", err)
				}
			default:
				if err == nil {
					t.Errorf("manifest says %q, but the file read cleanly", row.note)
				}
			}
			for i, f := range frames {
				if f.Number != uint64(i+1) {
					t.Fatalf("frame %d has Number %d", i+1, f.Number)
				}
				if f.CapLen != len(f.Data) || f.CapLen > f.OrigLen && r.Format() == FormatPcapng {
					t.Fatalf("frame %d: CapLen %d, len(Data) %d, OrigLen %d", f.Number, f.CapLen, len(f.Data), f.OrigLen)
				}
			}
			if r.FramesRead() != uint64(len(frames)) {
				t.Errorf("FramesRead %d, want %d", r.FramesRead(), len(frames))
			}
		})
	}
}

// tsharkFrame is one line of tshark -T fields output.
type tsharkFrame struct {
	tsNs, capLen, origLen int64
	iface                 int
	hasTs                 bool
}

// parseEpoch turns tshark's "sec.frac" into ns exactly.
func parseEpoch(s string) (int64, error) {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	secS, fracS, _ := strings.Cut(s, ".")
	sec, err := strconv.ParseInt(secS, 10, 64)
	if err != nil {
		return 0, err
	}
	for len(fracS) < 9 {
		fracS += "0"
	}
	if len(fracS) > 9 {
		return 0, fmt.Errorf("more than 9 fraction digits in %q", s)
	}
	frac, err := strconv.ParseInt(fracS, 10, 64)
	if err != nil {
		return 0, err
	}
	ns := sec*1e9 + frac
	if neg {
		ns = -ns
	}
	return ns, nil
}

func tsharkFrames(t *testing.T, tshark, file string) []tsharkFrame {
	t.Helper()
	out, err := exec.Command(tshark, "-r", file, "-T", "fields",
		"-e", "frame.time_epoch", "-e", "frame.cap_len", "-e", "frame.len", "-e", "frame.interface_id").Output()
	if err != nil {
		t.Fatalf("tshark %s: %v", file, err)
	}
	var fs []tsharkFrame
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		cols := strings.Split(sc.Text(), "\t")
		if len(cols) != 4 {
			t.Fatalf("tshark line %q", sc.Text())
		}
		var f tsharkFrame
		if cols[0] != "" {
			if f.tsNs, err = parseEpoch(cols[0]); err != nil {
				t.Fatal(err)
			}
			f.hasTs = true
		}
		f.capLen, _ = strconv.ParseInt(cols[1], 10, 64)
		f.origLen, _ = strconv.ParseInt(cols[2], 10, 64)
		if cols[3] != "" {
			f.iface, _ = strconv.Atoi(cols[3])
		}
		fs = append(fs, f)
	}
	return fs
}

// TestAgainstTshark compares every frame's timestamp, lengths and
// interface with tshark for the corpus files both can read completely.
func TestAgainstTshark(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	files := []string{
		"gopacket-pcapng-be-test101.pcapng",    // big-endian pcapng, 3 interfaces, simple packet block
		"gopacket-pcapng-epb-dropcount.pcapng", // EPB options
		"ndpi-sites-22if.pcapng",               // 22 interfaces, tsresol 9 and 6 mixed
		"zeek-pcapng-multi-interface.pcapng",   // 2 interfaces, tsresol 9 and 6
		"zeek-ldap-gap-data-missing.pcapng",    // 126 interfaces
		"zeek-quic-merlinc2-isb-ifdrop.pcapng", // ISB at the end
		"ndpi-alexa-app.pcapng",                // 3103 frames
		"suricata-nfs3-bigendian.pcap",         // BE, v2.1
		"zeek-get-to-ssh-server-nsec.pcap",     // nanosecond magic
		"suricata-decode-sll2-02.pcap",         // 65 kB frames
		"ndpi-sip-rtp-t38-fax.pcap",            // usec LE
		"suricata-http-range-multiflows-null.pcap",
	}
	for _, name := range files {
		t.Run(name, func(t *testing.T) {
			t.Parallel() // tshark's start-up dominates
			want := tsharkFrames(t, tshark, corpus(name))
			r, err := Open(corpus(name))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			got, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(want) {
				t.Fatalf("%d frames, tshark %d", len(got), len(want))
			}
			for i, w := range want {
				g := got[i]
				wantTs := w.tsNs
				if !w.hasTs {
					wantTs = 0 // simple packet block
				}
				if g.TimestampNs != wantTs || int64(g.CapLen) != w.capLen || int64(g.OrigLen) != w.origLen || g.InterfaceID != w.iface {
					t.Fatalf("frame %d: got ts %d cap %d len %d if %d; tshark ts %d cap %d len %d if %d",
						i+1, g.TimestampNs, g.CapLen, g.OrigLen, g.InterfaceID, wantTs, w.capLen, w.origLen, w.iface)
				}
			}
			t.Logf("%d frames, first ts %d, last ts %d", len(got), got[0].TimestampNs, got[len(got)-1].TimestampNs)
		})
	}
}

// TestInvalidNanoTimestamps pins the documented choice for sub-second
// fields >= 1e9: read the frame, add the field to the seconds.
func TestInvalidNanoTimestamps(t *testing.T) {
	r, err := Open(corpus("tcpdump-timestamp-invalid-nano.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	// Raw fields (tshark prints them as 1418145369.999999999,
	// 1418145370.1000000000 and garbage for the third).
	want := []int64{1418145369*1e9 + 999999999, 1418145370*1e9 + 1000000000, 1418145370*1e9 + 2147483648}
	if len(got) != len(want) {
		t.Fatalf("%d frames", len(got))
	}
	for i := range want {
		if got[i].TimestampNs != want[i] || got[i].LinkType != layers.LinkTypeLinuxSLL {
			t.Errorf("frame %d: ts %d link %v, want %d", i+1, got[i].TimestampNs, got[i].LinkType, want[i])
		}
	}
}

func TestPcapHeaderAndOffsets(t *testing.T) {
	tests := []struct {
		file       string
		link       layers.LinkType
		snap       uint32
		resolution uint8
		firstTs    int64
	}{
		{"suricata-nfs3-bigendian.pcap", layers.LinkTypeEthernet, 1600, 6, 944207397280000000},
		{"zeek-get-to-ssh-server-nsec.pcap", layers.LinkTypeEthernet, 2000, 9, 0},
		{"suricata-decode-sll2-02.pcap", layers.LinkTypeLinuxSLL2, 0, 6, 0},
		{"suricata-http-range-multiflows-null.pcap", layers.LinkTypeNull, 0, 6, 0},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			raw, err := os.ReadFile(corpus(tt.file))
			if err != nil {
				t.Fatal(err)
			}
			r, err := NewReader(bytes.NewReader(raw), tt.file)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Format() != FormatPcap || r.Compression() != CompressionNone {
				t.Errorf("format %v compression %v", r.Format(), r.Compression())
			}
			frames, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			ifs := r.Interfaces()
			if len(ifs) != 1 || ifs[0].LinkType != tt.link || ifs[0].TimestampResolution != tt.resolution || (tt.snap != 0 && ifs[0].SnapLen != tt.snap) {
				t.Errorf("interfaces %+v", ifs)
			}
			if tt.firstTs != 0 && frames[0].TimestampNs != tt.firstTs {
				t.Errorf("first ts %d, want %d", frames[0].TimestampNs, tt.firstTs)
			}
			// Records follow one another: 24-byte file header, then
			// 16-byte record header plus data for each.
			off := int64(24)
			for _, f := range frames {
				if f.Offset != off {
					t.Fatalf("frame %d at offset %d, want %d", f.Number, f.Offset, off)
				}
				if !bytes.Equal(raw[off+16:off+16+int64(f.CapLen)], f.Data) {
					t.Fatalf("frame %d data differs from the file bytes", f.Number)
				}
				if f.LinkType != tt.link || f.InterfaceID != 0 || f.HasDropCount {
					t.Fatalf("frame %d: %+v", f.Number, f)
				}
				off += 16 + int64(f.CapLen)
			}
			if off != int64(len(raw)) {
				t.Errorf("frames end at %d, file has %d bytes", off, len(raw))
			}
			if r.BytesRead() != int64(len(raw)) || r.Size() != -1 {
				t.Errorf("BytesRead %d Size %d, want %d and -1", r.BytesRead(), r.Size(), len(raw))
			}
		})
	}
}

// TestPcapngOffsets checks that every frame's Offset points at the
// enhanced packet block that holds it.
func TestPcapngOffsets(t *testing.T) {
	for _, name := range []string{"ndpi-sites-22if.pcapng", "gopacket-pcapng-be-test101.pcapng", "zeek-ldap-gap-data-missing.pcapng", "ndpi-alexa-app.pcapng"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(corpus(name))
			if err != nil {
				t.Fatal(err)
			}
			bo := binary.ByteOrder(binary.LittleEndian)
			if binary.BigEndian.Uint32(raw[8:12]) == ngByteOrderMagic {
				bo = binary.BigEndian
			}
			r, err := Open(corpus(name))
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if r.Size() != int64(len(raw)) {
				t.Errorf("Size %d, want %d", r.Size(), len(raw))
			}
			frames, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			for _, f := range frames {
				typ := bo.Uint32(raw[f.Offset:])
				var data []byte
				switch typ {
				case ngEnhancedPacket:
					cl := bo.Uint32(raw[f.Offset+20:])
					data = raw[f.Offset+28 : f.Offset+28+int64(cl)]
				case ngSimplePacket:
					data = raw[f.Offset+12 : f.Offset+12+int64(f.CapLen)]
				default:
					t.Fatalf("frame %d: block at offset %d has type %#x", f.Number, f.Offset, typ)
				}
				if !bytes.Equal(data, f.Data) {
					t.Fatalf("frame %d: data differs from the block at offset %d", f.Number, f.Offset)
				}
			}
			if r.BytesRead() != int64(len(raw)) {
				t.Errorf("BytesRead %d, want %d", r.BytesRead(), len(raw))
			}
		})
	}
}

func TestPcapngInterfacesAndStats(t *testing.T) {
	t.Run("test101-big-endian", func(t *testing.T) {
		r, err := Open(corpus("gopacket-pcapng-be-test101.pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		frames, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		links := []layers.LinkType{layers.LinkTypeEthernet, layers.LinkTypeNull, layers.LinkTypeEthernet}
		ifs := r.Interfaces()
		if len(ifs) != 3 {
			t.Fatalf("%d interfaces", len(ifs))
		}
		for i, ifc := range ifs {
			if ifc.ID != i || ifc.LinkType != links[i] || ifc.Section != 0 {
				t.Errorf("interface %d: %+v", i, ifc)
			}
		}
		if frames[3].InterfaceID != 1 || frames[3].LinkType != layers.LinkTypeNull {
			t.Errorf("frame 4: if %d link %v", frames[3].InterfaceID, frames[3].LinkType)
		}
		st := r.Stats()
		if len(st) != 3 {
			t.Fatalf("stats %+v", st)
		}
		s0 := st[0]
		if s0.InterfaceID != 0 || !s0.HasReceived || s0.Received != 100 || !s0.HasDropped || s0.Dropped != 1 ||
			!s0.HasOSDropped || s0.OSDropped != 42 || !s0.HasDelivered || s0.Delivered != 6 || s0.FilterAccepted != 9 {
			t.Errorf("interface 0 stats %+v", s0)
		}
		if s0.Offset != 1120 { // the last, option-less ISB for interface 0
			t.Errorf("interface 0 stats offset %d, want 1120", s0.Offset)
		}
		s2 := st[2]
		if s2.InterfaceID != 2 || s2.HasReceived || !s2.HasDropped || s2.Dropped != 10 || s2.FilterAccepted != 42 || s2.HasOSDropped {
			t.Errorf("interface 2 stats %+v", s2)
		}
	})
	t.Run("quic-isb-ifdrop", func(t *testing.T) {
		r, err := Open(corpus("zeek-quic-merlinc2-isb-ifdrop.pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		if st := r.Stats(); len(st) != 0 {
			t.Errorf("statistics block at the end already visible after frame 1: %+v", st)
		}
		if _, err := readAll(t, r); err != nil {
			t.Fatal(err)
		}
		st := r.Stats()
		if len(st) != 1 || st[0].Received != 1683966 || st[0].Dropped != 1020 || !st[0].HasReceived || !st[0].HasDropped || st[0].HasOSDropped {
			t.Errorf("stats %+v", st)
		}
	})
	t.Run("epb-dropcount", func(t *testing.T) {
		r, err := Open(corpus("gopacket-pcapng-epb-dropcount.pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		f, err := r.Next()
		if err != nil {
			t.Fatal(err)
		}
		if !f.HasDropCount || f.DropCount != 2 || f.InterfaceID != 1 {
			t.Errorf("frame 1: %+v", f)
		}
	})
	t.Run("sites-22-interfaces", func(t *testing.T) {
		r, err := Open(corpus("ndpi-sites-22if.pcapng"))
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		frames, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		used := map[int]bool{}
		res := map[uint8]int{}
		for _, f := range frames {
			used[f.InterfaceID] = true
		}
		for _, ifc := range r.Interfaces() {
			res[ifc.TimestampResolution]++
		}
		if len(r.Interfaces()) != 22 || len(used) != 22 || res[6] == 0 || res[9] == 0 {
			t.Errorf("%d interfaces, %d used, resolutions %v", len(r.Interfaces()), len(used), res)
		}
	})
}

// TestSyntheticPcapng covers what the corpus lacks: several sections with
// global interface ids, a big-endian section with epb_dropcount, binary
// timestamp resolution, if_tsoffset, version 1.2 and skipped block types.
func TestSyntheticPcapng(t *testing.T) {
	var b capbuild.Pcapng
	b.SHB(binary.LittleEndian, 0)
	b.IDB(1, 0, capbuild.Opt{Code: 2, Val: []byte("eth0")}, capbuild.Opt{Code: 9, Val: []byte{9}})
	b.IDB(101, 0, capbuild.Opt{Code: 3, Val: []byte("raw")})
	b.Block(4, []byte{1, 0, 8, 0, 10, 0, 0, 1, 'h', 'o', 's', 't', 0, 0, 0, 0, 0, 0, 0, 0}) // NRB: skipped
	off1 := b.EPB(1, 1_700_000_000_123456, []byte("second-if"), 100)
	b.Block(0x40000BAD, []byte{1, 2, 3, 4}) // custom block: skipped
	off2 := b.EPB(0, 1_700_000_000_123456789, []byte("first"), 5, capbuild.Opt{Code: 4, Val: b.U64(7)}, capbuild.Opt{Code: 1, Val: []byte("comment")})
	b.ISB(0, 1_700_000_001_000000000, capbuild.Opt{Code: 4, Val: b.U64(10)}, capbuild.Opt{Code: 7, Val: b.U64(3)})
	// Second section, big-endian, version 1.2.
	b.SHB(binary.BigEndian, 2)
	b.IDB(1, 65535, capbuild.Opt{Code: 9, Val: []byte{0x80 | 20}}, capbuild.Opt{Code: 14, Val: b.U64(100)}) // 2^-20 s units, +100 s
	b.IDB(1, 65535)
	off3 := b.EPB(1, 5<<32|3, []byte("be"), 2, capbuild.Opt{Code: 4, Val: b.U64(0x0102030405060708)})
	off4 := b.EPB(0, (1_000<<20)+(1<<19)+3, []byte("half"), 4) // 1000.5 s + floor(3*1e9/2^20) ns, plus the 100 s offset
	b.ISB(1, 0, capbuild.Opt{Code: 5, Val: b.U64(4)})

	r, err := NewReader(bytes.NewReader(b.Bytes()), "synthetic.pcapng")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	frames, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	want := []Frame{
		{Number: 1, TimestampNs: 1_700_000_000_123456000, CapLen: 9, OrigLen: 100, LinkType: 101, InterfaceID: 1, Data: []byte("second-if"), Offset: off1},
		{Number: 2, TimestampNs: 1_700_000_000_123456789, CapLen: 5, OrigLen: 5, LinkType: 1, InterfaceID: 0, Data: []byte("first"), DropCount: 7, HasDropCount: true, Offset: off2},
		{Number: 3, TimestampNs: (5<<32 | 3) * 1000 /* microseconds, the default resolution */, CapLen: 2, OrigLen: 2, LinkType: 1, InterfaceID: 3, Data: []byte("be"), DropCount: 0x0102030405060708, HasDropCount: true, Offset: off3},
		{Number: 4, TimestampNs: 1100_500_002_861, CapLen: 4, OrigLen: 4, LinkType: 1, InterfaceID: 2, Data: []byte("half"), Offset: off4},
	}
	if len(frames) != len(want) {
		t.Fatalf("%d frames", len(frames))
	}
	for i := range want {
		if fmt.Sprintf("%+v", frames[i]) != fmt.Sprintf("%+v", want[i]) {
			t.Errorf("frame %d:\n got %+v\nwant %+v", i+1, frames[i], want[i])
		}
	}
	ifs := r.Interfaces()
	if len(ifs) != 4 || ifs[0].Name != "eth0" || ifs[1].Description != "raw" || ifs[2].Section != 1 || ifs[2].TimestampResolution != 0x94 ||
		ifs[2].TimestampOffsetSec != 100 || ifs[3].ID != 3 || ifs[3].SnapLen != 65535 {
		t.Errorf("interfaces %+v", ifs)
	}
	st := r.Stats()
	if len(st) != 2 || st[0].InterfaceID != 0 || st[0].Received != 10 || st[0].OSDropped != 3 || st[0].TimestampNs != 1_700_000_001_000000000 ||
		st[1].InterfaceID != 3 || st[1].Dropped != 4 || st[1].HasReceived {
		t.Errorf("stats %+v", st)
	}
}

func TestPcapVariants(t *testing.T) {
	le, be := binary.ByteOrder(binary.LittleEndian), binary.ByteOrder(binary.BigEndian)
	recs := []capbuild.PcapRecord{{Sec: 10, Frac: 5, Data: []byte("abc"), Orig: 60}, {Sec: 11, Frac: 999999, Data: []byte("defg"), Orig: 4}}
	tests := []struct {
		name  string
		bo    binary.ByteOrder
		magic uint32
		minor uint16
		ts    []int64
	}{
		{"le-usec-2.4", le, pcapMagicUsecLE, 4, []int64{10_000_005_000, 11_999_999_000}},
		{"be-usec-2.2", be, pcapMagicUsecLE, 2, []int64{10_000_005_000, 11_999_999_000}},
		{"le-nsec-2.3", le, pcapMagicNsecLE, 3, []int64{10_000_000_005, 11_000_999_999}},
		{"be-nsec-2.1", be, pcapMagicNsecLE, 1, []int64{10_000_000_005, 11_000_999_999}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(capbuild.Pcap(tt.bo, tt.magic, tt.minor, 65535, recs...)), tt.name)
			if err != nil {
				t.Fatal(err)
			}
			frames, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if len(frames) != 2 || frames[0].TimestampNs != tt.ts[0] || frames[1].TimestampNs != tt.ts[1] ||
				string(frames[0].Data) != "abc" || frames[0].OrigLen != 60 || string(frames[1].Data) != "defg" || frames[1].Offset != 24+16+3 {
				t.Errorf("frames %+v", frames)
			}
		})
	}
	t.Run("caplen-above-origlen", func(t *testing.T) {
		// pcapgo refuses such records; libpcap and Wireshark read them.
		data := capbuild.Pcap(le, pcapMagicUsecLE, 4, 65535, capbuild.PcapRecord{Sec: 1, Data: []byte("longer"), Orig: 2}, capbuild.PcapRecord{Sec: 2, Data: []byte("ok"), Orig: 2})
		r, err := NewReader(bytes.NewReader(data), "x.pcap")
		if err != nil {
			t.Fatal(err)
		}
		frames, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		if len(frames) != 2 || string(frames[0].Data) != "longer" || frames[0].CapLen != 6 || frames[0].OrigLen != 2 || string(frames[1].Data) != "ok" {
			t.Errorf("frames %+v", frames)
		}
	})
}

func cut(t *testing.T, name string, n int) []byte {
	t.Helper()
	b, err := os.ReadFile(corpus(name))
	if err != nil {
		t.Fatal(err)
	}
	if n < 0 {
		n += len(b)
	}
	return b[:n]
}

func gz(t testing.TB, b []byte) []byte {
	var w bytes.Buffer
	z := gzip.NewWriter(&w)
	z.Write(b)
	z.Close()
	return w.Bytes()
}

func zst(t testing.TB, b []byte) []byte {
	enc, err := zstd.NewWriter(nil)
	if err != nil {
		t.Fatal(err)
	}
	defer enc.Close()
	return enc.EncodeAll(b, nil)
}

// TestCorrupt checks the typed error, frame and offset for damaged input.
func TestCorrupt(t *testing.T) {
	var ok capbuild.Pcapng // a valid prefix: SHB, IDB, 2 EPBs
	ok.SHB(binary.LittleEndian, 0)
	ok.IDB(1, 1500)
	ok.EPB(0, 1, []byte("one"), 3)
	ok.EPB(0, 2, []byte("two"), 3)
	good := ok.Bytes()
	next := int64(len(good)) // offset of the damaged block

	withEPB := func(mod func(b []byte)) []byte {
		var x capbuild.Pcapng
		x.BO = binary.LittleEndian
		x.EPB(0, 3, []byte("three"), 5, capbuild.Opt{Code: 1, Val: []byte("c")})
		blk := x.Bytes()
		mod(blk)
		return append(bytes.Clone(good), blk...)
	}
	le := binary.LittleEndian
	mime := cut(t, "suricata-http-mime-truncated.pcap", 2715460)

	tests := []struct {
		name     string
		data     []byte
		open     bool // the error comes from Open
		sentinel error
		frames   uint64
		offset   int64
		msg      string
	}{
		{name: "smtp-garbage-record-header", data: cut(t, "suricata-smtp-to-comma-corrupt.pcap", 129208), sentinel: ErrRecordTooLarge, frames: 18, offset: 3695,
			msg: "x: frame 19 at byte offset 3695: record length 3925868813 exceeds snap length 262144 (18 frames read)"},
		{name: "mime-one-stray-byte", data: mime, sentinel: ErrTruncated, frames: 2696, offset: 2715459,
			msg: "x: frame 2697 at byte offset 2715459: record header cut short: 1 of 16 bytes (2696 frames read)"},
		{name: "pcap-cut-in-record-data", data: cut(t, "zeek-get-to-ssh-server-nsec.pcap", 24+16+74+16+10), sentinel: ErrTruncated, frames: 1, offset: 24 + 16 + 74},
		{name: "pcap-header-short", data: cut(t, "ndpi-teams.pcap", 10), open: true, sentinel: ErrTruncated, offset: 0},
		{name: "pcap-version-1", data: cut(t, "libpcap-pcap-invalid-version-1.pcap", 530), open: true, sentinel: ErrUnsupportedVersion, offset: 4,
			msg: "x: frame 1 at byte offset 4: pcap version 1.4 is not supported (only 2.x) (0 frames read)"},
		{name: "shb-option-too-long", data: cut(t, "libpcap-shb-option-too-long.pcapng", 180), open: true, sentinel: ErrBadBlock, offset: 0},
		{name: "empty", data: nil, open: true, sentinel: ErrTruncated},
		{name: "not-a-capture", data: []byte("GET / HTTP/1.1\r\n\r\n"), open: true, sentinel: ErrUnknownFormat},
		{name: "ng-block-length-not-multiple-of-4", data: withEPB(func(b []byte) { le.PutUint32(b[4:], 61) }), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "ng-block-length-below-12", data: withEPB(func(b []byte) { le.PutUint32(b[4:], 8) }), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "ng-trailer-mismatch", data: withEPB(func(b []byte) { le.PutUint32(b[len(b)-4:], 1234) }), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "ng-block-length-huge", data: withEPB(func(b []byte) { le.PutUint32(b[4:], 0xFFFFFFF0) }), sentinel: ErrRecordTooLarge, frames: 2, offset: next},
		{name: "ng-block-past-eof", data: withEPB(func(b []byte) { le.PutUint32(b[4:], 4096) }), sentinel: ErrTruncated, frames: 2, offset: next},
		{name: "ng-caplen-past-block", data: withEPB(func(b []byte) { le.PutUint32(b[20:], 40) }), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "ng-caplen-above-limit", data: withEPB(func(b []byte) { le.PutUint32(b[20:], 300000) }), sentinel: ErrRecordTooLarge, frames: 2, offset: next},
		{name: "ng-option-past-block", data: withEPB(func(b []byte) { le.PutUint16(b[28+8+2:], 200) }), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "ng-unknown-interface", data: withEPB(func(b []byte) { le.PutUint32(b[8:], 5) }), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "ng-cut-mid-block", data: withEPB(func(b []byte) {})[:next+20], sentinel: ErrTruncated, frames: 2, offset: next},
		{name: "ng-cut-mid-header", data: withEPB(func(b []byte) {})[:next+5], sentinel: ErrTruncated, frames: 2, offset: next},
		{name: "ng-bad-byte-order", data: append(bytes.Clone(good), 0x0A, 0x0D, 0x0D, 0x0A, 28, 0, 0, 0, 1, 2, 3, 4, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 28, 0, 0, 0), sentinel: ErrBadBlock, frames: 2, offset: next},
		{name: "gzip-cut", data: gz(t, cut(t, "zeek-get-to-ssh-server-nsec.pcap", 1398))[:400], sentinel: ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.data), "x")
			var frames []Frame
			if err == nil {
				if tt.open {
					t.Fatal("Open succeeded")
				}
				frames, err = readAll(t, r)
				if err == nil {
					t.Fatalf("read %d frames without error", len(frames))
				}
				// The error is sticky.
				if _, err2 := r.Next(); err2 != err {
					t.Errorf("second Next returned %v", err2)
				}
			} else if !tt.open {
				t.Fatalf("Open: %v", err)
			}
			var fe *FormatError
			if !errors.As(err, &fe) {
				t.Fatalf("error %T %v is not a *FormatError", err, err)
			}
			if !errors.Is(err, tt.sentinel) {
				t.Errorf("error %v does not wrap %v", err, tt.sentinel)
			}
			if tt.name == "gzip-cut" { // offset depends on the compressor
				tt.frames, tt.offset = fe.FramesRead, fe.Offset
			}
			if fe.File != "x" || fe.FramesRead != tt.frames || fe.Frame != tt.frames+1 || fe.Offset != tt.offset || uint64(len(frames)) != tt.frames {
				t.Errorf("got %+v after %d frames, want %d frames read, offset %d", fe, len(frames), tt.frames, tt.offset)
			}
			if tt.msg != "" && err.Error() != tt.msg {
				t.Errorf("message\n got %q\nwant %q", err.Error(), tt.msg)
			}
			t.Log(err)
		})
	}
}

// TestCompressed reads gzip and zstd copies of corpus files and checks
// they give exactly the frames of the plain file.
func TestCompressed(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"ndpi-teams.pcap", "zeek-pcapng-multi-interface.pcapng", "ndpi-sites-22if.pcapng", "suricata-nfs3-bigendian.pcap"} {
		raw, err := os.ReadFile(corpus(name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(raw), name)
		if err != nil {
			t.Fatal(err)
		}
		want, err := readAll(t, r)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			ext  string
			comp Compression
			data []byte
		}{{".gz", CompressionGzip, gz(t, raw)}, {".zst", CompressionZstd, zst(t, raw)}} {
			t.Run(name+c.ext, func(t *testing.T) {
				p := filepath.Join(dir, name+c.ext)
				if err := os.WriteFile(p, c.data, 0o644); err != nil {
					t.Fatal(err)
				}
				r, err := Open(p)
				if err != nil {
					t.Fatal(err)
				}
				defer r.Close()
				if r.Compression() != c.comp || r.Size() != int64(len(c.data)) {
					t.Errorf("compression %v size %d", r.Compression(), r.Size())
				}
				got, err := readAll(t, r)
				if err != nil {
					t.Fatal(err)
				}
				if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", want) {
					t.Errorf("frames differ from the uncompressed file (%d vs %d)", len(got), len(want))
				}
				if r.BytesRead() != int64(len(c.data)) {
					t.Errorf("BytesRead %d, compressed size %d", r.BytesRead(), len(c.data))
				}
			})
		}
	}
}

func TestStdin(t *testing.T) {
	for _, name := range []string{"zeek-get-to-ssh-server-nsec.pcap", "zeek-pcapng-multi-interface.pcapng"} {
		t.Run(name, func(t *testing.T) {
			raw, err := os.ReadFile(corpus(name))
			if err != nil {
				t.Fatal(err)
			}
			pr, pw, err := os.Pipe()
			if err != nil {
				t.Fatal(err)
			}
			go func() {
				pw.Write(gz(t, raw))
				pw.Close()
			}()
			old := os.Stdin
			os.Stdin = pr
			defer func() { os.Stdin = old; pr.Close() }()
			r, err := Open("-")
			if err != nil {
				t.Fatal(err)
			}
			frames, err := readAll(t, r)
			if err != nil {
				t.Fatal(err)
			}
			if err := r.Close(); err != nil {
				t.Fatal(err)
			}
			if r.Name() != "-" || r.Size() != -1 || r.Compression() != CompressionGzip {
				t.Errorf("name %q size %d compression %v", r.Name(), r.Size(), r.Compression())
			}
			want := map[string]int{"zeek-get-to-ssh-server-nsec.pcap": 9, "zeek-pcapng-multi-interface.pcapng": 6}[name]
			if len(frames) != want {
				t.Errorf("%d frames from stdin, want %d", len(frames), want)
			}
			// Close must leave standard input open.
			if _, err := pr.Stat(); err != nil {
				t.Errorf("stdin closed by Close: %v", err)
			}
		})
	}
}

// TestNoAllocsPerFrame checks that Next allocates nothing per frame, on pcap
// and on pcapng input.
func TestNoAllocsPerFrame(t *testing.T) {
	for _, name := range []string{"zeek-echo-connections.pcap", "ndpi-alexa-app.pcapng"} {
		raw, err := os.ReadFile(corpus(name))
		if err != nil {
			t.Fatal(err)
		}
		r, err := NewReader(bytes.NewReader(raw), name)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
		allocs := testing.AllocsPerRun(2000, func() {
			if _, err := r.Next(); err != nil {
				t.Fatal(err)
			}
		})
		t.Logf("%s: %.3f allocs per frame", name, allocs)
		if allocs > 0.01 {
			t.Errorf("%s: %.3f allocs per frame, want 0", name, allocs)
		}
	}
}
