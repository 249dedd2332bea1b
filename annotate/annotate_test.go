package annotate

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/atomicfile"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
	"github.com/gapan/gapan/simulate"
)

// frameFields are the tshark fields that must be equal frame for frame
// between a capture and its annotated copy: bytes (MD5), lengths,
// timestamp to the nanosecond and interface.
var frameFields = []string{"frame.number", "frame.interface_id", "frame.time_epoch", "frame.len", "frame.cap_len", "frame.md5_hash"}

// checkSameFrames compares in and out with tshark and with package reader.
func checkSameFrames(t *testing.T, in, out string) {
	t.Helper()
	a := tshark(t, in, "", frameFields...)
	b := tshark(t, out, "", frameFields...)
	if len(a) != len(b) {
		t.Fatalf("tshark: %d frames in %s, %d in %s", len(a), in, len(b), out)
	}
	for i := range a {
		// A pcap has no interface id column value in tshark 4.0; the
		// output has interface 0.
		if a[i][1] == "" {
			a[i][1] = "0"
		}
		if !slices.Equal(a[i], b[i]) {
			t.Fatalf("tshark frame %d differs:\n in: %v\nout: %v", i+1, a[i], b[i])
		}
	}
	fa, _, _ := readFrames(t, in)
	fb, _, _ := readFrames(t, out)
	if len(fa) != len(fb) {
		t.Fatalf("reader: %d frames in, %d out", len(fa), len(fb))
	}
	for i := range fa {
		x, y := fa[i], fb[i]
		if x.ts != y.ts || x.origLen != y.origLen || x.iface != y.iface || string(x.data) != string(y.data) {
			t.Fatalf("reader: frame %d differs: ts %d/%d len %d/%d iface %d/%d", x.number, x.ts, y.ts, x.origLen, y.origLen, x.iface, y.iface)
		}
	}
}

// checkDropCounts requires tshark's frames with frame.drop_count > 0 to be
// exactly recs, and the comments to say the same.
func checkDropCounts(t *testing.T, out string, recs []sidecar.Record) {
	t.Helper()
	rows := tshark(t, out, "frame.drop_count > 0", "frame.number", "frame.drop_count", "frame.comment")
	var got []sidecar.Record
	for _, r := range rows {
		n, err1 := strconv.ParseUint(r[0], 10, 64)
		g, err2 := strconv.ParseUint(r[1], 10, 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("tshark row %q", r)
		}
		got = append(got, sidecar.Record{Frame: n, Gap: g})
		want := fmt.Sprintf("gapan: %d frames lost before this frame", g)
		if g == 1 {
			want = "gapan: 1 frame lost before this frame"
		}
		// The loss comment comes first; the frame's fates may follow.
		if r[2] != want && !strings.HasPrefix(r[2], want+",gapan") {
			t.Errorf("frame %d comment %q, want %q", n, r[2], want)
		}
	}
	if !reflect.DeepEqual(got, recs) && !(len(got) == 0 && len(recs) == 0) {
		t.Fatalf("tshark drop counts %v, sidecar records %v", got, recs)
	}
}

// checkISB requires one statistics block per interface with isb_ifdrop
// equal to want[interface].
func checkISB(t *testing.T, out string, want []uint64) {
	t.Helper()
	_, ifs, stats := readFrames(t, out)
	if len(stats) != len(ifs) || len(ifs) != len(want) {
		t.Fatalf("%d interfaces, %d statistics, want %d", len(ifs), len(stats), len(want))
	}
	for i, s := range stats {
		if s.InterfaceID != i || !s.HasDropped || s.Dropped != want[i] {
			t.Errorf("interface %d: isb_ifdrop %d (present %v), want %d", s.InterfaceID, s.Dropped, s.HasDropped, want[i])
		}
	}
}

