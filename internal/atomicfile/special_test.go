package atomicfile

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/internal/testfiles"
)

// TestFIFOIsAStream: a FIFO is written in place, needs no Overwrite, and
// is still a FIFO afterwards.
func TestFIFOIsAStream(t *testing.T) {
	dest, read := testfiles.FIFO(t, t.TempDir())
	f, err := Create(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if !f.Stream() {
		t.Error("a FIFO is not written as a stream")
	}
	f.WriteString("through the pipe")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if s := read(); s != "through the pipe" {
		t.Errorf("reader got %q", s)
	}
	if st, err := os.Lstat(dest); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatalf("the FIFO was replaced: %v %v", st.Mode(), err)
	}
}

// TestDevicesAsRoot: a character device made in a temporary directory (a
// second /dev/null) is written as a stream, with or without Overwrite, and
// stays a device; a block device is refused even with Overwrite.
func TestDevicesAsRoot(t *testing.T) {
	dir := t.TempDir()
	null := testfiles.CharDevice(t, dir)
	for _, overwrite := range []bool{false, true} {
		f, err := Create(null, Options{Overwrite: overwrite})
		if err != nil {
			t.Fatalf("overwrite %v: %v", overwrite, err)
		}
		f.WriteString(strings.Repeat("x", 3500))
		if err := f.Commit(); err != nil {
			t.Fatal(err)
		}
		st, err := os.Lstat(null)
		if err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("overwrite %v: the device became %v (%v)", overwrite, st.Mode(), err)
		}
	}
	// Abort on a stream only closes it.
	f, err := Create(null, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.Abort()
	if st, err := os.Lstat(null); err != nil || st.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("abort removed the device: %v", err)
	}
	blk := filepath.Join(dir, "loop")
	if err := syscall.Mknod(blk, syscall.S_IFBLK|0o600, int(7<<8|200)); err != nil {
		testenv.SkipOrFail(t, "mknod b 7 200: "+err.Error())
	}
	if _, err := Create(blk, Options{Overwrite: true}); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "block device") {
		t.Fatalf("block device: %v, want ErrNotRegular naming a block device", err)
	}
	if st, err := os.Lstat(blk); err != nil || st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0 {
		t.Fatalf("the block device is gone: %v", err)
	}
}

// TestRealDevNull only looks at /dev/null: it is a stream, so -o /dev/null
// needs no --force.
func TestRealDevNull(t *testing.T) {
	if _, err := os.Stat("/dev/null"); err != nil {
		t.Skip("no /dev/null")
	}
	if !IsStream("/dev/null") {
		t.Fatal("/dev/null is not a stream")
	}
	if _, _, err := resolve("/dev/null", Options{}); err != nil {
		t.Fatalf("resolve(/dev/null) = %v", err)
	}
}

// TestSymlinkFollowed: a link to a file is followed (the target is
// replaced with Overwrite, the link stays a link); a dangling link is
// refused; a link to an input is the input.
func TestSymlinkFollowed(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "real.txt")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.txt")
	if err := os.Symlink("real.txt", link); err != nil {
		t.Fatal(err)
	}
	if _, err := Create(link, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("without Overwrite: %v, want ErrExists", err)
	}
	if _, err := Create(link, Options{Overwrite: true, Inputs: []string{target}}); !errors.Is(err, ErrSameFile) {
		t.Fatalf("link to an input: %v, want ErrSameFile", err)
	}
	f, err := Create(link, Options{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatalf("the link was replaced: %v", err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Fatalf("target holds %q", b)
	}
	dangling := filepath.Join(dir, "dangling")
	os.Symlink("nowhere/x", dangling)
	if _, err := Create(dangling, Options{Overwrite: true}); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("dangling link: %v, want ErrNotRegular", err)
	}
	if _, err := os.Lstat(dangling); err != nil {
		t.Fatal("the dangling link is gone")
	}
}

// TestRefused: a directory and a socket are never written; a missing
// directory is named.
func TestRefused(t *testing.T) {
	dir := t.TempDir()
	if _, err := Create(dir, Options{Overwrite: true}); !errors.Is(err, ErrNotRegular) {
		t.Fatalf("directory: %v", err)
	}
	sock := filepath.Join(dir, "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		testenv.SkipOrFail(t, "unix socket: "+err.Error())
	}
	defer l.Close()
	if _, err := Create(sock, Options{Overwrite: true}); !errors.Is(err, ErrNotRegular) || !strings.Contains(err.Error(), "socket") {
		t.Fatalf("socket: %v", err)
	}
	missing := filepath.Join(dir, "no", "such", "dir")
	_, err = Create(filepath.Join(missing, "out.json"), Options{})
	if !errors.Is(err, ErrNoDir) || !strings.Contains(err.Error(), missing+" ") {
		t.Fatalf("missing directory: %v, want ErrNoDir naming %s", err, missing)
	}
	if strings.Contains(err.Error(), ".tmp-") {
		t.Errorf("error names the temporary file: %v", err)
	}
}
