// Command cputime runs a command and writes its CPU time to a file, as
// "USER SYS" in seconds with microseconds (GNU time's %U %S print
// hundredths, too coarse for a recorder that spends 0.04 s on 300,000
// frames). The figures are the kernel's rusage of the command and its
// waited-for descendants. bench/record.sh times the recorders and the
// sender with it. The command's exit status is passed on.
//
//	cputime -o FILE COMMAND [ARG...]
package main

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
)

func main() {
	out := flag.String("o", "", "file for \"USER SYS\"")
	flag.Parse()
	if *out == "" || flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: cputime -o FILE COMMAND [ARG...]")
		os.Exit(2)
	}
	// Signals meant for the command (bench/record.sh signals it by its own
	// pid) must not stop the timer first. Caught, not ignored: an ignored
	// signal would stay ignored in the command.
	signal.Notify(make(chan os.Signal, 1), syscall.SIGINT, syscall.SIGTERM)
	cmd := exec.Command(flag.Arg(0), flag.Args()[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		fmt.Fprintln(os.Stderr, "cputime:", err)
		os.Exit(127)
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	sec := func(t syscall.Timeval) float64 { return float64(t.Sec) + float64(t.Usec)/1e6 }
	if err := os.WriteFile(*out, fmt.Appendf(nil, "%.6f %.6f\n", sec(ru.Utime), sec(ru.Stime)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "cputime:", err)
		os.Exit(1)
	}
	os.Exit(cmd.ProcessState.ExitCode())
}
