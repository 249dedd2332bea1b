package recorder

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/gapan/gapan/sidecar"
)

// fullFile is an outFile on a disk with room for limit bytes: a write
// beyond it is cut there and fails with ENOSPC, as on a full disk.
type fullFile struct {
	name  string
	b     []byte
	limit int
}

func (f *fullFile) Write(p []byte) (int, error) {
	n := min(len(p), max(f.limit-len(f.b), 0))
	f.b = append(f.b, p[:n]...)
	if n < len(p) {
		return n, &os.PathError{Op: "write", Path: f.name, Err: syscall.ENOSPC}
	}
	return n, nil
}

func (f *fullFile) WriteAt(p []byte, off int64) (int, error) {
	if int(off)+len(p) > len(f.b) {
		return 0, errors.New("fullFile: WriteAt beyond the end")
	}
	return copy(f.b[off:], p), nil
}

func (f *fullFile) Truncate(n int64) error { f.b = f.b[:n]; return nil }
func (f *fullFile) Close() error           { return nil }
func (f *fullFile) Name() string           { return f.name }

// testChunk holds n frames of size bytes (frame i's first byte is i) with
// a gap of i before every frame i that is a multiple of 3.
func testChunk(first uint64, n, size int) *chunk {
	c := newChunk()
	data := make([]byte, size)
	for i := range n {
		f := first + uint64(i)
		data[0] = byte(f)
		c.pcap = appendPcapRecord(c.pcap, int64(f)*1000, data, size+10)
		c.frames++
		if f%3 == 0 {
			c.gaps = append(c.gaps, sidecar.Record{Frame: f, Gap: f})
		}
	}
	return c
}

func readSidecarBytes(t *testing.T, b []byte) (sidecar.Header, []sidecar.Record, error) {
	t.Helper()
	r, err := sidecar.NewReader(bytes.NewReader(b))
	if err != nil {
		return sidecar.Header{}, nil, err
	}
	var recs []sidecar.Record
	for {
		rec, err := r.Next()
		if err != nil {
			if err == io.EOF {
				err = nil
			}
			return r.Header(), recs, err
		}
		recs = append(recs, rec)
	}
}

// TestDiskFull: a disk that fills up in the middle of a chunk. The pcap is
// cut back to its last whole frame, the writer reports ENOSPC, its frame
// count is what the file holds (not what it was given), and the sidecar
// names no frame beyond it.
func TestDiskFull(t *testing.T) {
	const size = 100 // 116 bytes per record
	// Room for the file header, two chunks of 10 frames and 4.5 frames.
	limit := 24 + 20*116 + 4*116 + 58
	pf := &fullFile{name: "full.pcap", limit: limit}
	gf := &fullFile{name: "full.pcap.gaps", limit: 1 << 20}
	o := &output{name: pf.name, pcapFile: pf, gapsFile: gf, linkType: linkTypeEthernet, snaplen: 256}
	if err := o.start(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	w := newDiskWriter(o, &Config{Snaplen: 256}, linkTypeEthernet)
	for i := range 4 {
		w.put(testChunk(uint64(i*10+1), 10, size))
	}
	err := w.stop()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Fatalf("writer error %v, want ENOSPC", err)
	}
	if w.frames != 24 {
		t.Errorf("writer counts %d frames, want the 24 the file holds", w.frames)
	}
	if len(pf.b) != 24+24*116 {
		t.Errorf("pcap is %d bytes, want %d (24 whole records, the cut one removed)", len(pf.b), 24+24*116)
	}
	hdr, recs, err := readSidecarBytes(t, gf.b)
	if !errors.Is(err, sidecar.ErrNoTrailer) {
		t.Errorf("sidecar after a failed write: %v, want ErrNoTrailer (no trailer: loss unknown after the last frame)", err)
	}
	if !hdr.Identity.Known || hdr.Identity.FirstFrameNs != 1000 {
		t.Errorf("sidecar identity %+v, want the first frame's (timestamp 1000 ns)", hdr.Identity)
	}
	want := []sidecar.Record{{Frame: 3, Gap: 3}, {Frame: 6, Gap: 6}, {Frame: 9, Gap: 9}, {Frame: 12, Gap: 12},
		{Frame: 15, Gap: 15}, {Frame: 18, Gap: 18}, {Frame: 21, Gap: 21}, {Frame: 24, Gap: 24}}
	if len(recs) != len(want) {
		t.Fatalf("sidecar records %v, want %v", recs, want)
	}
	for i := range want {
		if recs[i] != want[i] {
			t.Errorf("record %d: %v, want %v", i, recs[i], want[i])
		}
	}
}

