//go:build linux

package recorder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"unsafe"

	"golang.org/x/sys/unix"
)

// pcap link types used here.
const (
	linkTypeEthernet  = 1
	linkTypeRaw       = 101
	linkTypeRadiotap  = 127
	recvTimeoutMicros = 100_000 // how often a blocked receive wakes up to check for stop and flush
)

// linkTypeFor maps the interface's ARPHRD_ type to the pcap link type of the
// bytes a SOCK_RAW packet socket delivers on it.
func linkTypeFor(arphrd int) (uint32, error) {
	switch arphrd {
	case unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK:
		return linkTypeEthernet, nil
	case unix.ARPHRD_NONE: // tun, wireguard: frames start with the IP header
		return linkTypeRaw, nil
	case unix.ARPHRD_IEEE80211_RADIOTAP:
		return linkTypeRadiotap, nil
	}
	return 0, fmt.Errorf("%w: interface link type ARPHRD %d (only Ethernet, loopback, raw IP and radiotap interfaces are supported)", ErrUnsupported, arphrd)
}

// interfaceARPHRD returns the ARPHRD_ type of the interface, asked of the
// socket's own network namespace (sysfs would answer for the namespace it
// was mounted in).
func interfaceARPHRD(fd int, name string) (int, error) {
	var ifr struct {
		name   [unix.IFNAMSIZ]byte
		family uint16 // sa_family of ifr_hwaddr: the ARPHRD_ type
		_      [22]byte
	}
	if len(name) >= unix.IFNAMSIZ {
		return 0, fmt.Errorf("recorder: interface name %q too long", name)
	}
	copy(ifr.name[:], name)
	_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SIOCGIFHWADDR, uintptr(unsafe.Pointer(&ifr)))
	if errno != 0 {
		return 0, fmt.Errorf("recorder: reading the link type of %s: %w", name, errno)
	}
	return int(ifr.family), nil
}

// oobLen is the control buffer per frame: SO_RXQ_OVFL (u32) and
// SCM_TIMESTAMPNS (struct timespec), with room to spare.
var oobLen = unix.CmsgSpace(4) + unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))) + 64

// socket is an AF_PACKET socket bound to one interface, with preallocated
// buffers so that receiving allocates nothing.
type socket struct {
	fd       int
	ifindex  int
	snaplen  int
	linkType uint32
	bufs     [][]byte
	iovs     []unix.Iovec
	oob      []byte
	names    []unix.RawSockaddrLinklayer
	msgs     []unix.Mmsghdr
	batch    int
}

// frameInfo is what the control messages of one received frame say.
type frameInfo struct {
	tsNs      int64
	hasTs     bool
	dropCount uint32 // cumulative socket drops when the frame was queued
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSocket creates the socket, configures it and binds it to the
// interface. Frames are only queued after bind, so the filter and options
// apply to every frame the socket ever sees.
func openSocket(ctx context.Context, cfg *Config, ifi *net.Interface) (*socket, error) {
	// Protocol 0: receive nothing until bind, so no frame from another
	// interface or before the filter is attached ever reaches the queue.
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: socket(AF_PACKET): %w", ErrPermission, err)
		}
		return nil, fmt.Errorf("recorder: socket(AF_PACKET): %w", err)
	}
	s := &socket{fd: fd, ifindex: ifi.Index, snaplen: cfg.Snaplen}
	fail := func(what string, err error) (*socket, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("recorder: %s: %w", what, err)
	}
	arphrd, err := interfaceARPHRD(fd, ifi.Name)
	if err != nil {
		unix.Close(fd)
		return nil, err
	}
	if s.linkType, err = linkTypeFor(arphrd); err != nil {
		unix.Close(fd)
		return nil, err
	}
	prog := cfg.FilterProgram
	if len(prog) == 0 && cfg.Filter != "" {
		if prog, err = CompileFilter(ctx, cfg.Filter, s.linkType, cfg.Snaplen); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fail("enabling SO_RXQ_OVFL", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("enabling SO_TIMESTAMPNS", err)
	}
	if cfg.BufferKiB > 0 {
		size := cfg.BufferKiB * 1024
		// SO_RCVBUFFORCE (CAP_NET_ADMIN) is not capped by net.core.rmem_max.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size); err != nil {
				return fail("setting the receive buffer", err)
			}
		}
	}
	if cfg.IgnoreOutgoing {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			return fail("setting PACKET_IGNORE_OUTGOING", err)
		}
	}
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &unix.Timeval{Usec: recvTimeoutMicros}); err != nil {
		return fail("setting SO_RCVTIMEO", err)
	}
	if len(prog) > 0 {
		if err := attachFilter(fd, prog); err != nil {
			return fail("attaching the capture filter", err)
		}
	}
	sll := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: ifi.Index}
	if err := unix.Bind(fd, sll); err != nil {
		return fail("binding to "+ifi.Name, err)
	}
	if cfg.Promisc {
		mreq := &unix.PacketMreq{Ifindex: int32(ifi.Index), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
			return fail("enabling promiscuous mode", err)
		}
	}
	s.setupBuffers(cfg.Batch)
	return s, nil
}

