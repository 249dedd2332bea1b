//go:build linux

package recorder

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"time"
	"unsafe"

	"golang.org/x/net/bpf"
	"golang.org/x/sys/unix"
)

// pcap link types used here.
const (
	linkTypeEthernet = 1
	linkTypeRaw      = 101
	linkTypeRadiotap = 127
	linkTypeSLL2     = 276                    // LINUX_SLL2: the cooked header of -i any
	recvTimeout      = 100 * time.Millisecond // how often (at most) a waiting receiver wakes up to check for stop and flush
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

// oobLen is the control buffer per frame: SO_RXQ_OVFL (u32),
// SCM_TIMESTAMPNS (struct timespec) and PACKET_AUXDATA, with room to spare.
var oobLen = unix.CmsgSpace(4) + unix.CmsgSpace(int(unsafe.Sizeof(unix.Timespec{}))) +
	unix.CmsgSpace(int(unsafe.Sizeof(unix.TpacketAuxdata{}))) + 64

// socket is an AF_PACKET socket bound to one interface, with preallocated
// buffers so that receiving allocates nothing.
type socket struct {
	fd       int
	ifindex  int
	snaplen  int
	linkType uint32
	// cooked: a SOCK_DGRAM socket on every interface (-i any); each
	// frame gets a LINUX_SLL2 header built from its sockaddr_ll.
	cooked bool
	// head is the room in front of each received frame: for its
	// LINUX_SLL2 header, or for the VLAN tag the kernel took out of an
	// Ethernet frame; iovLen is what the kernel may write behind it.
	head, iovLen int
	rcvbufBytes  int // the socket's receive buffer as the kernel set it
	bufs         [][]byte
	iovs         []unix.Iovec
	oob          []byte
	names        []unix.RawSockaddrLinklayer
	msgs         []unix.Mmsghdr
	batch        int
	// written is how many of msgs' headers the kernel may have changed
	// since they were last reset: the frames of the last receive.
	written    int
	wakeMillis int // the longest wait for a frame (poll's time-out)
}

// frameInfo is what the control messages of one received frame say.
type frameInfo struct {
	tsNs      int64
	hasTs     bool
	dropCount uint32 // cumulative socket drops when the frame was queued
	// From PACKET_AUXDATA: the length before the filter's snapshot length
	// cut the frame, and the VLAN tag the kernel took out of it.
	hasAux   bool
	origLen  uint32
	vlan     bool
	vlanTCI  uint16
	vlanTPID uint16
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// openSocket creates the socket, configures it and binds it to the
// interface (ifi nil: every interface, as tcpdump -i any). Frames are only
// queued after bind, so the filter and options apply to every frame the
// socket ever sees.
func openSocket(ctx context.Context, cfg *Config, ifi *net.Interface) (*socket, error) {
	// On every interface the link headers differ, so the socket takes
	// frames from the network header on (SOCK_DGRAM) and the recorder
	// writes a LINUX_SLL2 header in front of each, as libpcap does.
	cooked := ifi == nil
	typ := unix.SOCK_RAW
	if cooked {
		typ = unix.SOCK_DGRAM
	}
	// Protocol 0: receive nothing until bind, so no frame from another
	// interface or before the filter is attached ever reaches the queue.
	fd, err := unix.Socket(unix.AF_PACKET, typ|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		if errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil, fmt.Errorf("%w: socket(AF_PACKET): %w", ErrPermission, err)
		}
		return nil, fmt.Errorf("recorder: socket(AF_PACKET): %w", err)
	}
	s := &socket{fd: fd, snaplen: cfg.Snaplen, cooked: cooked}
	fail := func(what string, err error) (*socket, error) {
		unix.Close(fd)
		return nil, fmt.Errorf("recorder: %s: %w", what, err)
	}
	// The filter sees what the socket receives: from the link header on,
	// or from the network header on for a cooked socket, which is what a
	// program compiled for raw IP expects.
	filterLink := uint32(linkTypeRaw)
	name := AnyInterface
	loopback := cooked // the socket may see the loopback device
	if cooked {
		s.linkType = linkTypeSLL2
	} else {
		s.ifindex, name = ifi.Index, ifi.Name
		arphrd, err := interfaceARPHRD(fd, ifi.Name)
		if err != nil {
			unix.Close(fd)
			return nil, err
		}
		if s.linkType, err = linkTypeFor(arphrd); err != nil {
			unix.Close(fd)
			return nil, err
		}
		filterLink = s.linkType
		loopback = arphrd == unix.ARPHRD_LOOPBACK
	}
	prog := cfg.FilterProgram
	if len(prog) == 0 && cfg.Filter != "" {
		if prog, err = CompileFilter(ctx, cfg.Filter, filterLink, cfg.Snaplen); err != nil {
			unix.Close(fd)
			return nil, err
		}
	}
	if prog, err = guardProgram(prog, loopback, cooked, cfg.Snaplen); err != nil {
		unix.Close(fd)
		return nil, err
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RXQ_OVFL, 1); err != nil {
		return fail("enabling SO_RXQ_OVFL", err)
	}
	if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_TIMESTAMPNS, 1); err != nil {
		return fail("enabling SO_TIMESTAMPNS", err)
	}
	if cfg.BufferKiB > 0 {
		// The kernel doubles the value it is given.
		size := cfg.BufferKiB * 1024 * bufferScale / 2
		// SO_RCVBUFFORCE (CAP_NET_ADMIN) is not capped by net.core.rmem_max.
		if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, size); err != nil {
			if err := unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, size); err != nil {
				return fail("setting the receive buffer", err)
			}
		}
	}
	if s.rcvbufBytes, err = unix.GetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF); err != nil {
		return fail("reading SO_RCVBUF", err)
	}
	// The original length of frames the filter cut, and VLAN tags.
	if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_AUXDATA, 1); err != nil {
		return fail("enabling PACKET_AUXDATA", err)
	}
	if cfg.IgnoreOutgoing {
		if err := unix.SetsockoptInt(fd, unix.SOL_PACKET, unix.PACKET_IGNORE_OUTGOING, 1); err != nil {
			return fail("setting PACKET_IGNORE_OUTGOING", err)
		}
	}
	s.wakeMillis = int(min(recvTimeout, max(cfg.FlushEvery, time.Millisecond)).Milliseconds())
	if len(prog) > 0 {
		if err := attachFilter(fd, prog); err != nil {
			return fail("attaching the capture filter", err)
		}
	}
	sll := &unix.SockaddrLinklayer{Protocol: htons(unix.ETH_P_ALL), Ifindex: s.ifindex}
	if err := unix.Bind(fd, sll); err != nil {
		return fail("binding to "+name, err)
	}
	// Promiscuous mode is per interface: like libpcap, -i any leaves
	// every interface as it is.
	if cfg.Promisc && !cooked {
		mreq := &unix.PacketMreq{Ifindex: int32(s.ifindex), Type: unix.PACKET_MR_PROMISC}
		if err := unix.SetsockoptPacketMreq(fd, unix.SOL_PACKET, unix.PACKET_ADD_MEMBERSHIP, mreq); err != nil {
			return fail("enabling promiscuous mode", err)
		}
	}
	s.setupBuffers(cfg.Batch)
	return s, nil
}