func TestAnnotateSimulated(t *testing.T) {
	tests := []struct {
		capture string
		model   string
	}{
		{"zeek-dcerpc-20-fids-no-close.pcap", "uniform:0.02"},
		{"ndpi-kakaotalk-voice-sll.pcap", "list:3,10-12"},
		{"zeek-get-to-ssh-server-nsec.pcap", "list:1,5,9"}, // lost first and last frames: gap on frame 1, tail
		{"suricata-nfs3-bigendian.pcap", "uniform:0.05"},
		{"ndpi-ocs-rawip.pcap", "burst:p=0.01,r=0.3"},
		{"ndpi-alexa-app.pcapng", "uniform:0.01"},
	}
	for _, tc := range tests {
		t.Run(tc.capture+"/"+tc.model, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			sim := filepath.Join(dir, "sim.pcap")
			m, err := simulate.ParseModel(tc.model)
			if err != nil {
				t.Fatal(err)
			}
			sst, err := simulate.Run(simulate.Config{Input: corpus + tc.capture, Output: sim, Model: m, Seed: 7})
			if err != nil {
				t.Fatal(err)
			}
			hdr, recs, tr := readSidecar(t, sidecar.PathFor(sim))
			if len(recs) == 0 {
				t.Fatalf("model %s lost nothing; pick another", tc.model)
			}
			out := filepath.Join(dir, "annotated.pcapng")
			st, err := Run(Config{Inputs: []string{sim}, Output: out})
			if err != nil {
				t.Fatal(err)
			}
			var lost uint64
			for _, r := range recs {
				lost += r.Gap
			}
			want := Stats{Frames: sst.FramesOut, GapFrames: uint64(len(recs)), Lost: lost, Tail: tr.TailTotal(),
				Interfaces: 1, Sources: []join.Source{join.SourceSidecar}}
			if !reflect.DeepEqual(st, want) {
				t.Errorf("stats %+v, want %+v", st, want)
			}
			if lost+tr.TailTotal() != sst.Lost {
				t.Errorf("sidecar loses %d+%d, simulate says %d", lost, tr.TailTotal(), sst.Lost)
			}
			checkDropCounts(t, out, recs)
			checkSameFrames(t, sim, out)
			checkISB(t, out, []uint64{lost + tr.TailTotal()})
			c := capinfosComment(t, out)
			for _, s := range []string{"source simulated", fmt.Sprintf("tool %q", hdr.Tool), fmt.Sprintf("crc32c %08x", hdr.Identity.FirstFrameCRC)} {
				if !strings.Contains(c, s) {
					t.Errorf("section comment lacks %q:\n%s", s, c)
				}
			}

			// And back: the sidecar extracted from the pcapng is the
			// simulated one, header provenance aside.
			back := filepath.Join(dir, "back.gaps")
			est, err := Extract(ExtractConfig{Input: out, Output: back})
			if err != nil {
				t.Fatal(err)
			}
			h2, recs2, tr2 := readSidecar(t, back)
			if !reflect.DeepEqual(recs2, recs) || !reflect.DeepEqual(tr2, tr) || h2.Identity != hdr.Identity {
				t.Errorf("round trip:\n records %v\n    want %v\n trailer %+v want %+v\n identity %+v want %+v", recs2, recs, tr2, tr, h2.Identity, hdr.Identity)
			}
			if h2.Source != sidecar.SourcePcapng || h2.Tool != ExtractTool {
				t.Errorf("extracted header %+v", h2)
			}
			if est.Records != uint64(len(recs)) || est.Lost != lost || est.Tail != tr.TailTotal() || est.Frames != sst.FramesOut {
				t.Errorf("extract stats %+v", est)
			}
		})
	}
}

// multiCase is a pcapng input with a hand-written sidecar whose records
// hit frames on different interfaces.
type multiCase struct {
	capture string
	// pick chooses the records and tails from the capture's frames.
	pick func(fs []frameCopy) ([]sidecar.Record, []sidecar.InterfaceGap)
}

var multiCases = []multiCase{
	{"zeek-pcapng-multi-interface.pcapng", func([]frameCopy) ([]sidecar.Record, []sidecar.InterfaceGap) {
		// Frames 1-2 are on interface 0, 3-6 on interface 1.
		return []sidecar.Record{{Frame: 2, Gap: 5}, {Frame: 3, Gap: 2}, {Frame: 6, Gap: 7}},
			[]sidecar.InterfaceGap{{Interface: 0, Lost: 4}, {Interface: 1, Lost: 1}}
	}},
	{"ndpi-sites-22if.pcapng", func(fs []frameCopy) ([]sidecar.Record, []sidecar.InterfaceGap) {
		// The second frame seen on every interface, and the first on
		// interface 5, with gap = interface+1.
		var recs []sidecar.Record
		seen := map[int]int{}
		for _, f := range fs {
			seen[f.iface]++
			if seen[f.iface] == 2 || seen[f.iface] == 1 && f.iface == 5 {
				recs = append(recs, sidecar.Record{Frame: f.number, Gap: uint64(f.iface + 1)})
			}
		}
		return recs, []sidecar.InterfaceGap{{Interface: 3, Lost: 30}, {Interface: 21, Lost: 2}}
	}},
	{"zeek-ldap-gap-data-missing.pcapng", func(fs []frameCopy) ([]sidecar.Record, []sidecar.InterfaceGap) {
		// 126 interfaces, every frame on interface 48.
		return []sidecar.Record{{Frame: 1, Gap: 3}, {Frame: 7, Gap: 1}, {Frame: 18, Gap: 2}},
			[]sidecar.InterfaceGap{{Interface: 48, Lost: 9}, {Interface: 125, Lost: 1}}
	}},
}

