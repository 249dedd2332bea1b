//go:build linux

package recorder

import (
	"encoding/binary"
	"path/filepath"
	"testing"
	"time"
	"unsafe"

	"github.com/gapan/gapan/sidecar"
	"golang.org/x/sys/unix"
)

// fakeReceive fills message i of s as the kernel would: frame bytes,
// original length and the control messages (SO_RXQ_OVFL only when count is
// not 0, as the kernel does, and SCM_TIMESTAMPNS).
func fakeReceive(s *socket, i int, frame []byte, origLen int, count uint32, tsNs int64) {
	copy(s.bufs[i][s.head:], frame)
	s.msgs[i].Len = uint32(origLen)
	oob := s.oob[i*oobLen : (i+1)*oobLen]
	n := 0
	put := func(typ int32, data []byte) {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[n]))
		h.Level = unix.SOL_SOCKET
		h.Type = typ
		h.SetLen(unix.CmsgLen(len(data)))
		copy(oob[n+unix.CmsgLen(0):], data)
		n += unix.CmsgSpace(len(data))
	}
	if count != 0 {
		var b [4]byte
		binary.NativeEndian.PutUint32(b[:], count)
		put(unix.SO_RXQ_OVFL, b[:])
	}
	ts := unix.NsecToTimespec(tsNs)
	put(unix.SCM_TIMESTAMPNS, unsafe.Slice((*byte)(unsafe.Pointer(&ts)), unsafe.Sizeof(ts)))
	s.msgs[i].Hdr.SetControllen(n)
}

// TestHandleGaps feeds handle frames with chosen drop counts, including the
// 32-bit wrap that gave libpcap users "4294965006 dropped", and checks the
// pcap and sidecar it writes.
func TestHandleGaps(t *testing.T) {
	const snaplen = 64
	counts := []uint32{0, 0, 3, 3, 0xfffffff0, 0xfffffff0, 5, 5, 7}
	wantGaps := map[uint64]uint64{3: 3, 5: 0xfffffff0 - 3, 7: 21, 9: 2}
	s := &socket{snaplen: snaplen}
	s.setupBuffers(len(counts))
	frame := make([]byte, 200)
	for i := range frame {
		frame[i] = byte(i)
	}
	for i, c := range counts {
		orig := 60 + i + (i%2)*100
		fakeReceive(s, i, frame[:min(orig, snaplen)], orig, c, int64(1e9+i))
	}
	out := filepath.Join(t.TempDir(), "h.pcap")
	cfg := &Config{Output: out, Snaplen: snaplen}
	var st Stats
	r := &run{cfg: cfg, sock: s, st: &st, linkType: linkTypeEthernet}
	if err := r.start(time.Now()); err != nil {
		t.Fatal(err)
	}
	if done, err := r.handle(len(counts)); err != nil || done {
		t.Fatalf("handle: %v %v", done, err)
	}
	if err := stopRun(r, sidecar.Trailer{}); err != nil {
		t.Fatal(err)
	}
	_, _, frames := readPcap(t, out)
	if len(frames) != len(counts) || st.Frames != uint64(len(counts)) {
		t.Fatalf("%d frames written, Stats %d, want %d", len(frames), st.Frames, len(counts))
	}
	for i, f := range frames {
		wantCap := min(60+i+(i%2)*100, snaplen)
		if len(f.data) != wantCap || f.origLen != 60+i+(i%2)*100 || f.tsNs != int64(1e9+i) {
			t.Errorf("frame %d: caplen %d origlen %d ts %d", i+1, len(f.data), f.origLen, f.tsNs)
		}
	}
	_, gaps, tr, err := readGaps(t, sidecar.PathFor(out))
	if err != nil {
		t.Fatal(err)
	}
	if len(gaps) != len(wantGaps) {
		t.Errorf("gaps %v, want %v", gaps, wantGaps)
	}
	for f, g := range wantGaps {
		if gaps[f] != g {
			t.Errorf("frame %d: gap %d, want %d", f, gaps[f], g)
		}
	}
	if tr.Frames != uint64(len(counts)) || st.GapEvents != 4 || st.GapFrames != 3+0xfffffff0-3+21+2 {
		t.Errorf("trailer frames %d, Stats %+v", tr.Frames, st)
	}
}

// TestHandleAllocs checks that receiving a batch allocates nothing per frame.
func TestHandleAllocs(t *testing.T) {
	s := &socket{snaplen: 128}
	s.setupBuffers(64)
	frame := make([]byte, 90)
	out := filepath.Join(t.TempDir(), "a.pcap")
	var st Stats
	r := &run{cfg: &Config{Output: out, Snaplen: 128, FlushEvery: time.Hour}, sock: s, st: &st, linkType: linkTypeEthernet}
	if err := r.start(time.Now()); err != nil {
		t.Fatal(err)
	}
	defer r.end()
	count := uint32(0)
	fill := func() {
		for i := range 64 {
			if i%8 == 0 {
				count++ // one gap per 8 frames
			}
			fakeReceive(s, i, frame, len(frame), count, int64(i))
		}
	}
	// Warm up: chunks go to the writer and come back. Then no new chunk
	// may be made (a chunk is 1 MiB, made at most queueChunks times).
	for range 200 {
		fill()
		r.handle(64)
	}
	r.w.made = queueChunks
	allocs := testing.AllocsPerRun(50, func() {
		fill()
		if _, err := r.handle(64); err != nil {
			t.Fatal(err)
		}
	})
	if allocs != 0 {
		t.Errorf("handle allocates %.1f times per batch of 64 frames", allocs)
	}
}

