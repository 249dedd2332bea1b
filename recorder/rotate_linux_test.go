//go:build linux

package recorder

import (
	"errors"
	"github.com/gapan/gapan/internal/testenv"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/gapan/gapan/sidecar"
)

// TestRotation rotates by size while the kernel drops, and checks that
// every file has its own complete sidecar, that loss across a boundary is
// the gap of the next file's first frame, and that the per-file kernel
// totals (PACKET_STATISTICS resets on every read) add up to the whole.
func TestRotation(t *testing.T) {
	needRootAndIP(t)
	const count, payload = 30000, 200
	p := newNSPair(t)
	var st Stats
	var out string
	// A loaded machine can make the kernel drop so much that less than a
	// file's worth is captured, or drop in the backlog outside the socket;
	// such runs are repeated, not skipped.
	for attempt := 1; ; attempt++ {
		out = filepath.Join(t.TempDir(), "rot.pcap")
		before := softnetDrops(t)
		st = p.capture(t, Config{Output: out, BufferKiB: 64, RotateMB: 1, IgnoreOutgoing: true}, "udp", count, 0, payload)
		clean := softnetDrops(t) == before
		t.Logf("attempt %d: %d files, %d captured, %d dropped, %d gap events, clean %v", attempt, len(st.Files), st.Frames, st.KernelDrops, st.GapEvents, clean)
		if clean && len(st.Files) >= 2 && st.KernelDrops > 0 {
			break
		}
		if attempt == 4 {
			t.Fatalf("no clean run with a rotation and kernel drops in %d attempts", attempt)
		}
	}
	for i, name := range st.Files {
		want := out
		if i > 0 {
			want = out + strconv.Itoa(i)
		}
		if name != want {
			t.Errorf("file %d named %s, want %s", i, name, want)
		}
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1_000_000 {
			t.Errorf("%s: %d bytes, more than -C 1 allows", name, fi.Size())
		}
	}
	v := verifySeq(t, st.Files, count)
	lost := uint64(count) - st.Frames
	if v.kernelDrops != lost || v.kernelPackets != count || st.KernelDrops != lost {
		t.Errorf("per-file kernel totals add to %d drops / %d packets (Stats %d), want %d / %d", v.kernelDrops, v.kernelPackets, st.KernelDrops, lost, count)
	}
}

// TestHelperRecorder is not a test: TestKilled runs the test binary in a
// namespace with this set to record until it is killed.
func TestHelperRecorder(t *testing.T) {
	iface := os.Getenv("GAPAN_TEST_RECORD_IFACE")
	if iface == "" {
		t.Skip("helper process for TestKilled")
	}
	// A listener, so that no ICMP port unreachable goes back.
	udp, err := net.ListenPacket("udp4", os.Getenv("GAPAN_TEST_RECORD_LISTEN"))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	_, err = Run(t.Context(), Config{
		Interface: iface, Output: os.Getenv("GAPAN_TEST_RECORD_OUT"), BufferKiB: 1,
		FlushEvery: 50 * time.Millisecond, IgnoreOutgoing: true,
		Started: func() { os.WriteFile(os.Getenv("GAPAN_TEST_RECORD_OUT")+".started", nil, 0o600) },
	})
	t.Fatalf("Run returned: %v", err)
}

// startHelperRecorder runs TestHelperRecorder in p's receiving namespace,
// writing out, and returns once it is receiving; it is killed when the test
// ends.
func startHelperRecorder(t *testing.T, p *nsPair, out string) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	rec := exec.Command("ip", "netns", "exec", p.recv, exe, "-test.run=^TestHelperRecorder$", "-test.count=1")
	rec.Env = append(os.Environ(), "GAPAN_TEST_RECORD_IFACE="+p.recvIf, "GAPAN_TEST_RECORD_OUT="+out, "GAPAN_TEST_RECORD_LISTEN="+p.recvIP+":9999")
	rec.Stderr = os.Stderr
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { rec.Process.Kill(); rec.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, err := os.Stat(out + ".started"); err == nil {
			return rec
		}
		if time.Now().After(deadline) {
			t.Fatal("recorder did not start")
		}
	}
}