func attachFilter(fd int, prog []BPFInstruction) error {
	ins := make([]unix.SockFilter, len(prog))
	for i, p := range prog {
		ins[i] = unix.SockFilter{Code: p.Code, Jt: p.Jt, Jf: p.Jf, K: p.K}
	}
	fprog := &unix.SockFprog{Len: uint16(len(ins)), Filter: &ins[0]}
	return unix.SetsockoptSockFprog(fd, unix.SOL_SOCKET, unix.SO_ATTACH_FILTER, fprog)
}

func (s *socket) setupBuffers(batch int) {
	s.batch = batch
	s.bufs = make([][]byte, batch)
	s.iovs = make([]unix.Iovec, batch)
	s.oob = make([]byte, batch*oobLen)
	s.names = make([]unix.RawSockaddrLinklayer, batch)
	s.msgs = make([]unix.Mmsghdr, batch)
	backing := make([]byte, batch*s.snaplen)
	for i := range batch {
		s.bufs[i] = backing[i*s.snaplen : (i+1)*s.snaplen : (i+1)*s.snaplen]
		s.iovs[i].Base = &s.bufs[i][0]
		s.iovs[i].SetLen(s.snaplen)
		h := &s.msgs[i].Hdr
		h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
		h.Control = &s.oob[i*oobLen]
	}
}

// recv receives up to s.batch frames. With nonblock it returns at once when
// the queue is empty; otherwise it waits up to recvTimeoutMicros for the
// first frame. It returns 0 frames (and no error) on timeout or interrupt.
func (s *socket) recv(nonblock bool) (int, error) {
	for i := range s.batch {
		h := &s.msgs[i].Hdr
		h.Namelen = uint32(unsafe.Sizeof(s.names[i]))
		h.SetControllen(oobLen)
		h.Flags = 0
	}
	// MSG_TRUNC makes the kernel report each frame's original length.
	flags := uintptr(unix.MSG_TRUNC)
	if nonblock {
		flags |= unix.MSG_DONTWAIT
	}
	var n uintptr
	var errno unix.Errno
	if s.batch == 1 {
		n, _, errno = unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0].Hdr)), flags)
		if errno == 0 {
			s.msgs[0].Len = uint32(n)
			n = 1
		}
	} else {
		flags |= unix.MSG_WAITFORONE
		n, _, errno = unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(s.batch), flags, 0, 0)
	}
	switch errno {
	case 0:
		return int(n), nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	}
	return 0, fmt.Errorf("recorder: receiving: %w", errno)
}

// frame returns the i-th received frame's captured bytes, original length
// and control-message information.
func (s *socket) frame(i int) ([]byte, int, frameInfo) {
	m := &s.msgs[i]
	origLen := int(m.Len)
	capLen := min(origLen, s.snaplen)
	var fi frameInfo
	oob := s.oob[i*oobLen : i*oobLen+int(m.Hdr.Controllen)]
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			break
		}
		data := oob[hdrLen:l]
		if h.Level == unix.SOL_SOCKET {
			switch h.Type {
			case unix.SO_RXQ_OVFL:
				if len(data) >= 4 {
					fi.dropCount = binary.NativeEndian.Uint32(data)
				}
			case unix.SCM_TIMESTAMPNS:
				if len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
					ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
					fi.tsNs = ts.Nano()
					fi.hasTs = true
				}
			}
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return s.bufs[i][:capLen], origLen, fi
}

// freeze stops the kernel from queueing (or counting) any more frames by
// replacing the filter with one that rejects everything; frames already
// queued stay readable. Rejected frames count neither as received nor as
// dropped, so the counters read afterwards are final.
func (s *socket) freeze() error {
	return attachFilter(s.fd, []BPFInstruction{{Code: unix.BPF_RET | unix.BPF_K, K: 0}})
}

// drops returns the socket's cumulative drop counter (sk_drops, the value
// SO_RXQ_OVFL reports), which reading does not reset.
func (s *socket) drops() (uint32, error) {
	var mem [unix.SK_MEMINFO_VARS]uint32
	l := uint32(unsafe.Sizeof(mem))
	_, _, errno := unix.Syscall6(unix.SYS_GETSOCKOPT, uintptr(s.fd), unix.SOL_SOCKET, unix.SO_MEMINFO,
		uintptr(unsafe.Pointer(&mem[0])), uintptr(unsafe.Pointer(&l)), 0)
	if errno != 0 {
		return 0, fmt.Errorf("recorder: reading SO_MEMINFO: %w", errno)
	}
	return mem[unix.SK_MEMINFO_DROPS], nil
}

// statistics reads PACKET_STATISTICS. The kernel resets both counters on
// every read, so each call returns the totals since the previous one;
// packets includes the dropped frames.
func (s *socket) statistics() (packets, drops uint32, err error) {
	st, err := unix.GetsockoptTpacketStats(s.fd, unix.SOL_PACKET, unix.PACKET_STATISTICS)
	if err != nil {
		return 0, 0, fmt.Errorf("recorder: reading PACKET_STATISTICS: %w", err)
	}
	return st.Packets, st.Drops, nil
}

func (s *socket) close() error { return unix.Close(s.fd) }
