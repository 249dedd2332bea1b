package simulate

import (
	"bytes"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/sidecar"
	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/pcapgo"
)

type ngFrame struct {
	ci   gopacket.CaptureInfo
	data []byte
}

// readNg reads a pcapng with gopacket's reader, independently of gapan's.
func readNg(t *testing.T, path string) ([]ngFrame, *pcapgo.NgReader) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	r, err := pcapgo.NewNgReader(f, pcapgo.DefaultNgReaderOptions)
	if err != nil {
		t.Fatal(err)
	}
	var out []ngFrame
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return out, r
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, ngFrame{ci, bytes.Clone(data)})
	}
}

// TestRunPcapngMultiInterface thins a pcapng whose 699 frames are spread
// over 22 interfaces (the first frame on interface 8) into a pcapng: the
// output holds exactly the kept frames on their own interfaces, and the
// sidecar's gap before each kept frame counts the deleted frames of that
// frame's interface since its previous kept frame, as worked out here
// from gopacket's reading of the input and the list of deletions.
func TestRunPcapngMultiInterface(t *testing.T) {
	in := filepath.Join("..", "testdata", "corpus", "ndpi-sites-22if.pcapng")
	src, srcR := readNg(t, in)
	if len(src) != 699 {
		t.Fatalf("input: %d frames, want 699", len(src))
	}
	// Delete the first frame, every 5th frame and frames 300-340.
	var del []string
	deleted := map[int]bool{}
	for n := 1; n <= len(src); n++ {
		if n == 1 || n%5 == 0 || (n >= 300 && n <= 340) {
			deleted[n] = true
		}
	}
	for n := 1; n <= len(src); n++ {
		if deleted[n] && !deleted[n-1] {
			end := n
			for deleted[end+1] {
				end++
			}
			del = append(del, strconv.Itoa(n)+"-"+strconv.Itoa(end))
		}
	}
	m, err := ParseModel("list:" + strings.Join(del, ","))
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "thin.pcapng")
	st, err := Run(Config{Input: in, Output: out, Model: m, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	if st.Dropped != uint64(len(deleted)) {
		t.Fatalf("dropped %d, want %d", st.Dropped, len(deleted))
	}

	// Expected: the kept frames, and per interface the deletions pending.
	var want []ngFrame
	var wantGaps []sidecar.Record
	pending := map[int]uint64{}
	for i, f := range src {
		if deleted[i+1] {
			pending[f.ci.InterfaceIndex]++
			continue
		}
		want = append(want, f)
		if g := pending[f.ci.InterfaceIndex]; g > 0 {
			wantGaps = append(wantGaps, sidecar.Record{Frame: uint64(len(want)), Gap: g})
			pending[f.ci.InterfaceIndex] = 0
		}
	}
	var wantTail uint64
	for _, p := range pending {
		wantTail += p
	}

	got, gotR := readNg(t, out)
	if len(got) != len(want) {
		t.Fatalf("output: %d frames, want %d", len(got), len(want))
	}
	for i := range want {
		g, w := got[i], want[i]
		if g.ci.InterfaceIndex != w.ci.InterfaceIndex || !g.ci.Timestamp.Equal(w.ci.Timestamp) ||
			g.ci.Length != w.ci.Length || !bytes.Equal(g.data, w.data) {
			t.Fatalf("output frame %d: interface %d at %v, %d bytes; want interface %d at %v, %d bytes",
				i+1, g.ci.InterfaceIndex, g.ci.Timestamp, g.ci.Length, w.ci.InterfaceIndex, w.ci.Timestamp, w.ci.Length)
		}
		gi, _ := gotR.Interface(g.ci.InterfaceIndex)
		wi, _ := srcR.Interface(w.ci.InterfaceIndex)
		if gi.LinkType != wi.LinkType {
			t.Fatalf("output frame %d: link type %v, want %v", i+1, gi.LinkType, wi.LinkType)
		}
	}

	sf, err := os.Open(sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	defer sf.Close()
	sr, err := sidecar.NewReader(sf)
	if err != nil {
		t.Fatal(err)
	}
	var gaps []sidecar.Record
	for {
		r, err := sr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		gaps = append(gaps, r)
	}
	if len(gaps) != len(wantGaps) {
		t.Fatalf("sidecar: %d records, want %d", len(gaps), len(wantGaps))
	}
	for i := range gaps {
		if gaps[i] != wantGaps[i] {
			t.Fatalf("sidecar record %d: %+v, want %+v", i, gaps[i], wantGaps[i])
		}
	}
	tr, _ := sr.Trailer()
	var tail uint64
	for _, g := range tr.Tail {
		tail += g.Lost
	}
	if tail != wantTail {
		t.Errorf("tail %d, want %d", tail, wantTail)
	}

	// gapan reads the pair back: the sidecar belongs to the capture.
	frames, lost, warnings := joined(t, out)
	if frames != uint64(len(want)) || lost != uint64(len(deleted)) {
		t.Errorf("joined: %d frames, %d lost; want %d, %d", frames, lost, len(want), len(deleted))
	}
	for _, w := range warnings {
		t.Errorf("join warning: %v", w.Err)
	}

	// And so does tshark.
	tshark := testenv.NeedTool(t, "tshark")
	b, err := exec.Command(tshark, "-r", out, "-T", "fields", "-e", "frame.interface_id").Output()
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(string(b))
	if len(lines) != len(want) {
		t.Fatalf("tshark read %d frames, want %d", len(lines), len(want))
	}
	for i, l := range lines {
		if l != strconv.Itoa(want[i].ci.InterfaceIndex) {
			t.Fatalf("tshark: frame %d on interface %s, want %d", i+1, l, want[i].ci.InterfaceIndex)
		}
	}
}

// TestRunPcapOutputOneInterface: a multi-interface input into a pcap name
// is refused, and the error says how to keep every interface.
func TestRunPcapOutputOneInterface(t *testing.T) {
	in := filepath.Join("..", "testdata", "corpus", "ndpi-sites-22if.pcapng")
	m, _ := ParseModel("uniform:0.1")
	out := filepath.Join(t.TempDir(), "thin.pcap")
	_, err := Run(Config{Input: in, Output: out, Model: m, Seed: 1})
	if err == nil || !strings.Contains(err.Error(), "OUT.pcapng") {
		t.Fatalf("err = %v, want a refusal naming OUT.pcapng", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a refused run left %s behind", out)
	}
}