// TestKilled kills a recorder with SIGKILL in the middle of a lossy capture
// and checks what it leaves: a sidecar that reads cleanly up to its last
// flush and then reports ErrNoTrailer, whose records all name frames the
// pcap has, with the right gaps.
func TestKilled(t *testing.T) {
	needRootAndIP(t)
	p := newNSPair(t)
	out := filepath.Join(t.TempDir(), "killed.pcap")
	rec := startHelperRecorder(t, p, out)
	send := startSender(t, p.send, "udp", p.recvIP+":9999", 400000, 200000, 64)
	time.Sleep(time.Second)
	if err := rec.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	send.Process.Kill()
	send.Wait()

	frames := readPcapPrefix(t, out)
	f, err := os.Open(sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sidecar.NewReader(f)
	if err != nil {
		t.Fatalf("sidecar header: %v", err)
	}
	var records []sidecar.Record
	for {
		rec, err := r.Next()
		if err == nil {
			records = append(records, rec)
			continue
		}
		if err == io.EOF {
			t.Fatal("a killed recorder's sidecar has a trailer")
		}
		if !errors.Is(err, sidecar.ErrNoTrailer) {
			t.Fatalf("sidecar: %v, want ErrNoTrailer", err)
		}
		break
	}
	t.Logf("killed after %d frames in the pcap, %d sidecar records", len(frames), len(records))
	if len(frames) < 1000 || len(records) == 0 {
		t.Fatalf("too little captured to judge: %d frames, %d records", len(frames), len(records))
	}
	// Gaps before every frame up to the sidecar's last record are known
	// exactly; each must equal the sequence numbers skipped.
	last := records[len(records)-1].Frame
	if last > uint64(len(frames)) {
		t.Fatalf("sidecar names frame %d, the pcap has only %d: the sidecar ran ahead", last, len(frames))
	}
	gaps := map[uint64]uint64{}
	for _, rec := range records {
		gaps[rec.Frame] = rec.Gap
	}
	next := uint32(0)
	for i, fr := range frames {
		seq, ok := udpSeq(fr.data)
		if !ok {
			t.Fatalf("frame %d is not a test datagram", i+1)
		}
		switch f := uint64(i + 1); {
		case f <= last && gaps[f] != uint64(seq-next):
			t.Errorf("frame %d (seq %d): gap %d, want %d", i+1, seq, gaps[f], seq-next)
		case f > last && seq != next && f+chunkFrames <= uint64(len(frames)):
			// The documented bound: the sidecar lags the pcap by at
			// most one chunk.
			t.Errorf("frame %d (seq %d) of %d has a gap of %d the sidecar lacks: it lags the pcap by more than %d frames",
				f, seq, len(frames), seq-next, chunkFrames)
		}
		next = seq + 1
	}
}

// readPcapPrefix reads the complete records of a pcap that may have been
// cut in the middle of one.
func readPcapPrefix(t *testing.T, name string) []pcapFrame {
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	var frames []pcapFrame
	for off := 24; off+16 <= len(b); {
		capLen := int(uint32(b[off+8]) | uint32(b[off+9])<<8 | uint32(b[off+10])<<16 | uint32(b[off+11])<<24)
		if off+16+capLen > len(b) {
			break
		}
		frames = append(frames, pcapFrame{data: b[off+16 : off+16+capLen]})
		off += 16 + capLen
	}
	return frames
}

// TestHelperNoCap is not a test: TestNoCapability runs it without
// CAP_NET_RAW.
func TestHelperNoCap(t *testing.T) {
	out := os.Getenv("GAPAN_TEST_NOCAP_OUT")
	if out == "" {
		t.Skip("helper process for TestNoCapability")
	}
	// A listener, so that no ICMP port unreachable goes back.
	udp, err := net.ListenPacket("udp4", os.Getenv("GAPAN_TEST_RECORD_LISTEN"))
	if err != nil {
		t.Fatal(err)
	}
	defer udp.Close()
	_, err = Run(t.Context(), Config{Interface: "lo", Output: out})
	if !errors.Is(err, ErrPermission) {
		t.Fatalf("Run without CAP_NET_RAW: %v, want ErrPermission", err)
	}
	os.Stdout.WriteString("ERROR: " + err.Error() + "\n")
}

// TestNoCapability runs the recorder with CAP_NET_RAW removed and checks
// that the error names the capability and no file is created.
func TestNoCapability(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "dropping CAP_NET_RAW with setpriv needs root")
	}
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		testenv.SkipOrFail(t, "the test needs setpriv (util-linux) to drop CAP_NET_RAW")
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), "nocap.pcap")
	cmd := exec.Command(setpriv, "--bounding-set=-net_raw", "--inh-caps=-net_raw", exe, "-test.run=^TestHelperNoCap$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "GAPAN_TEST_NOCAP_OUT="+out)
	b, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("helper: %v\n%s", err, b)
	}
	if !strings.Contains(string(b), "ERROR: recorder: capturing needs CAP_NET_RAW") {
		t.Errorf("error does not name the capability:\n%s", b)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("output file exists after a failed start: %v", err)
	}
}

