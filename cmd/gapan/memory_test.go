package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

// TestMain lets the memory tests run the command line in a process of its
// own (this test binary with GAPAN_RUN_MAIN=1), which writes its peak
// resident set size (VmHWM) to GAPAN_PEAK_FILE at the end. (The rusage of
// a child is no measure: Linux counts in its ru_maxrss the parent's
// memory it shared before exec.)
func TestMain(m *testing.M) {
	if os.Getenv("GAPAN_RUN_MAIN") == "1" {
		code := run(os.Args[1:])
		if p := os.Getenv("GAPAN_PEAK_FILE"); p != "" {
			if b, err := os.ReadFile("/proc/self/status"); err == nil {
				for _, line := range strings.Split(string(b), "\n") {
					if strings.HasPrefix(line, "VmHWM:") {
						os.WriteFile(p, []byte(strings.TrimSpace(strings.TrimPrefix(line, "VmHWM:"))), 0o644)
					}
				}
			}
		}
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// peakRSS runs gapan argv in a subprocess and returns its exit code, its
// stderr and its peak resident set size in MB.
func peakRSS(t *testing.T, argv ...string) (int, string, int64) {
	t.Helper()
	peak := filepath.Join(t.TempDir(), "peak")
	cmd := exec.Command(os.Args[0], argv...)
	cmd.Env = append(os.Environ(), "GAPAN_RUN_MAIN=1", "GAPAN_PEAK_FILE="+peak)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	if err != nil {
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatal(err)
		}
		code = ee.ExitCode()
	}
	b, err := os.ReadFile(peak)
	if err != nil {
		testenv.SkipOrFail(t, "no VmHWM in /proc/self/status: "+err.Error())
	}
	kb, err := strconv.ParseInt(strings.TrimSuffix(string(b), " kB"), 10, 64)
	if err != nil {
		t.Fatalf("VmHWM %q: %v", b, err)
	}
	return code, stderr.String(), kb / 1024
}

// writeIDBs writes a pcapng of n Interface Description Blocks followed by
// frames Ethernet frames on the last interface.
func writeIDBs(t *testing.T, path string, n, frames int) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	block := func(typ uint32, body []byte) {
		var h [8]byte
		binary.LittleEndian.PutUint32(h[0:], typ)
		binary.LittleEndian.PutUint32(h[4:], uint32(12+len(body)))
		w.Write(h[:])
		w.Write(body)
		w.Write(h[4:8])
	}
	shb := make([]byte, 16)
	binary.LittleEndian.PutUint32(shb[0:], 0x1A2B3C4D)
	binary.LittleEndian.PutUint16(shb[4:], 1)
	binary.LittleEndian.PutUint64(shb[8:], ^uint64(0))
	block(0x0A0D0D0A, shb)
	idb := []byte{1, 0, 0, 0, 0xff, 0xff, 0, 0} // Ethernet, snaplen 65535
	for range n {
		block(1, idb)
	}
	epb := make([]byte, 20+60)
	binary.LittleEndian.PutUint32(epb[0:], uint32(n-1))
	binary.LittleEndian.PutUint32(epb[12:], 60)
	binary.LittleEndian.PutUint32(epb[16:], 60)
	for i := range frames {
		binary.LittleEndian.PutUint32(epb[8:], uint32(i))
		block(6, epb)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// TestMemoryManyInterfaces: 800,000 Interface Description Blocks in 16 MB
// took 1.27 GB in report and 2.5 GB in annotate. A capture may describe
// at most reader.MaxInterfaces interfaces (a typed error beyond), and at
// that many every command stays within 100 MB.
func TestMemoryManyInterfaces(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race: memory is measured without the race detector")
	}
	dir := t.TempDir()
	hostile := filepath.Join(dir, "idb.pcapng")
	writeIDBs(t, hostile, 800_000, 10)
	if st, _ := os.Stat(hostile); st.Size() < 16_000_000 {
		t.Fatalf("%d bytes", st.Size())
	}
	most := filepath.Join(dir, "most.pcapng")
	writeIDBs(t, most, reader.MaxInterfaces, 10)
	for _, tc := range []struct {
		argv []string
		code int
	}{
		{[]string{"report", hostile}, 1},
		{[]string{"annotate", hostile, "-o", filepath.Join(dir, "a.pcapng")}, 1},
		{[]string{"report", most}, 0},
		{[]string{"annotate", most, "-o", filepath.Join(dir, "b.pcapng")}, 0},
		{[]string{"parquet", most, "-o", filepath.Join(dir, "ds")}, 0},
	} {
		code, stderr, mb := peakRSS(t, append(tc.argv, "-q")...)
		t.Logf("%v: exit %d, peak RSS %d MB", tc.argv[:2], code, mb)
		if code != tc.code {
			t.Errorf("%v: exit %d, want %d: %s", tc.argv, code, tc.code, stderr)
		}
		if tc.code == 1 && !strings.Contains(stderr, fmt.Sprintf("at most %d interfaces", reader.MaxInterfaces)) {
			t.Errorf("%v: stderr %q does not name the limit", tc.argv, stderr)
		}
		if mb > 100 {
			t.Errorf("%v: peak RSS %d MB, budget 100 MB", tc.argv, mb)
		}
	}
}

// TestMemoryGapEveryFrame: 2 M empty frames with a gap before each (a
// binary sidecar of 2 M records). The estimator kept every gap of such a
// capture (report 335 MB before); report and parquet stay within the
// budgets docs/performance.md gives.
func TestMemoryGapEveryFrame(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("-short or -race: memory is measured without the race detector")
	}
	const n = 2_000_000
	dir := t.TempDir()
	capture := filepath.Join(dir, "empty.pcap")
	f, err := os.Create(capture)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriterSize(f, 1<<20)
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], 1)
	w.Write(hdr)
	rec := make([]byte, 16)
	binary.LittleEndian.PutUint32(rec[0:], 1_700_000_000)
	for range n {
		w.Write(rec)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	sf, err := os.Create(sidecar.PathFor(capture))
	if err != nil {
		t.Fatal(err)
	}
	sb := bufio.NewWriterSize(sf, 1<<20)
	sw, err := sidecar.NewWriter(sb, sidecar.Header{Source: sidecar.SourceSimulated, Tool: "memory test"})
	if err != nil {
		t.Fatal(err)
	}
	for i := uint64(1); i <= n; i++ {
		if err := sw.Add(sidecar.Record{Frame: i, Gap: 1}); err != nil {
			t.Fatal(err)
		}
	}
	if err := sw.Close(sidecar.Trailer{Frames: n}); err != nil {
		t.Fatal(err)
	}
	sb.Flush()
	sf.Close()
	for _, tc := range []struct {
		argv   []string
		budget int64
	}{
		{[]string{"report", capture, "-o", filepath.Join(dir, "r.txt")}, 330},
		{[]string{"parquet", capture, "-o", filepath.Join(dir, "ds")}, 450},
		// annotate's first pass runs the accounting for the fates.
		{[]string{"annotate", capture, "-o", filepath.Join(dir, "a.pcapng")}, 330},
	} {
		code, stderr, mb := peakRSS(t, append(tc.argv, "-q")...)
		t.Logf("%v: exit %d, peak RSS %d MB", tc.argv[:1], code, mb)
		if code != 0 {
			t.Fatalf("%v: exit %d: %s", tc.argv, code, stderr)
		}
		if mb > tc.budget {
			t.Errorf("%v: peak RSS %d MB, budget %d MB", tc.argv[:1], mb, tc.budget)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "r.txt"))
	if err != nil || !strings.Contains(string(b), "frames lost      2,000,000 (50.0%") {
		t.Errorf("report: %v\n%s", err, b)
	}
}
