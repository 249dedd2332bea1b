//go:build linux

// Command recvfloor is the floor of gapan record's exact path: the least
// work any recorder that takes the kernel's per-frame drop stamp
// (SO_RXQ_OVFL) can do. bench/record.sh runs it as the "recvfloor" column,
// alternated with gapan and tcpdump, so that its CPU per frame shows how
// far gapan is from what its way of receiving costs at all
// (docs/recorder.md, "The floor of the exact path").
//
// It does what gapan's receiver does with the kernel and nothing else: an
// AF_PACKET/SOCK_RAW socket with SO_RXQ_OVFL, the same receive buffer for
// -B (6 bytes of SO_RCVBUFFORCE per byte of -B), bound to the interface
// with ETH_P_ALL; recvmmsg in batches of -batch without waiting
// (MSG_DONTWAIT, no source address asked for), poll
// with gapan's 100 ms time-out when the queue is empty, and gapan's
// hold-off after a receive that emptied the queue. Per frame it reads one
// control message (the drop count) and adds the gap; it writes nothing,
// parses no frame, takes no timestamp. -ts and -aux also enable
// SO_TIMESTAMPNS and PACKET_AUXDATA (gapan's other two control messages,
// not parsed) to measure what they cost; -blocking waits in a blocking
// recvmmsg (SO_RCVTIMEO), as gapan did before, to measure what that costs
// in the Go runtime.
//
// On SIGINT or SIGTERM it stops the kernel from queueing (a reject-all
// filter, as gapan), drains the queue, reads the drop counter for the tail
// gap, and prints, as gapan's summary does:
//
//	N packets captured
//	D packets dropped by kernel
//	G gap events (S frames lost before captured frames, T after the last one)
//
//	recvfloor -i IFACE [-B KiB] [-batch N] [-holdoff D] [-ts] [-aux] [-blocking]
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"os/signal"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// The same constants as gapan's recorder (recorder/config.go,
// recorder/socket_linux.go).
const (
	bufferScale      = 6
	recvTimeout      = 100 * time.Millisecond
	holdoffFrames    = 4
	holdoffMaxFrames = 256
)

func main() {
	iface := flag.String("i", "", "interface")
	bufKiB := flag.Int("B", 2048, "buffer in tcpdump's KiB, as gapan record -B")
	batch := flag.Int("batch", 256, "frames per recvmmsg")
	holdoff := flag.Duration("holdoff", 10*time.Millisecond, "longest hold-off after a receive that emptied the queue (0: none)")
	snaplen := flag.Int("s", 262144, "bytes received of each frame")
	ts := flag.Bool("ts", false, "also enable SO_TIMESTAMPNS")
	aux := flag.Bool("aux", false, "also enable PACKET_AUXDATA")
	blocking := flag.Bool("blocking", false, "wait in a blocking recvmmsg (gapan before it waited in poll)")
	flag.Parse()
	if *iface == "" || *batch < 1 || *batch > 1024 {
		fmt.Fprintln(os.Stderr, "usage: recvfloor -i IFACE [-B KiB] [-batch 1..1024] [-holdoff D] [-ts] [-aux] [-blocking]")
		os.Exit(2)
	}
	if err := run(*iface, *bufKiB, *batch, *holdoff, *snaplen, *ts, *aux, !*blocking); err != nil {
		fmt.Fprintln(os.Stderr, "recvfloor:", err)
		os.Exit(1)
	}
}