func TestAnnotateMultiInterface(t *testing.T) {
	for _, tc := range multiCases {
		t.Run(tc.capture, func(t *testing.T) {
			t.Parallel()
			in := copyCorpus(t, tc.capture)
			fs, ifs, _ := readFrames(t, in)
			recs, tail := tc.pick(fs)
			wantDrop := make([]uint64, len(ifs))
			ifaces := map[int]bool{}
			for _, r := range recs {
				wantDrop[fs[r.Frame-1].iface] += r.Gap
				ifaces[fs[r.Frame-1].iface] = true
			}
			for _, g := range tail {
				wantDrop[g.Interface] += g.Lost
			}
			if len(ifaces) < 2 && len(ifs) < 100 {
				t.Fatalf("records hit %d interfaces; the test wants several", len(ifaces))
			}
			hdr := sidecar.Header{Source: sidecar.SourceKernel, Identity: identityOf(fs, ifs), CreatedNs: 1700000000123456789, Tool: "hand-written test sidecar"}
			writeSidecar(t, sidecar.PathFor(in), hdr, recs, sidecar.Trailer{Frames: uint64(len(fs)), Tail: tail})

			out := filepath.Join(t.TempDir(), "out.pcapng")
			st, err := Run(Config{Inputs: []string{in}, Output: out})
			if err != nil {
				t.Fatal(err)
			}
			if st.Interfaces != len(ifs) || st.Frames != uint64(len(fs)) || st.GapFrames != uint64(len(recs)) {
				t.Errorf("stats %+v: want %d interfaces, %d frames, %d gap frames", st, len(ifs), len(fs), len(recs))
			}
			checkDropCounts(t, out, recs)
			checkSameFrames(t, in, out)
			checkISB(t, out, wantDrop)
			_, ifs2, _ := readFrames(t, out)
			for i := range ifs {
				a, b := ifs[i], ifs2[i]
				if a.LinkType != b.LinkType || a.SnapLen != b.SnapLen || a.Name != b.Name || a.Description != b.Description || b.TimestampResolution != 9 {
					t.Errorf("interface %d: in %+v, out %+v", i, a, b)
				}
			}
			// Round trip through Extract.
			back := filepath.Join(t.TempDir(), "back.gaps")
			if _, err := Extract(ExtractConfig{Input: out, Output: back}); err != nil {
				t.Fatal(err)
			}
			h2, recs2, tr2 := readSidecar(t, back)
			if !reflect.DeepEqual(recs2, recs) || !reflect.DeepEqual(tr2.Tail, tail) || tr2.Frames != uint64(len(fs)) || h2.Identity != hdr.Identity {
				t.Errorf("round trip: records %v want %v; trailer %+v want tail %v", recs2, recs, tr2, tail)
			}
		})
	}
}

