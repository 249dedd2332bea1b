package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/spf13/cobra"
)

// exampleNS makes a network namespace whose interface eth0 (the name the
// examples use) receives a UDP datagram to port 53 every 20 ms from a
// second namespace at the other end of a veth pair, and returns its name.
// Both are removed at the end of the test.
func exampleNS(t *testing.T) string {
	t.Helper()
	var rb [3]byte
	rand.Read(rb[:])
	id := hex.EncodeToString(rb[:])
	ns, peer := "gapan-ex-"+id, "gapan-exp-"+id
	sh := func(argv ...string) {
		t.Helper()
		if out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput(); err != nil {
			t.Fatalf("%q: %v\n%s", argv, err, out)
		}
	}
	sh("ip", "netns", "add", ns)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", ns).Run() })
	sh("ip", "netns", "add", peer)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", peer).Run() })
	sh("ip", "link", "add", "eth0", "netns", ns, "type", "veth", "peer", "name", "eth0", "netns", peer)
	for i, n := range []string{ns, peer} {
		sh("ip", "-n", n, "addr", "add", []string{"10.99.53.1/24", "10.99.53.2/24"}[i], "dev", "eth0")
		sh("ip", "-n", n, "link", "set", "eth0", "up")
		sh("ip", "-n", n, "link", "set", "lo", "up")
	}
	send := exec.Command("ip", "netns", "exec", peer, "bash", "-c", "while :; do echo q >/dev/udp/10.99.53.1/53; sleep 0.02; done")
	if err := send.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { send.Process.Kill(); send.Wait() })
	return ns
}

// runRootExamples runs the Example of a command that needs root (gapan
// record) as a user would: the "sudo gapan" lines in a network namespace of
// the test's own (exampleNS), each stopped with SIGINT (Ctrl-C) when it has
// not ended 1.5 s after it started, each in a new directory; the other
// gapan lines (a report of what was recorded) in the directory of the line
// before. Without root it skips (fails
// when CI=true). It returns the number of lines run.
func runRootExamples(t *testing.T, c *cobra.Command) int {
	testenv.NeedRoot(t, c.CommandPath()+"'s examples capture from a network interface")
	testenv.NeedTool(t, "ip")
	testenv.NeedTool(t, "bash")
	ns := exampleNS(t)
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	var dir string
	ran := 0
	for _, line := range strings.Split(c.Example, "\n") {
		line = strings.TrimSpace(line)
		sudo := strings.HasPrefix(line, "sudo gapan ")
		if !sudo && !strings.HasPrefix(line, "gapan ") {
			continue
		}
		argv := splitArgs(strings.TrimPrefix(line, "sudo "))[1:]
		cmd := exec.Command(exe, argv...) // TestMain runs gapan with GAPAN_RUN_MAIN=1
		if sudo {
			cmd = exec.Command("ip", append([]string{"netns", "exec", ns, exe}, argv...)...)
		}
		if sudo || dir == "" {
			// Each capture in a directory of its own (the examples use
			// the same names); a report reads what the line before wrote.
			dir = t.TempDir()
		}
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GAPAN_RUN_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case err = <-done:
		case <-time.After(1500 * time.Millisecond):
			cmd.Process.Signal(os.Interrupt)
			select {
			case err = <-done:
			case <-time.After(20 * time.Second):
				cmd.Process.Kill()
				<-done
				t.Fatalf("%s: still running 20 s after SIGINT\nstderr: %s", line, stderr.String())
			}
		}
		if err != nil {
			t.Fatalf("%s: %v\nstderr: %s", line, err, stderr.String())
		}
		if i := slices.Index(argv, "-w"); sudo && i >= 0 {
			// The capture and its sidecar (FILE or, in a -W ring, FILE0).
			files, _ := filepath.Glob(filepath.Join(dir, argv[i+1]+"*"))
			if len(files) < 2 {
				t.Errorf("%s: wrote %q, want the capture and its sidecar", line, files)
			}
		}
		if !sudo && stdout.Len() == 0 {
			t.Errorf("%s: printed nothing on stdout", line)
		}
		if !sudo && strings.Contains(stdout.String(), "frames captured  0\n") {
			t.Errorf("%s: the capture before it recorded none of the datagrams sent to eth0:\n%s", line, stdout.String())
		}
		if testing.Verbose() {
			t.Logf("%s\n%s%s", line, stdout.String(), stderr.String())
		}
		ran++
	}
	return ran
}
