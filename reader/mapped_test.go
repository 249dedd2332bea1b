package reader

import (
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"testing"

	"github.com/gapan/gapan/reader/internal/capbuild"
)

// readBoth reads file through Open (mapped on Linux) and through the read
// buffer (NewReader over the open file, which the Reader does not own, so
// it never maps it), and fails the test unless both give the same frames,
// interfaces, statistics and error.
func readBoth(t *testing.T, file string) int {
	t.Helper()
	mr, merr := Open(file)
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	br, berr := NewReader(f, file)
	if fmt.Sprint(merr) != fmt.Sprint(berr) {
		t.Fatalf("%s: Open: %v, read path: %v", file, merr, berr)
	}
	if merr != nil {
		return 0
	}
	defer mr.Close()
	if runtime.GOOS == "linux" && mr.src.m == nil {
		t.Fatalf("%s: Open did not map a plain file", file)
	}
	if br.src.m != nil {
		t.Fatalf("%s: NewReader mapped a file it does not own", file)
	}
	mf, merr := readAll(t, mr)
	bf, berr := readAll(t, br)
	if !reflect.DeepEqual(merr, berr) {
		t.Errorf("%s: mapped ends with %#v, read path with %#v", file, merr, berr)
	}
	if len(mf) != len(bf) {
		t.Fatalf("%s: mapped %d frames, read path %d", file, len(mf), len(bf))
	}
	for i := range mf {
		if !reflect.DeepEqual(mf[i], bf[i]) {
			t.Fatalf("%s: frame %d differs:\nmapped %+v\nread   %+v", file, i+1, mf[i], bf[i])
		}
	}
	if !reflect.DeepEqual(mr.Interfaces(), br.Interfaces()) || !reflect.DeepEqual(mr.Stats(), br.Stats()) {
		t.Errorf("%s: interfaces or statistics differ", file)
	}
	if mr.BytesRead() > mr.Size() {
		t.Errorf("%s: BytesRead %d beyond the size %d", file, mr.BytesRead(), mr.Size())
	}
	return len(mf)
}

// TestMappedMatchesRead holds the mapped path to the read path on every
// capture under testdata/, whole and cut at several points (the typed
// errors of a truncated file, with their offsets, are the same).
func TestMappedMatchesRead(t *testing.T) {
	dir := t.TempDir()
	for _, file := range captures(t) {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		readBoth(t, file)
		for _, n := range []int{0, 3, 24, 30, len(raw) / 3, len(raw) / 2, len(raw) - 1} {
			if n < 0 || n > len(raw) {
				continue
			}
			cut := filepath.Join(dir, "cut")
			if err := os.WriteFile(cut, raw[:n], 0o644); err != nil {
				t.Fatal(err)
			}
			readBoth(t, cut)
		}
	}
}

// bigPcap builds a pcap file of about size bytes whose records have
// lengths that vary, so that records straddle every window boundary at a
// different place, with a record larger than the read buffer (read
// through Read, not in place) every so often.
func bigPcap(t *testing.T, size int) []byte {
	t.Helper()
	var recs []capbuild.PcapRecord
	total := 24
	for i := 0; total < size; i++ {
		n := 60 + (i*7919)%1400
		if i%997 == 500 {
			n = bufSize + 12345 // beyond the read buffer
		}
		d := make([]byte, n)
		binary.BigEndian.PutUint32(d, uint32(i))
		d[n-1] = byte(i)
		recs = append(recs, capbuild.PcapRecord{Sec: uint32(i), Data: d, Orig: uint32(n)})
		total += 16 + n
	}
	return capbuild.Pcap(binary.LittleEndian, pcapMagicUsecLE, 4, 4<<20, recs...)
}

// TestMappedWindows reads a capture of several mapped windows, whose
// records straddle the windows' boundaries, both ways.
func TestMappedWindows(t *testing.T) {
	file := filepath.Join(t.TempDir(), "big.pcap")
	if err := os.WriteFile(file, bigPcap(t, 3*mapWindow+12345), 0o644); err != nil {
		t.Fatal(err)
	}
	if n := readBoth(t, file); n < 1000 {
		t.Fatalf("only %d frames", n)
	}
}

// TestMappedGrowing: a capture that grows while it is read (still being
// written) is read on past the size it had when opened, as the read path
// reads it.
func TestMappedGrowing(t *testing.T) {
	full := bigPcap(t, 2*mapWindow)
	// Cut after a whole record: walk the records to about a third.
	cut := 24
	for cut < len(full)/3 {
		cut += 16 + int(binary.LittleEndian.Uint32(full[cut+8:]))
	}
	want := 0
	for off := 24; off < len(full); off += 16 + int(binary.LittleEndian.Uint32(full[off+8:])) {
		want++
	}
	file := filepath.Join(t.TempDir(), "growing.pcap")
	if err := os.WriteFile(file, full[:cut], 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(file, os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(full[cut:]); err != nil {
		t.Fatal(err)
	}
	f.Close()
	frames, err := readAll(t, r)
	if err != nil {
		t.Fatal(err)
	}
	if got := 1 + len(frames); got != want {
		t.Fatalf("read %d frames of the grown file, want %d", got, want)
	}
}

// TestMappedShrunk: a capture that another program cuts short while it is
// mapped ends in a *FormatError wrapping ErrTruncated, not a crash.
func TestMappedShrunk(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("files are mapped on Linux only")
	}
	full := bigPcap(t, 2*mapWindow)
	file := filepath.Join(t.TempDir(), "shrinking.pcap")
	if err := os.WriteFile(file, full, 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(file, 100_000); err != nil {
		t.Fatal(err)
	}
	n := 1
	for {
		_, err = r.Next()
		if err != nil {
			break
		}
		n++
	}
	var fe *FormatError
	if !errors.As(err, &fe) || !errors.Is(err, ErrTruncated) {
		t.Fatalf("after %d frames: %v, want a *FormatError wrapping ErrTruncated", n, err)
	}
	// The page that holds the new end reads as zeros past it: the fault
	// comes at the next page.
	if end := int64(100_000 + os.Getpagesize()); fe.Offset >= end || fe.Frame != uint64(n)+1 {
		t.Errorf("error at frame %d, byte %d; read %d frames of a file cut at byte 100000", fe.Frame, fe.Offset, n)
	}
}

// TestMappedNoAllocsPerFrame: Next over a mapped file allocates nothing
// per frame either.
func TestMappedNoAllocsPerFrame(t *testing.T) {
	r, err := Open(corpus("zeek-echo-connections.pcap"))
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if _, err := r.Next(); err != nil {
		t.Fatal(err)
	}
	if a := testing.AllocsPerRun(2000, func() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}); a > 0.01 {
		t.Errorf("%.3f allocs per frame, want 0", a)
	}
}