// Classic BPF opcodes the recorder writes itself: the filter that freezes
// the socket (ret #0) and the accept-all program behind a guard with no
// filter (ret #snaplen).
const bpfRetK = unix.BPF_RET | unix.BPF_K

// guardProgram puts in front of the capture filter prog the checks that
// libpcap makes in user space, so that a frame they reject counts neither
// as received nor as dropped and the gaps stay exact:
//
//   - on a socket that can see the loopback device, an outgoing loopback
//     frame is rejected: the same frame comes back in as incoming, and
//     tcpdump shows it once;
//   - on a cooked socket with a filter, a frame that is neither IPv4 nor
//     IPv6 is rejected: the filter, compiled for raw IP, only tests the
//     first nibble, which an 802.2 frame (spanning tree's 0x42) can pass.
//
// The checks read the kernel's ancillary data (SKF_AD_PKTTYPE,
// SKF_AD_HATYPE, SKF_AD_PROTOCOL) and are assembled with
// golang.org/x/net/bpf; each jump names its targets and the skips are
// counted from the layout. Without a filter the guard accepts snaplen
// bytes; nothing to guard returns prog as it is. Jumps in classic BPF are
// relative, so the program behind the guard is unchanged.
func guardProgram(prog []BPFInstruction, loopback, cooked bool, snaplen int) ([]BPFInstruction, error) {
	proto := cooked && len(prog) > 0
	if !loopback && !proto {
		return prog, nil
	}
	if len(prog) == 0 {
		prog = []BPFInstruction{{Code: bpfRetK, K: uint32(snaplen)}}
	}
	var g guard
	if loopback {
		g.load(bpf.ExtType)
		g.jeq(unix.PACKET_OUTGOING, toNext, toProto)
		g.load(bpf.ExtLinkLayerType)
		g.jeq(unix.ARPHRD_LOOPBACK, toReject, toProto)
	}
	g.protoAt = -1
	if proto {
		g.protoAt = len(g.steps)
		g.load(bpf.ExtProto)
		g.jeq(unix.ETH_P_IP, toFilter, toNext)
		g.jeq(unix.ETH_P_IPV6, toFilter, toNext)
	}
	raw, err := g.assemble()
	if err != nil {
		return nil, err
	}
	if len(raw)+len(prog) > maxBPFLen {
		return nil, fmt.Errorf("%w: %d instructions and the recorder's %d-instruction guard exceed the kernel's %d", ErrFilter, len(prog), len(raw), maxBPFLen)
	}
	out := make([]BPFInstruction, 0, len(raw)+len(prog))
	for _, r := range raw {
		out = append(out, BPFInstruction{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K})
	}
	return append(out, prog...), nil
}