func TestFileName(t *testing.T) {
	for _, tc := range []struct {
		index, maxFiles int
		want            string
	}{
		{0, 0, "c.pcap"}, {1, 0, "c.pcap1"}, {12, 0, "c.pcap12"},
		// tcpdump -W: as many digits as maxFiles-1 has, from 0, wrapping.
		{0, 1, "c.pcap"}, {5, 1, "c.pcap"},
		{0, 3, "c.pcap0"}, {2, 3, "c.pcap2"}, {3, 3, "c.pcap0"}, {7, 3, "c.pcap1"},
		{9, 10, "c.pcap9"}, {10, 10, "c.pcap0"},
		{0, 11, "c.pcap00"}, {10, 11, "c.pcap10"}, {5, 100, "c.pcap05"}, {99, 100, "c.pcap99"},
		{7, 101, "c.pcap007"},
	} {
		if got := FileName("c.pcap", tc.index, tc.maxFiles); got != tc.want {
			t.Errorf("FileName(c.pcap, %d, %d) = %s, want %s", tc.index, tc.maxFiles, got, tc.want)
		}
	}
	for _, cfg := range []Config{
		{Interface: "lo", Output: "x", MaxFiles: 3},
		{Interface: "lo", Output: "x", MaxFiles: -1, RotateMB: 1},
	} {
		if err := normalize(&cfg); !errors.Is(err, ErrConfig) {
			t.Errorf("normalize(%+v) = %v, want ErrConfig", cfg, err)
		}
	}
}

// seqFrames returns the test datagrams' sequence numbers in a pcap, and
// checks that its sidecar's gaps are the numbers skipped between them
// (from prev, the last number before the file; -1 skips the first check).
func seqFrames(t *testing.T, name string, prev int64) (seqs []uint32, tr *sidecar.Trailer) {
	t.Helper()
	_, _, frames := readPcap(t, name)
	_, gaps, tr, err := readGaps(t, sidecar.PathFor(name))
	if err != nil {
		t.Fatalf("%s: %v", sidecar.PathFor(name), err)
	}
	if tr.Frames != uint64(len(frames)) {
		t.Errorf("%s: trailer says %d frames, pcap has %d", name, tr.Frames, len(frames))
	}
	for i, f := range frames {
		seq, ok := udpSeq(f.data)
		if !ok {
			t.Fatalf("%s frame %d is not a test datagram", name, i+1)
		}
		if prev >= 0 || i > 0 {
			if int64(seq) <= prev {
				t.Fatalf("%s frame %d: datagram %d after %d", name, i+1, seq, prev)
			}
			if got, want := gaps[uint64(i+1)], uint64(int64(seq)-prev-1); got != want {
				t.Errorf("%s frame %d (datagram %d): gap %d, want %d", name, i+1, seq, got, want)
			}
		}
		prev = int64(seq)
		seqs = append(seqs, seq)
	}
	return seqs, tr
}