func run(name string, bufKiB, batch int, holdoff time.Duration, snaplen int, ts, aux, waitInPoll bool) error {
	ifi, err := net.InterfaceByName(name)
	if err != nil {
		return err
	}
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(fd)
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return err
	}
	if ts {
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
			return err
		}
	}
	if aux {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
			return err
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, bufKiB*1024*bufferScale/2); err != nil {
		return err
	}
	rcvbuf, err := unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF)
	if err != nil {
		return err
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: recvTimeout.Microseconds()}); err != nil {
		return err
	}
	if err := unix.Bind(fd, &unix.SockaddrLinklayer{Protocol: 0x0300, Ifindex: ifi.Index}); err != nil { // htons(ETH_P_ALL)
		return err
	}
	fmt.Fprintf(os.Stderr, "recvfloor: listening on %s\n", name)

	// Preallocated buffers, as gapan's.
	oobLen := unix.CmsgSpace(4) + unix.CmsgSpace(16) + unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{}))) + 64
	bufs := make([]byte, batch*snaplen)
	iovs := make([]unix.Iovec, batch)
	oob := make([]byte, batch*oobLen)
	msgs := make([]unix.Mmsghdr, batch)
	for i := range batch {
		iovs[i].Base = &bufs[i*snaplen]
		iovs[i].SetLen(snaplen)
		h := &msgs[i].Hdr
		h.Iov = &iovs[i]
		h.SetIovlen(1)
		h.Control = &oob[i*oobLen]
	}
	// recv receives as gapan does (recorder/socket_linux.go): without
	// waiting, and when the queue is empty it waits in poll (waitInPoll false: in
	// a blocking recvmmsg with SO_RCVTIMEO).
	recv := func(nonblock bool) (int, error) {
		for i := range batch {
			msgs[i].Hdr.SetControllen(oobLen)
		}
		flags := uintptr(unix.MSG_TRUNC | unix.MSG_WAITFORONE)
		if nonblock || waitInPoll {
			flags |= unix.MSG_DONTWAIT
		}
		n, _, errno := unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(batch), flags, 0, 0)
		if waitInPoll && errno == unix.EAGAIN && !nonblock {
			pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
			unix.Poll(pfd, int(recvTimeout.Milliseconds()))
			n, _, errno = unix.Syscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&msgs[0])), uintptr(batch), flags, 0, 0)
		}
		switch errno {
		case 0:
			return int(n), nil
		case unix.EAGAIN, unix.EINTR:
			return 0, nil
		}
		return 0, errno
	}

	var frames, gapEvents, gapFrames uint64
	var receives, sleeps uint64 // receives that returned frames; hold-offs
	var last uint32
	// account reads the drop count of each of the n frames: the
	// SO_RXQ_OVFL message, absent while the count is 0.
	account := func(n int) {
		hdr := unix.CmsgLen(0)
		for i := range n {
			c := oob[i*oobLen : i*oobLen+int(msgs[i].Hdr.Controllen)]
			var count uint32
			for len(c) >= hdr {
				h := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
				l := int(h.Len)
				if l < hdr || l > len(c) {
					break
				}
				if h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL && l >= hdr+4 {
					count = binary.NativeEndian.Uint32(c[hdr:])
					break
				}
				if next := unix.CmsgSpace(l - hdr); next < len(c) {
					c = c[next:]
				} else {
					break
				}
			}
			if gap := count - last; gap > 0 {
				gapEvents++
				gapFrames += uint64(gap)
			}
			last = count
		}
		frames += uint64(n)
	}

	var stop atomic.Bool
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() { <-sig; stop.Store(true) }()

	// gapan's hold-off (recorder/pacer.go): after a receive that emptied
	// the queue, wait for holdoffMaxFrames frames at the rate seen since
	// the last wait, if at least holdoffFrames came since.
	most := min(holdoffMaxFrames, rcvbuf/4/2048)
	if most < holdoffFrames {
		holdoff = 0
	}
	wFrames, wStart := 0, time.Now()
	for !stop.Load() {
		n, err := recv(false)
		if err != nil {
			return err
		}
		now := time.Now()
		account(n)
		if n == 0 {
			wFrames, wStart = 0, now
			continue
		}
		receives++
		wFrames += n
		if holdoff > 0 && n < batch && wFrames >= holdoffFrames {
			sleeps++
			time.Sleep(min(holdoff, now.Sub(wStart)*time.Duration(most)/time.Duration(wFrames)))
			wFrames, wStart = 0, now
		}
	}

	// Freeze the counters (a reject-all filter), drain, read the tail.
	reject := []unix.SockFilter{{Code: unix.BPF_RET | unix.BPF_K, K: 0}}
	if err := unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, &unix.SockFprog{Len: 1, Filter: &reject[0]}); err != nil {
		return err
	}
	for {
		n, err := recv(true)
		if err != nil {
			return err
		}
		if n == 0 {
			break
		}
		account(n)
	}
	var mem [unix.SK_MEMINFO_VARS]uint32
	l := uint32(unsafe.Sizeof(mem))
	if _, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&l)), 0); errno != 0 {
		return errno
	}
	tail := uint64(mem[unix.SK_MEMINFO_DROPS] - last)
	st, err := unix.GetsockoptTpacketStats(fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stderr, "%d packets captured\n%d packets received by filter\n%d packets dropped by kernel\n", frames, st.Packets, st.Drops)
	fmt.Fprintf(os.Stderr, "%d gap events (%d frames lost before captured frames, %d after the last one)\n", gapEvents, gapFrames, tail)
	fmt.Fprintf(os.Stderr, "%d receives with frames, %d hold-offs\n", receives, sleeps)
	return nil
}