func TestExtractEPBDropCount(t *testing.T) {
	t.Parallel()
	in := corpus + "gopacket-pcapng-epb-dropcount.pcapng"
	rows := tshark(t, in, "frame.drop_count > 0", "frame.number", "frame.drop_count")
	if len(rows) != 1 || rows[0][0] != "1" || rows[0][1] != "2" {
		t.Fatalf("tshark reads %v; the corpus file changed?", rows)
	}
	out := filepath.Join(t.TempDir(), "epb.gaps")
	st, err := Extract(ExtractConfig{Input: in, Output: out, CreatedNs: 42})
	if err != nil {
		t.Fatal(err)
	}
	if want := (ExtractStats{Frames: 1, DropCountFrames: 1, Records: 1, Lost: 2}); !reflect.DeepEqual(st, want) {
		t.Errorf("stats %+v, want %+v", st, want)
	}
	h, recs, tr := readSidecar(t, out)
	fs, ifs, _ := readFrames(t, in)
	if want := []sidecar.Record{{Frame: 1, Gap: 2}}; !reflect.DeepEqual(recs, want) {
		t.Errorf("records %v, want %v", recs, want)
	}
	if tr.Frames != 1 || len(tr.Tail) != 0 || tr.HasKernel {
		t.Errorf("trailer %+v", tr)
	}
	if want := (sidecar.Header{Source: sidecar.SourcePcapng, Identity: identityOf(fs, ifs), CreatedNs: 42, Tool: ExtractTool}); h != want {
		t.Errorf("header %+v, want %+v", h, want)
	}
	// The sidecar pairs with its capture: join accepts it and gives the
	// same gap.
	s, err := join.Open([]string{in}, join.Options{Sidecars: []string{out}})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	f, err := s.Next()
	if err != nil || f.GapBefore != 2 {
		t.Fatalf("join: %v, gap %v", err, f)
	}
}

