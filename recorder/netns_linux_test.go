//go:build linux

package recorder

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/gapan/gapan/internal/testenv"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func needRootAndIP(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "the network-namespace tests need root (they create namespaces and veth pairs)")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		testenv.SkipOrFail(t, "the network-namespace tests need the ip program (iproute2)")
	}
}

// nsPair is two network namespaces joined by a veth pair, with static
// neighbour entries and IPv6 off, so nothing but the test's own frames
// crosses the link.
type nsPair struct {
	send, recv     string // namespace names
	sendIf, recvIf string
	sendIP, recvIP string
}

func mustRun(t testing.TB, args ...string) string {
	t.Helper()
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// newNSPair creates the namespaces; they are removed when the test ends.
func newNSPair(t testing.TB) *nsPair {
	t.Helper()
	var rb [3]byte
	if _, err := rand.Read(rb[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(rb[:])
	p := &nsPair{
		send: "gapan-s-" + id, recv: "gapan-r-" + id,
		sendIf: "gps" + id, recvIf: "gpr" + id,
		sendIP: fmt.Sprintf("10.213.%d.1", rb[0]), recvIP: fmt.Sprintf("10.213.%d.2", rb[0]),
	}
	mustRun(t, "ip", "netns", "add", p.send)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.send).Run() })
	mustRun(t, "ip", "netns", "add", p.recv)
	t.Cleanup(func() { exec.Command("ip", "netns", "del", p.recv).Run() })
	mustRun(t, "ip", "link", "add", p.sendIf, "netns", p.send, "type", "veth", "peer", "name", p.recvIf, "netns", p.recv)
	for _, side := range []struct{ ns, ifname, ip string }{{p.send, p.sendIf, p.sendIP}, {p.recv, p.recvIf, p.recvIP}} {
		for _, key := range []string{"all", "default", side.ifname} {
			mustRun(t, "ip", "netns", "exec", side.ns, "sysctl", "-qw", "net.ipv6.conf."+key+".disable_ipv6=1")
		}
		mustRun(t, "ip", "-n", side.ns, "addr", "add", side.ip+"/30", "dev", side.ifname)
		// One wire frame per TCP segment: no TSO/GSO super-frames.
		mustRun(t, "ip", "-n", side.ns, "link", "set", side.ifname, "gso_max_size", "1500", "gso_max_segs", "1")
		mustRun(t, "ip", "-n", side.ns, "link", "set", side.ifname, "up")
		mustRun(t, "ip", "-n", side.ns, "link", "set", "lo", "up")
	}
	sendMAC := p.mac(t, p.send, p.sendIf)
	recvMAC := p.mac(t, p.recv, p.recvIf)
	mustRun(t, "ip", "-n", p.send, "neigh", "replace", p.recvIP, "lladdr", recvMAC, "dev", p.sendIf, "nud", "permanent")
	mustRun(t, "ip", "-n", p.recv, "neigh", "replace", p.sendIP, "lladdr", sendMAC, "dev", p.recvIf, "nud", "permanent")
	return p
}

func (p *nsPair) mac(t testing.TB, ns, ifname string) string {
	out := mustRun(t, "ip", "-n", ns, "-o", "link", "show", ifname)
	f := strings.Fields(out)
	for i := range f {
		if f[i] == "link/ether" && i+1 < len(f) {
			return f[i+1]
		}
	}
	t.Fatalf("no MAC address in %q", out)
	return ""
}

