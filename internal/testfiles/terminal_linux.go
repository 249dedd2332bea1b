package testfiles

import (
	"fmt"
	"os"
	"syscall"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"golang.org/x/sys/unix"
)

// Terminal opens a new pseudo-terminal and returns its terminal end, what
// a program's standard output is in an interactive shell (the test owns
// no controlling terminal: the pty is opened with O_NOCTTY). Both ends are
// closed at the end of the test.
func Terminal(t testing.TB) *os.File {
	t.Helper()
	ptmx, err := os.OpenFile("/dev/ptmx", os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testenv.SkipOrFail(t, "no pseudo-terminal: "+err.Error())
	}
	t.Cleanup(func() { ptmx.Close() })
	fd := int(ptmx.Fd())
	if err := unix.IoctlSetPointerInt(fd, unix.TIOCSPTLCK, 0); err != nil {
		t.Fatalf("unlock pty: %v", err)
	}
	n, err := unix.IoctlGetInt(fd, unix.TIOCGPTN)
	if err != nil {
		t.Fatalf("pty number: %v", err)
	}
	tty, err := os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		testenv.SkipOrFail(t, "open the pty's terminal end: "+err.Error())
	}
	t.Cleanup(func() { tty.Close() })
	return tty
}