// TestRotationRing is tcpdump -C 1 -W 3: files capture.pcap0 to
// capture.pcap2 in a ring. At the end only those three exist, Stats.Files
// lists them oldest first, and read in that order they continue one
// another: each first frame's gap is the datagrams lost since the previous
// file's last frame, and only the newest file has a tail.
func TestRotationRing(t *testing.T) {
	needRootAndIP(t)
	const count, payload, ring = 30000, 200, 3
	p := newNSPair(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "ring.pcap")
	st := p.capture(t, Config{Output: out, BufferKiB: 4096, RotateMB: 1, MaxFiles: ring, IgnoreOutgoing: true}, "udp", count, 0, payload)
	t.Logf("%d frames captured, %d dropped; files %v", st.Frames, st.KernelDrops, st.Files)
	if len(st.Files) != ring {
		t.Fatalf("Stats.Files %v, want %d files", st.Files, ring)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	if want := "ring.pcap0 ring.pcap0.gaps ring.pcap1 ring.pcap1.gaps ring.pcap2 ring.pcap2.gaps"; strings.Join(names, " ") != want {
		t.Fatalf("files %v, want %s", names, want)
	}
	// Every frame of the capture that is still kept, in order.
	var kept []uint32
	prev := int64(-1)
	for i, name := range st.Files {
		fi, err := os.Stat(name)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Size() > 1_000_000 {
			t.Errorf("%s: %d bytes, more than -C 1 allows", name, fi.Size())
		}
		seqs, tr := seqFrames(t, name, prev)
		if len(seqs) == 0 {
			t.Fatalf("%s: no frames", name)
		}
		if i < ring-1 && tr.TailTotal() != 0 {
			t.Errorf("%s: tail %d in a file that is not the newest", name, tr.TailTotal())
		}
		if i == ring-1 {
			if want := uint64(count - 1 - int(seqs[len(seqs)-1])); tr.TailTotal() != want {
				t.Errorf("%s: tail %d, want %d", name, tr.TailTotal(), want)
			}
		}
		kept = append(kept, seqs...)
		prev = int64(seqs[len(seqs)-1])
	}
	// The ring went round: older files were written and overwritten.
	if uint64(len(kept)) >= st.Frames {
		t.Errorf("the %d kept frames are all %d captured: the ring never came round", len(kept), st.Frames)
	}
	if st.KernelDrops != uint64(count)-st.Frames || st.KernelPackets != count {
		t.Errorf("Stats: %d drops / %d packets, want %d / %d", st.KernelDrops, st.KernelPackets, uint64(count)-st.Frames, count)
	}
}

// TestRotationStop is tcpdump -G 1 -W 2 without -C: the capture stops by
// itself when the second file is a second old, before the datagram that
// would start a third; the files are capture.pcap0 and capture.pcap1, with
// nothing lost between them.
func TestRotationStop(t *testing.T) {
	needRootAndIP(t)
	const count, rate = 4000, 1000 // four seconds of datagrams
	p := newNSPair(t)
	dir := t.TempDir()
	out := filepath.Join(dir, "stop.pcap")
	st := p.capture(t, Config{Output: out, BufferKiB: 4096, RotateEvery: time.Second, MaxFiles: 2, IgnoreOutgoing: true}, "udp", count, rate, 64)
	if want := []string{out + "0", out + "1"}; strings.Join(st.Files, " ") != strings.Join(want, " ") {
		t.Fatalf("Stats.Files %v, want %v", st.Files, want)
	}
	if st.KernelDrops != 0 {
		t.Fatalf("%d kernel drops with a 4 MiB buffer at %d datagrams/s", st.KernelDrops, rate)
	}
	first, _ := seqFrames(t, st.Files[0], -1)
	second, tr := seqFrames(t, st.Files[1], int64(first[len(first)-1]))
	all := append(first, second...)
	for i, seq := range all {
		if seq != uint32(i) {
			t.Fatalf("datagram %d where %d was due", seq, i)
		}
	}
	// About two seconds of four: it stopped by itself, not at the end.
	if n := len(all); n < rate || n > count-rate/2 {
		t.Errorf("%d datagrams captured, want about %d (two files of one second)", n, 2*rate)
	}
	if tr.TailTotal() != 0 || uint64(len(all)) != st.Frames {
		t.Errorf("tail %d, Stats.Frames %d, files %d", tr.TailTotal(), st.Frames, len(all))
	}
}
