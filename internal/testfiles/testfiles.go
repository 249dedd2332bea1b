// Package testfiles makes the files several packages' tests need alike:
// special files an output may be (a character device, a FIFO with a reader
// at its other end), a sidecar cut as a killed recorder leaves it, and a
// capture without its sidecar. Only tests import it.
package testfiles

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/sidecar"
)

// Bare copies capture into a directory of its own as bare.pcap, without
// its sidecar, and returns the copy's path: the same frames with no record
// of their loss.
func Bare(t testing.TB, capture string) string {
	t.Helper()
	b, err := os.ReadFile(capture)
	if err != nil {
		t.Fatal(err)
	}
	bare := filepath.Join(t.TempDir(), "bare.pcap")
	if err := os.WriteFile(bare, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return bare
}

// CharDevice makes dir/null, a second /dev/null (character device 1:3),
// and returns its path. mknod needs root (CAP_MKNOD): without it the test
// is skipped, or fails when CI=true (testenv).
func CharDevice(t testing.TB, dir string) string {
	t.Helper()
	testenv.NeedRoot(t, "mknod needs CAP_MKNOD")
	null := filepath.Join(dir, "null")
	if err := syscall.Mknod(null, syscall.S_IFCHR|0o666, int(1<<8|3)); err != nil {
		testenv.SkipOrFail(t, "mknod c 1 3: "+err.Error())
	}
	return null
}

// FIFO makes the named pipe dir/pipe and opens it for reading in a
// goroutine, so that a writer does not block. It returns the pipe's path
// and a function that waits for the writer to close it and returns all
// that was read (or the error of opening it).
func FIFO(t testing.TB, dir string) (path string, read func() string) {
	t.Helper()
	path = filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		testenv.SkipOrFail(t, "mkfifo: "+err.Error())
	}
	got := make(chan string, 1)
	go func() {
		r, err := os.Open(path)
		if err != nil {
			got <- err.Error()
			return
		}
		b, _ := io.ReadAll(r)
		r.Close()
		got <- string(b)
	}()
	return path, func() string { return <-got }
}

// CutSidecar rewrites the sidecar of capture (sidecar.PathFor) without its
// trailer, as a recorder killed with -9 leaves it, and returns its last
// record's frame: the frame after which the loss is unknown.
func CutSidecar(t testing.TB, capture string) uint64 {
	t.Helper()
	path := sidecar.PathFor(capture)
	rd, c, err := sidecar.OpenAuto(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	file, err := sidecar.ReadAll(rd)
	c.Close()
	if err != nil || len(file.Records) == 0 {
		t.Fatalf("%s: %v, %d records", path, err, len(file.Records))
	}
	file.HasTrailer = false
	var b bytes.Buffer
	if err := sidecar.Write(&b, file); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return file.Records[len(file.Records)-1].Frame
}
