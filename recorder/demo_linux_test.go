//go:build linux

package recorder

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestMakeDemo records ../testdata/demo/demo.pcap and its sidecar for real:
// a TCP bulk transfer and a burst of numbered UDP datagrams cross a veth
// pair between two fresh namespaces while the recorder runs with the
// smallest receive buffer, so the kernel really drops. It runs only with
// GAPAN_MAKE_DEMO=1 (see testdata/README-demo.md).
func TestMakeDemo(t *testing.T) {
	if os.Getenv("GAPAN_MAKE_DEMO") != "1" {
		t.Skip("set GAPAN_MAKE_DEMO=1 to re-record testdata/demo/demo.pcap")
	}
	needRootAndIP(t)
	dir := filepath.Join("..", "testdata", "demo")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "demo.pcap")
	for attempt := 1; attempt <= 5; attempt++ {
		p := newNSPair(t)
		before := softnetDrops(t)
		st := p.capture(t, Config{Output: out, BufferKiB: 1, Snaplen: 262144}, "mixed", 3000, 40000, 100)
		t.Logf("attempt %d: %d frames captured, %d dropped by kernel in %d gap events, tail %d", attempt, st.Frames, st.KernelDrops, st.GapEvents, st.TailGap)
		fi, err := os.Stat(out)
		if err != nil {
			t.Fatal(err)
		}
		if softnetDrops(t) == before && st.KernelDrops > 0 && st.GapEvents >= 5 && fi.Size() < 1<<20 && st.Frames >= 300 {
			_, gaps, tr, err := readGaps(t, sidecar.PathFor(out))
			if err != nil || tr.KernelDrops != st.KernelDrops || uint64(len(gaps)) != st.GapEvents {
				t.Fatalf("demo sidecar does not read back: %v %+v", err, tr)
			}
			return
		}
	}
	t.Fatal("no demo capture with loss under 1 MB in 5 attempts")
}