// inNS runs f on an OS thread that has joined namespace ns. Sockets created
// by f stay in ns after it returns.
func inNS(t testing.TB, ns string, f func()) {
	t.Helper()
	target, err := unix.Open("/run/netns/"+ns, unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(target)
	done := make(chan struct{})
	var setErr error
	go func() {
		defer close(done)
		runtime.LockOSThread()
		orig, err := unix.Open("/proc/thread-self/ns/net", unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			setErr = err
			runtime.UnlockOSThread()
			return
		}
		defer unix.Close(orig)
		if err := unix.Setns(target, unix.CLONE_NEWNET); err != nil {
			setErr = err
			runtime.UnlockOSThread()
			return
		}
		f()
		// A thread that cannot get back stays locked and dies with the
		// goroutine instead of running other code in the wrong namespace.
		if unix.Setns(orig, unix.CLONE_NEWNET) == nil {
			runtime.UnlockOSThread()
		}
	}()
	<-done
	if setErr != nil {
		t.Fatalf("joining namespace %s: %v", ns, setErr)
	}
}

// softnetDrops sums the second column of /proc/net/softnet_stat: frames the
// kernel dropped because a CPU's input backlog was full, before any socket
// saw them.
func softnetDrops(t testing.TB) uint64 {
	b, err := os.ReadFile("/proc/net/softnet_stat")
	if err != nil {
		t.Fatal(err)
	}
	var sum uint64
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, err := strconv.ParseUint(f[1], 16, 64)
		if err != nil {
			t.Fatal(err)
		}
		sum += v
	}
	return sum
}

// Environment of the sender helper process.
const (
	envSender = "GAPAN_TEST_SENDER" // "udp" or "mixed"
	envDst    = "GAPAN_TEST_DST"
	envCount  = "GAPAN_TEST_COUNT"
	envRate   = "GAPAN_TEST_RATE"   // datagrams per second, 0 = as fast as possible
	envSize   = "GAPAN_TEST_SIZE"   // UDP payload bytes
	envReport = "GAPAN_TEST_REPORT" // file the sender writes its sending time (ns) to
)

// seqMagic marks the test's datagrams; the sequence number follows it.
var seqMagic = [4]byte{'G', 'A', 'P', 'N'}

// TestHelperSender is not a test: the ground-truth tests run the test binary
// again inside the sending namespace with envSender set, and this sends the
// datagrams. Each carries seqMagic and a big-endian uint32 sequence number.
func TestHelperSender(t *testing.T) {
	mode := os.Getenv(envSender)
	if mode == "" {
		t.Skip("helper process for the network-namespace tests")
	}
	count, _ := strconv.Atoi(os.Getenv(envCount))
	rate, _ := strconv.Atoi(os.Getenv(envRate))
	size, _ := strconv.Atoi(os.Getenv(envSize))
	size = max(size, 8)
	dst := os.Getenv(envDst)
	start := time.Now()
	tcpDone := make(chan error, 1)
	if mode == "mixed" {
		// A TCP bulk transfer alongside the datagrams, paced so that the
		// two interleave.
		connected := make(chan struct{})
		go func() { tcpDone <- sendTCP(dst, 192<<10, connected) }()
		<-connected
	} else {
		tcpDone <- nil
	}
	if err := sendUDP(dst, count, rate, size); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if err := <-tcpDone; err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	if report := os.Getenv(envReport); report != "" {
		os.WriteFile(report, []byte(strconv.FormatInt(int64(time.Since(start)), 10)), 0o600)
	}
}

func sendUDP(dst string, count, rate, size int) error {
	conn, err := net.Dial("udp4", dst)
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, size)
	copy(buf, seqMagic[:])
	start := time.Now()
	for i := 0; i < count; {
		binary.BigEndian.PutUint32(buf[4:], uint32(i))
		if rate > 0 {
			due := start.Add(time.Duration(i) * time.Second / time.Duration(rate))
			for time.Now().Before(due) {
			}
		}
		if _, err := conn.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOBUFS) || errors.Is(err, syscall.EAGAIN) {
				// The local queue was full and the datagram never left:
				// send the same number again so the receiver sees no hole
				// that is not its own loss.
				continue
			}
			return fmt.Errorf("sending datagram %d: %w", i, err)
		}
		i++
	}
	return nil
}