// guardTarget names where a jump of the guard goes.
type guardTarget int

const (
	toNext   guardTarget = iota // the following instruction
	toProto                     // the protocol check, or the filter if there is none
	toReject                    // the guard's "ret #0"
	toFilter                    // the first instruction of the filter
)

// guard is the guard's program being built: loads, and jumps by target;
// "ret #0" follows the last step and the filter follows that.
type guard struct {
	steps   []guardStep
	protoAt int // index of the protocol check's first step; -1: none
}

type guardStep struct {
	load   bpf.Instruction // nil: a jeq #k to jt or jf
	k      uint32
	jt, jf guardTarget
}

func (g *guard) load(ext bpf.Extension) {
	g.steps = append(g.steps, guardStep{load: bpf.LoadExtension{Num: ext}})
}

func (g *guard) jeq(k uint32, jt, jf guardTarget) {
	g.steps = append(g.steps, guardStep{k: k, jt: jt, jf: jf})
}

// assemble resolves the targets into skips and assembles the guard with
// its final "ret #0".
func (g *guard) assemble() ([]bpf.RawInstruction, error) {
	reject := len(g.steps)
	at := func(t guardTarget, i int) int {
		switch t {
		case toProto:
			if g.protoAt >= 0 {
				return g.protoAt
			}
			return reject + 1
		case toReject:
			return reject
		case toFilter:
			return reject + 1
		}
		return i + 1
	}
	ins := make([]bpf.Instruction, 0, len(g.steps)+1)
	for i, s := range g.steps {
		if s.load != nil {
			ins = append(ins, s.load)
			continue
		}
		ins = append(ins, bpf.JumpIf{Cond: bpf.JumpEqual, Val: s.k,
			SkipTrue: uint8(at(s.jt, i) - (i + 1)), SkipFalse: uint8(at(s.jf, i) - (i + 1))})
	}
	ins = append(ins, bpf.RetConstant{Val: 0})
	raw, err := bpf.Assemble(ins)
	if err != nil {
		return nil, fmt.Errorf("recorder: assembling the guard: %w", err)
	}
	return raw, nil
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
	s.written = batch
	// A cooked frame is received behind room for its LINUX_SLL2 header,
	// header and data together cut to snaplen; an Ethernet frame behind
	// room for a VLAN tag to put back.
	s.head, s.iovLen = 0, s.snaplen
	switch {
	case s.cooked:
		s.head, s.iovLen = sll2Len, max(s.snaplen-sll2Len, 1)
	case s.linkType == linkTypeEthernet:
		// The MAC addresses are received even below a snaplen of 12,
		// so that a tag goes back whatever the snaplen.
		s.head, s.iovLen = vlanTagLen, max(s.snaplen, 2*6)
	}
	size := s.head + s.iovLen
	backing := make([]byte, batch*size)
	for i := range batch {
		s.bufs[i] = backing[i*size : (i+1)*size : (i+1)*size]
		s.iovs[i].Base = &s.bufs[i][s.head]
		s.iovs[i].SetLen(s.iovLen)
		h := &s.msgs[i].Hdr
		// Only a cooked frame's header needs its address; without a
		// name the kernel copies none out.
		if s.cooked {
			h.Name = (*byte)(unsafe.Pointer(&s.names[i]))
		}
		h.Iov = &s.iovs[i]
		h.SetIovlen(1)
		h.Control = &s.oob[i*oobLen]
	}
}