// TestHandleFileLimit: with -G and -W the frame that would start one file
// too many ends the capture unwritten, and the drops before it stay with
// the socket's counter for the tail gap instead of vanishing.
func TestHandleFileLimit(t *testing.T) {
	s := &socket{snaplen: 64}
	s.setupBuffers(2)
	frame := make([]byte, 60)
	fakeReceive(s, 0, frame, len(frame), 2, 1)
	fakeReceive(s, 1, frame, len(frame), 9, 2)
	var st Stats
	r := &run{cfg: &Config{Output: filepath.Join(t.TempDir(), "w.pcap"), Snaplen: 64, RotateEvery: time.Nanosecond, MaxFiles: 1},
		sock: s, st: &st, linkType: linkTypeEthernet}
	if err := r.start(time.Now()); err != nil {
		t.Fatal(err)
	}
	r.now = time.Now().Add(time.Millisecond) // the file is older than RotateEvery
	done, err := r.handle(2)
	if err != nil || !done {
		t.Fatalf("handle: done %v, %v; want the file limit reached", done, err)
	}
	if err := stopRun(r, sidecar.Trailer{}); err != nil {
		t.Fatal(err)
	}
	// The first frame (2 lost before it) is written, the second is not:
	// its 7 lost frames remain after lastCount, for the tail.
	if st.Frames != 1 || st.GapFrames != 2 || r.lastCount != 2 {
		t.Errorf("Stats %+v, lastCount %d; want 1 frame, 2 frames lost before it, lastCount 2", st, r.lastCount)
	}
}

// stopRun has the writer close the file with trailer t, as finish does
// after draining the socket.
func stopRun(r *run, t sidecar.Trailer) error {
	if r.cur == nil {
		r.cur = r.w.wait()
	}
	r.cur.end = &fileEnd{trailer: t}
	r.w.put(r.cur)
	r.cur = nil
	return r.end()
}

// gatedFile is a fullFile whose writes wait until gate is closed: a disk
// that stalls.
type gatedFile struct {
	fullFile
	gate chan struct{}
}

func (f *gatedFile) Write(p []byte) (int, error) {
	<-f.gate
	return f.fullFile.Write(p)
}

// TestRecorderDrops: when the writer stalls and every chunk is queued, the
// receiver keeps taking frames and drops them itself; they are counted in
// Stats.RecorderDrops and in the gap of the next frame written, so the
// sidecar still says exactly what the pcap lacks.
func TestRecorderDrops(t *testing.T) {
	const batch = 64
	s := &socket{snaplen: 128}
	s.setupBuffers(batch)
	pf := &gatedFile{fullFile: fullFile{name: "d.pcap", limit: 1 << 30}, gate: make(chan struct{})}
	gf := &fullFile{name: "d.pcap.gaps", limit: 1 << 30}
	o := &output{name: pf.name, pcapFile: pf, gapsFile: gf, linkType: linkTypeEthernet, snaplen: 128}
	close(pf.gate) // the headers go through
	if err := o.start(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	pf.gate = make(chan struct{}) // from now on the disk stalls
	var st Stats
	cfg := &Config{Snaplen: 128, FlushEvery: time.Hour}
	r := &run{cfg: cfg, sock: s, st: &st, linkType: linkTypeEthernet}
	r.w = newDiskWriter(o, cfg, linkTypeEthernet)
	r.cur = r.w.get()
	frame := make([]byte, 100)
	seq := 0
	fill := func(count uint32) {
		for i := range batch {
			binary.BigEndian.PutUint32(frame[60:], uint32(seq))
			seq++
			fakeReceive(s, i, frame, len(frame), count, int64(seq))
		}
	}
	// Every chunk holds chunkFrames frames; queueChunks of them fill the
	// queue while the writer is stuck on the first. 3 kernel drops come
	// before frame 1.
	kept := queueChunks * chunkFrames
	for seq < kept+3*batch {
		fill(3)
		if _, err := r.handle(batch); err != nil {
			t.Fatal(err)
		}
	}
	if want := uint64(seq - kept); st.RecorderDrops != want {
		t.Fatalf("RecorderDrops %d, want %d (frames beyond the %d the queue holds)", st.RecorderDrops, want, kept)
	}
	close(pf.gate)     // the disk catches up
	r.cur = r.w.wait() // and frees a chunk
	fill(5)            // 2 more kernel drops
	if _, err := r.handle(1); err != nil {
		t.Fatal(err)
	}
	if err := stopRun(r, sidecar.Trailer{}); err != nil {
		t.Fatal(err)
	}
	if st.Frames != uint64(kept+1) {
		t.Fatalf("%d frames written, want %d", st.Frames, kept+1)
	}
	_, recs, err := readSidecarBytes(t, gf.b)
	if err != nil {
		t.Fatal(err)
	}
	want := []sidecar.Record{{Frame: 1, Gap: 3}, {Frame: uint64(kept + 1), Gap: st.RecorderDrops + 2}}
	if len(recs) != 2 || recs[0] != want[0] || recs[1] != want[1] {
		t.Fatalf("sidecar records %v, want %v", recs, want)
	}
	// The pcap: frame kept+1 is the first frame received after the
	// stall, the ones in between are missing.
	_, n := wholeRecords(pf.b[24:])
	last := pf.b[24+n-16-100:]
	if got := binary.BigEndian.Uint32(last[16+60:]); got != uint32(seq-batch) {
		t.Errorf("last frame written is number %d, want %d", got, seq-batch)
	}
}