// TestAnnotateKeepsDropCount: without a sidecar the input's own
// epb_dropcount survives annotation.
func TestAnnotateKeepsDropCount(t *testing.T) {
	t.Parallel()
	in := copyCorpus(t, "gopacket-pcapng-epb-dropcount.pcapng")
	out := filepath.Join(t.TempDir(), "out.pcapng")
	st, err := Run(Config{Inputs: []string{in}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lost != 2 || st.GapFrames != 1 || !reflect.DeepEqual(st.Sources, []join.Source{join.SourceDropCount}) {
		t.Errorf("stats %+v", st)
	}
	checkDropCounts(t, out, []sidecar.Record{{Frame: 1, Gap: 2}})
	checkSameFrames(t, in, out)
	checkISB(t, out, []uint64{0, 2}) // the frame is on interface 1
	if c := capinfosComment(t, out); !strings.Contains(c, "no sidecar") {
		t.Errorf("section comment: %s", c)
	}
}

// TestAnnotateNoLossKnown: with neither sidecar nor drop counts, no
// epb_dropcount is written, and the input's own isb_ifdrop and isb_ifrecv
// are passed on.
func TestAnnotateNoLossKnown(t *testing.T) {
	t.Parallel()
	in := copyCorpus(t, "zeek-quic-merlinc2-isb-ifdrop.pcapng")
	out := filepath.Join(t.TempDir(), "out.pcapng")
	st, err := Run(Config{Inputs: []string{in}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lost != 0 || st.GapFrames != 0 || st.Frames != 100 {
		t.Errorf("stats %+v", st)
	}
	if rows := tshark(t, out, "frame.drop_count", "frame.number"); len(rows) != 0 {
		t.Errorf("%d frames carry epb_dropcount", len(rows))
	}
	checkSameFrames(t, in, out)
	_, _, stats := readFrames(t, out)
	if len(stats) != 1 || stats[0].Dropped != 1020 || stats[0].Received != 1683966 {
		t.Errorf("statistics %+v, want ifdrop 1020 ifrecv 1683966", stats)
	}
	// Extract infers no tail: the file carries no epb_dropcount.
	est, err := ExtractTo(new(strings.Builder), ExtractConfig{Input: out})
	if err != nil || est.Tail != 0 || est.Records != 0 {
		t.Errorf("extract: %+v, %v", est, err)
	}
}

// TestAnnotateRotatedSet: two inputs read as one; the first input's tail
// moves to the second input's first frame on the same interface.
func TestAnnotateRotatedSet(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	var inputs []string
	for i, model := range []string{"list:2,4,420", "list:1,3"} {
		p := filepath.Join(dir, fmt.Sprintf("part%d.pcap", i))
		m, _ := simulate.ParseModel(model)
		if _, err := simulate.Run(simulate.Config{Input: corpus + "zeek-dcerpc-20-fids-no-close.pcap", Output: p, Model: m}); err != nil {
			t.Fatal(err)
		}
		inputs = append(inputs, p)
	}
	out := filepath.Join(dir, "out.pcapng")
	st, err := Run(Config{Inputs: inputs, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	// part0 (417 of 420 frames): gaps 1 before frame 2, 1 before frame 3,
	// tail 1. part1 (418 frames): gap 1 before its frame 1 (plus part0's
	// tail), 1 before its frame 2.
	want := []sidecar.Record{{Frame: 2, Gap: 1}, {Frame: 3, Gap: 1}, {Frame: 418, Gap: 2}, {Frame: 419, Gap: 1}}
	checkDropCounts(t, out, want)
	checkISB(t, out, []uint64{5})
	if st.Interfaces != 1 || st.Frames != 417+418 || st.Lost != 5 || st.Tail != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestAnnotateErrors(t *testing.T) {
	in := copyCorpus(t, "zeek-pcapng-multi-interface.pcapng")
	fs, ifs, _ := readFrames(t, in)
	good := sidecar.Header{Source: sidecar.SourceKernel, Identity: identityOf(fs, ifs), Tool: "t"}
	other := good
	other.Identity.FirstFrameCRC++
	dir := filepath.Dir(in)
	existing := filepath.Join(dir, "exists.pcapng")
	os.WriteFile(existing, []byte("keep"), 0o644)

	tests := []struct {
		name    string
		hdr     sidecar.Header
		recs    []sidecar.Record
		frames  uint64
		cfg     Config
		want    error
		warning bool
	}{
		{"output is the input", good, nil, 6, Config{Output: in, Force: true}, atomicfile.ErrSameFile, false},
		{"output is the sidecar", good, nil, 6, Config{Output: sidecar.PathFor(in), Force: true}, atomicfile.ErrSameFile, false},
		{"output exists", good, nil, 6, Config{Output: existing}, atomicfile.ErrExists, false},
		{"record beyond the capture", good, []sidecar.Record{{Frame: 7, Gap: 1}}, 7, Config{}, join.ErrBeyondCapture, false},
		{"frame count", good, nil, 9, Config{}, join.ErrFrameCount, false},
		{"foreign sidecar", other, nil, 6, Config{}, sidecar.ErrIdentity, false},
		{"foreign sidecar allowed", other, []sidecar.Record{{Frame: 2, Gap: 1}}, 6, Config{AllowMismatch: true}, nil, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			writeSidecar(t, sidecar.PathFor(in), tc.hdr, tc.recs, sidecar.Trailer{Frames: tc.frames})
			cfg := tc.cfg
			cfg.Inputs = []string{in}
			if cfg.Output == "" {
				cfg.Output = filepath.Join(t.TempDir(), "out.pcapng")
			}
			st, err := Run(cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("error %v, want %v", err, tc.want)
			}
			if (len(st.Warnings) > 0) != tc.warning {
				t.Errorf("warnings %v", st.Warnings)
			}
			_, statErr := os.Stat(cfg.Output)
			switch {
			case tc.want == nil && statErr != nil:
				t.Errorf("no output: %v", statErr)
			case tc.want != nil && cfg.Output != in && cfg.Output != existing && cfg.Output != sidecar.PathFor(in) && statErr == nil:
				t.Errorf("output %s written despite the error", cfg.Output)
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep" {
				t.Errorf("existing output overwritten")
			}
			if after, _, _ := readFrames(t, in); len(after) != 6 {
				t.Errorf("input damaged")
			}
		})
	}
	if _, err := Run(Config{Inputs: []string{in}}); err == nil {
		t.Error("Run without output succeeded")
	}
	if _, err := Extract(ExtractConfig{Input: in, Output: in, Force: true}); !errors.Is(err, atomicfile.ErrSameFile) {
		t.Errorf("extract over its input: %v", err)
	}
}

// TestWriterErrors covers the Writer's own checks.
func TestWriterErrors(t *testing.T) {
	w := NewWriter(new(strings.Builder), Options{})
	f := &reader.Frame{Number: 1, CapLen: 1, OrigLen: 1, Data: []byte{1}}
	if err := w.WriteFrame(0, f, 0, true); !errors.Is(err, ErrNoInterface) {
		t.Errorf("frame before any interface: %v", err)
	}
	if err := w.AddTail(3, 1); !errors.Is(err, ErrNoInterface) {
		t.Errorf("tail on a missing interface: %v", err)
	}
	if err := w.Close(); err == nil {
		t.Error("Close with no interface succeeded")
	}
	if err := w.WriteFrame(0, f, 0, true); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v", err)
	}
	if got := lossComment(nil, 1); got != "gapan: 1 frame lost before this frame" {
		t.Errorf("lossComment(1) = %q", got)
	}
	if got := lossComment(nil, 40); got != "gapan: 40 frames lost before this frame" {
		t.Errorf("lossComment(40) = %q", got)
	}
}