// recv receives up to s.batch frames. With nonblock it returns at once when
// the queue is empty; otherwise it waits up to s.wakeMillis for the first
// frame. It returns 0 frames (and no error) on timeout or interrupt.
func (s *socket) recv(nonblock bool) (int, error) {
	n, errno := s.recvQueued()
	if errno == unix.EAGAIN && !nonblock {
		pfd := []unix.PollFd{{Fd: int32(s.fd), Events: unix.POLLIN}}
		if _, err := unix.Poll(pfd, s.wakeMillis); err != nil && err != unix.EINTR {
			return 0, fmt.Errorf("recorder: waiting for frames: %w", err)
		}
		n, errno = s.recvQueued()
	}
	switch errno {
	case 0:
		return n, nil
	case unix.EAGAIN, unix.EINTR:
		return 0, nil
	}
	return 0, fmt.Errorf("recorder: receiving: %w", errno)
}

// recvQueued takes up to s.batch frames from the socket's queue without
// waiting (MSG_DONTWAIT); recv waits, when the queue is empty, in poll.
// Waiting in poll instead of in a blocking recvmmsg cost a tenth less CPU
// per frame at 50,000 small frames a second (docs/recorder.md, CPU). (A
// raw system call here, one the Go scheduler is not told of, saved as
// much again in the profile, but flat out a recorder that never blocked
// then lost half the frames where this one lost none.)
func (s *socket) recvQueued() (int, unix.Errno) {
	namelen := uint32(0)
	if s.cooked {
		namelen = uint32(unsafe.Sizeof(s.names[0]))
	}
	// The kernel writes the name and control lengths and the flags of
	// the headers it fills only: resetting those of the last receive,
	// not the whole batch, keeps a receive of one frame cheap.
	for i := range s.written {
		h := &s.msgs[i].Hdr
		h.Namelen = namelen
		h.SetControllen(oobLen)
		h.Flags = 0
	}
	// MSG_TRUNC makes the kernel report each frame's original length.
	flags := uintptr(unix.MSG_TRUNC | unix.MSG_DONTWAIT)
	var n uintptr
	var errno unix.Errno
	if s.batch == 1 {
		n, _, errno = unix.Syscall(unix.SYS_RECVMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0].Hdr)), flags)
		if errno == 0 {
			s.msgs[0].Len = uint32(n)
			n = 1
		}
	} else {
		n, _, errno = unix.Syscall6(unix.SYS_RECVMMSG, uintptr(s.fd), uintptr(unsafe.Pointer(&s.msgs[0])), uintptr(s.batch), flags, 0, 0)
	}
	switch errno {
	case 0:
		s.written = int(n)
	case unix.EAGAIN:
		s.written = 0 // nothing was received
	default:
		s.written = s.batch // whatever the kernel wrote, reset it all
		return 0, errno
	}
	return int(n), errno
}

// frame returns the i-th received frame's captured bytes, original length
// and control-message information. As libpcap does, a cooked frame gets its
// LINUX_SLL2 header, and an Ethernet frame gets back the VLAN tag the kernel
// took out of it on receive.
func (s *socket) frame(i int) ([]byte, int, frameInfo) {
	m := &s.msgs[i]
	fi := s.control(i)
	// With MSG_TRUNC the kernel reports the length of the frame as queued,
	// which the filter's snapshot length may have cut; PACKET_AUXDATA has
	// the length before that.
	got := min(int(m.Len), s.iovLen)
	origLen := int(m.Len)
	if fi.hasAux {
		origLen = int(fi.origLen)
	}
	buf := s.bufs[i]
	var data []byte
	switch {
	case s.cooked:
		putSLL2(buf[:sll2Len], &s.names[i])
		data = buf[:sll2Len+got]
		origLen += sll2Len
	case fi.vlan && s.linkType == linkTypeEthernet && got >= 2*6:
		// The two MAC addresses move to the front, the tag goes behind.
		copy(buf, buf[vlanTagLen:vlanTagLen+2*6])
		binary.BigEndian.PutUint16(buf[12:], fi.vlanTPID)
		binary.BigEndian.PutUint16(buf[14:], fi.vlanTCI)
		data = buf[:vlanTagLen+got]
		origLen += vlanTagLen
	default:
		data = buf[s.head : s.head+got]
	}
	return data[:min(len(data), s.snaplen)], origLen, fi
}

