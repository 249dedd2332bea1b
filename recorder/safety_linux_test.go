//go:build linux

package recorder

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gapan/gapan/sidecar"
)

// TestKilledBeforeTraffic kills a recorder with SIGKILL before any frame
// arrives: the pcap is its 24-byte header and the sidecar has its header
// (an empty capture's identity) and no trailer, never a 0-byte file.
func TestKilledBeforeTraffic(t *testing.T) {
	needRootAndIP(t)
	p := newNSPair(t)
	out := filepath.Join(t.TempDir(), "idle.pcap")
	rec := startHelperRecorder(t, p, out)
	time.Sleep(300 * time.Millisecond) // several flush periods
	if err := rec.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	rec.Wait()
	if st, err := os.Stat(out); err != nil || st.Size() != 24 {
		t.Fatalf("pcap of a recorder killed before traffic: %v, %v; want 24 bytes", st, err)
	}
	f, err := os.Open(sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sidecar.NewReader(f)
	if err != nil {
		t.Fatalf("sidecar of a recorder killed before traffic: %v, want a header", err)
	}
	if h := r.Header(); h.Tool != toolName || h.Identity != sidecar.IdentityOf(linkTypeEthernet, DefaultSnaplen, 0, nil) {
		t.Errorf("header %+v, want gapan-record's with an empty capture's identity", h)
	}
	if _, err := r.Next(); !errors.Is(err, sidecar.ErrNoTrailer) {
		t.Errorf("sidecar: %v, want ErrNoTrailer", err)
	}
}

// TestDiskFullRun records onto a 1 MiB tmpfs until it is full: Run fails
// with ENOSPC, Stats.Frames is the number of frames the pcap holds (not
// the number received), the pcap ends with a whole frame, and the sidecar
// (no trailer) names no frame beyond it.
func TestDiskFullRun(t *testing.T) {
	needRootAndIP(t)
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=1m", "gapan-full", dir).CombinedOutput(); err != nil {
		t.Fatalf("mounting a 1 MiB tmpfs: %v\n%s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", dir).Run() })
	p := newNSPair(t)
	out := filepath.Join(dir, "full.pcap")
	st, err := p.captureErr(t, Config{Output: out, BufferKiB: 4096, IgnoreOutgoing: true, FlushEvery: 10 * time.Millisecond}, "udp", 4000, 20000, 1000)
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("Run on a full disk: %v, want ENOSPC", err)
	}
	b, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatal(rerr)
	}
	frames, whole := wholeRecords(b[24:])
	t.Logf("%v; pcap %d bytes, %d frames; Stats.Frames %d", err, len(b), frames, st.Frames)
	if 24+whole != len(b) {
		t.Errorf("pcap ends with a cut record: %d bytes, the whole records end at %d", len(b), 24+whole)
	}
	if frames < 100 || st.Frames != uint64(frames) {
		t.Errorf("Stats.Frames %d, the pcap holds %d frames", st.Frames, frames)
	}
	g, gerr := os.ReadFile(sidecar.PathFor(out))
	if gerr != nil {
		t.Fatal(gerr)
	}
	hdr, recs, serr := readSidecarBytes(t, g)
	if !errors.Is(serr, sidecar.ErrNoTrailer) || !hdr.Identity.Known {
		t.Errorf("sidecar: %v, header %+v; want a header and no trailer", serr, hdr)
	}
	if len(recs) > 0 && recs[len(recs)-1].Frame > uint64(frames) {
		t.Errorf("sidecar names frame %d, the pcap has %d", recs[len(recs)-1].Frame, frames)
	}
}