func sendTCP(dst string, total int, connected chan<- struct{}) error {
	host, _, _ := net.SplitHostPort(dst)
	conn, err := net.DialTimeout("tcp4", net.JoinHostPort(host, "9"), 5*time.Second)
	close(connected)
	if err != nil {
		return err
	}
	defer conn.Close()
	buf := make([]byte, 4<<10)
	for sent := 0; sent < total; sent += len(buf) {
		if _, err := conn.Write(buf); err != nil {
			return err
		}
		time.Sleep(time.Millisecond)
	}
	return nil
}

// startSender runs the sender helper in namespace ns.
func startSender(t testing.TB, ns, mode, dst string, count, rate, size int) *exec.Cmd {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("ip", "netns", "exec", ns, exe, "-test.run=^TestHelperSender$", "-test.count=1")
	cmd.Env = append(os.Environ(),
		envSender+"="+mode, envDst+"="+dst,
		envCount+"="+strconv.Itoa(count), envRate+"="+strconv.Itoa(rate), envSize+"="+strconv.Itoa(size))
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	return cmd
}

// capture runs the recorder in the receiving namespace (on the receiving
// veth unless cfg.Interface names another) while the sender
// helper sends count datagrams, then stops it once the sender is done.
// A UDP socket listens on the receiving side so that no ICMP port
// unreachable goes back on the wire; for mode "mixed" a TCP listener
// swallows the bulk transfer.
func (p *nsPair) capture(t testing.TB, cfg Config, mode string, count, rate, size int) Stats {
	t.Helper()
	st, err := p.captureErr(t, cfg, mode, count, rate, size)
	if err != nil {
		t.Fatalf("Run: %v", err)
	}
	return st
}

// captureErr is capture for a run that may fail: Run's error is returned.
func (p *nsPair) captureErr(t testing.TB, cfg Config, mode string, count, rate, size int) (Stats, error) {
	t.Helper()
	const port = 9999
	var st Stats
	var runErr error
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Second)
	defer cancel()
	started := make(chan struct{})
	prev := cfg.Started
	cfg.Started = func() {
		if prev != nil {
			prev()
		}
		close(started)
	}
	senderDone := make(chan error, 1)
	finished := make(chan struct{}) // the sender is done or will never start
	go func() {
		defer close(finished)
		select {
		case <-started:
		case <-ctx.Done():
			senderDone <- ctx.Err()
			return
		}
		cmd := startSender(t, p.send, mode, net.JoinHostPort(p.recvIP, strconv.Itoa(port)), count, rate, size)
		err := cmd.Wait()
		// Let the last frames reach the socket; Run drains the queue.
		time.Sleep(200 * time.Millisecond)
		cancel()
		senderDone <- err
	}()
	inNS(t, p.recv, func() {
		udp, err := net.ListenPacket("udp4", net.JoinHostPort(p.recvIP, strconv.Itoa(port)))
		if err != nil {
			runErr = err
			cancel()
			return
		}
		defer udp.Close()
		if mode == "mixed" {
			ln, err := net.Listen("tcp4", net.JoinHostPort(p.recvIP, "9"))
			if err != nil {
				runErr = err
				cancel()
				return
			}
			defer ln.Close()
			go func() {
				c, err := ln.Accept()
				if err != nil {
					return
				}
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					if _, err := c.Read(buf); err != nil {
						return
					}
				}
			}()
		}
		if cfg.Interface == "" {
			cfg.Interface = p.recvIf
		}
		st, runErr = Run(ctx, cfg)
		if runErr != nil {
			cancel()
		}
		// A capture that stops by itself (Count, MaxFiles) keeps the
		// listeners open until the sender is done: a closed port would
		// send ICMP errors back and fail its writes.
		<-finished
	})
	if runErr != nil {
		return st, runErr
	}
	if err := <-senderDone; err != nil {
		t.Fatalf("sender: %v", err)
	}
	return st, nil
}