// control reads the control messages of the i-th received frame.
func (s *socket) control(i int) frameInfo {
	var fi frameInfo
	m := &s.msgs[i]
	oob := s.oob[i*oobLen : i*oobLen+int(m.Hdr.Controllen)]
	hdrLen := unix.CmsgLen(0)
	for len(oob) >= hdrLen {
		h := (*unix.Cmsghdr)(unsafe.Pointer(&oob[0]))
		l := int(h.Len)
		if l < hdrLen || l > len(oob) {
			break
		}
		data := oob[hdrLen:l]
		switch {
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SO_RXQ_OVFL:
			if len(data) >= 4 {
				fi.dropCount = binary.NativeEndian.Uint32(data)
			}
		case h.Level == unix.SOL_SOCKET && h.Type == unix.SCM_TIMESTAMPNS:
			if len(data) >= int(unsafe.Sizeof(unix.Timespec{})) {
				ts := (*unix.Timespec)(unsafe.Pointer(&data[0]))
				fi.tsNs = ts.Nano()
				fi.hasTs = true
			}
		case h.Level == unix.SOL_PACKET && h.Type == unix.PACKET_AUXDATA:
			if len(data) >= int(unsafe.Sizeof(unix.TpacketAuxdata{})) {
				aux := (*unix.TpacketAuxdata)(unsafe.Pointer(&data[0]))
				fi.hasAux, fi.origLen = true, aux.Len
				// libpcap's VLAN_VALID: a tag of 0 is valid only with
				// the status bit (kernels before 3.0 had none).
				if aux.Vlan_tci != 0 || aux.Status&unix.TP_STATUS_VLAN_VALID != 0 {
					fi.vlan, fi.vlanTCI, fi.vlanTPID = true, aux.Vlan_tci, unix.ETH_P_8021Q
					if aux.Status&unix.TP_STATUS_VLAN_TPID_VALID != 0 {
						fi.vlanTPID = aux.Vlan_tpid
					}
				}
			}
		}
		next := unix.CmsgSpace(l - hdrLen)
		if next > len(oob) {
			break
		}
		oob = oob[next:]
	}
	return fi
}

// vlanTagLen is the length of an 802.1Q tag.
const vlanTagLen = 4

// putSLL2 writes the LINUX_SLL2 header of a frame received on a cooked
// socket from the address the kernel gave with it, field for field as
// libpcap does (https://www.tcpdump.org/linktypes/LINKTYPE_LINUX_SLL2.html):
// protocol (network order already), reserved, interface index, ARPHRD_
// type, packet type, address length and the first 8 address bytes.
func putSLL2(h []byte, from *unix.RawSockaddrLinklayer) {
	binary.NativeEndian.PutUint16(h[0:], from.Protocol)
	binary.BigEndian.PutUint16(h[2:], 0)
	binary.BigEndian.PutUint32(h[4:], uint32(from.Ifindex))
	binary.BigEndian.PutUint16(h[8:], from.Hatype)
	h[10] = from.Pkttype
	h[11] = from.Halen
	n := copy(h[12:20], from.Addr[:min(int(from.Halen), len(from.Addr))])
	clear(h[12+n : 20])
}

// freeze stops the kernel from queueing (or counting) any more frames by
// replacing the filter with one that rejects everything; frames already
// queued stay readable. Rejected frames count neither as received nor as
// dropped, so the counters read afterwards are final.
func (s *socket) freeze() error {
	return attachFilter(s.fd, []BPFInstruction{{Code: bpfRetK, K: 0}})
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