// TestSidecarBeforeFrames: the sidecar has its header as soon as the file
// is created (a recorder killed before any frame leaves a readable empty
// sidecar, not a 0-byte file); the header gets the first frame's identity
// once that frame is in the pcap; after every chunk the sidecar holds the
// records of every frame the pcap holds.
func TestSidecarBeforeFrames(t *testing.T) {
	name := filepath.Join(t.TempDir(), "s.pcap")
	o, err := openOutput(name, linkTypeEthernet, 256, false)
	if err != nil {
		t.Fatal(err)
	}
	defer o.abort()
	b, err := os.ReadFile(sidecar.PathFor(name))
	if err != nil {
		t.Fatal(err)
	}
	hdr, recs, err := readSidecarBytes(t, b)
	// The identity of a capture without frames, which the 24-byte pcap is.
	if !errors.Is(err, sidecar.ErrNoTrailer) || len(recs) != 0 || hdr.Tool != toolName || hdr.Identity != sidecar.IdentityOf(linkTypeEthernet, 256, 0, nil) {
		t.Fatalf("sidecar before any frame: header %+v, %d records, %v; want a header, no records, ErrNoTrailer", hdr, len(recs), err)
	}
	if st, _ := os.Stat(name); st.Size() != 24 {
		t.Errorf("pcap before any frame is %d bytes, want 24", st.Size())
	}
	for i, want := range []int{3, 6} {
		if _, err := o.writeChunk(testChunk(uint64(i*10+1), 10, 50)); err != nil {
			t.Fatal(err)
		}
		b, _ := os.ReadFile(sidecar.PathFor(name))
		hdr, recs, _ := readSidecarBytes(t, b)
		if len(recs) != want {
			t.Errorf("after chunk %d: %d records in the sidecar, want %d", i+1, len(recs), want)
		}
		data := make([]byte, 50)
		data[0] = 1
		if id := sidecar.IdentityOf(linkTypeEthernet, 256, 1000, data); hdr.Identity != id {
			t.Errorf("after chunk %d: identity %+v, want %+v", i+1, hdr.Identity, id)
		}
		if st, _ := os.Stat(name); st.Size() != int64(24+(i+1)*10*66) {
			t.Errorf("after chunk %d: pcap is %d bytes, want %d", i+1, st.Size(), 24+(i+1)*10*66)
		}
	}
}

// TestRefuseExisting: an existing pcap, sidecar or ring member is refused
// without Overwrite, and a -w name that is itself a sidecar always.
func TestRefuseExisting(t *testing.T) {
	dir := t.TempDir()
	touch := func(name string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte("keep"), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	out := filepath.Join(dir, "c.pcap")
	for _, tc := range []struct {
		exists string
		cfg    Config
	}{
		{"c.pcap", Config{}},
		{"c.pcap.gaps", Config{}},
		{"c.pcap2", Config{RotateMB: 1, MaxFiles: 3}},
		{"c.pcap1.gaps", Config{RotateMB: 1, MaxFiles: 3}},
		{"c.pcap7", Config{RotateMB: 1}},
		{"c.pcap12.gaps", Config{RotateEvery: time.Second}},
	} {
		p := touch(tc.exists)
		cfg := tc.cfg
		cfg.Interface, cfg.Output = "lo", out
		if err := normalize(&cfg); err != nil {
			t.Fatal(err)
		}
		if err := checkOutputs(&cfg); !errors.Is(err, ErrExists) {
			t.Errorf("%s exists, %+v: %v, want ErrExists", tc.exists, tc.cfg, err)
		}
		cfg.Overwrite = true
		if err := checkOutputs(&cfg); err != nil {
			t.Errorf("%s exists, with Overwrite: %v", tc.exists, err)
		}
		os.Remove(p)
	}
	// Unrelated names beside the capture do not count.
	touch("c.pcap.txt")
	touch("c.pcapx1")
	cfg := Config{Interface: "lo", Output: out, RotateMB: 1}
	normalize(&cfg)
	if err := checkOutputs(&cfg); err != nil {
		t.Errorf("unrelated files: %v", err)
	}
	// The file the writer would create at a rotation.
	p := touch("c.pcap.gaps")
	if _, err := openOutput(out, linkTypeEthernet, 100, false); !errors.Is(err, ErrExists) {
		t.Errorf("openOutput with the sidecar present: %v, want ErrExists", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the pcap was left behind by a refused start: %v", err)
	}
	if b, _ := os.ReadFile(p); string(b) != "keep" {
		t.Errorf("the existing sidecar was changed: %q", b)
	}
	// Replacing never turns a device or a symlink into a regular file.
	link := filepath.Join(dir, "null.pcap")
	if err := os.Symlink(os.DevNull, link); err != nil {
		t.Fatal(err)
	}
	if _, err := openOutput(link, linkTypeEthernet, 100, true); err == nil {
		t.Error("openOutput replaced a symlink to /dev/null")
	}
	cfg = Config{Interface: "lo", Output: filepath.Join(dir, "other.pcap.gaps")}
	if err := normalize(&cfg); !errors.Is(err, ErrConfig) {
		t.Errorf("-w other.pcap.gaps: %v, want ErrConfig", err)
	}
}
