//go:build linux

package recorder

import (
	"bytes"
	"encoding/binary"
	"errors"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/sidecar"
	"golang.org/x/sys/unix"
)

// ifIndex returns the interface index of ifname in namespace ns.
func ifIndex(t testing.TB, ns, ifname string) uint32 {
	t.Helper()
	out := mustRun(t, "ip", "-n", ns, "-o", "link", "show", ifname)
	i := strings.IndexByte(out, ':')
	n, err := strconv.ParseUint(strings.TrimSpace(out[:max(i, 0)]), 10, 32)
	if err != nil {
		t.Fatalf("no interface index in %q", out)
	}
	return uint32(n)
}

// TestAnyInterface records with Interface "any" in a namespace where
// numbered datagrams arrive on the veth and others go over the loopback,
// and checks every LINUX_SLL2 header field against what was sent: the
// protocol, the interface index of the interface each frame crossed, the
// ARPHRD_ type, the packet type and the sender's MAC address. tshark must
// read the same fields.
func TestAnyInterface(t *testing.T) {
	needRootAndIP(t)
	const count, loCount, loPort = 300, 40, 9998
	p := newNSPair(t)
	out := filepath.Join(t.TempDir(), "any.pcap")
	// Sent once the socket is bound, from a socket of the receiving
	// namespace: each crosses its loopback twice (out, then in), and is
	// captured once.
	sendLo := loopbackSender(t, p.recv, loPort, 1_000_000, loCount)
	st := p.capture(t, Config{Interface: AnyInterface, Output: out, BufferKiB: 8192, Promisc: true, Started: sendLo}, "udp", count, 20000, 64)
	if st.KernelDrops != 0 || st.LinkType != linkTypeSLL2 {
		t.Fatalf("Stats %+v: want no drops and link type %d", st, linkTypeSLL2)
	}
	linkType, _, frames := readPcap(t, out)
	if linkType != linkTypeSLL2 {
		t.Fatalf("link type %d, want %d (LINUX_SLL2)", linkType, linkTypeSLL2)
	}
	vethIdx, loIdx := ifIndex(t, p.recv, p.recvIf), ifIndex(t, p.recv, "lo")
	sendMAC, err := net.ParseMAC(p.mac(t, p.send, p.sendIf))
	if err != nil {
		t.Fatal(err)
	}
	const pktHost, pktOutgoing = 0, 4
	var veth, loIn, loOut int
	next := uint32(0)
	for i, f := range frames {
		h := f.data
		seq, ok := udpSeqLink(linkTypeSLL2, h)
		if !ok {
			t.Fatalf("frame %d is not a test datagram: % x", i+1, h[:min(len(h), 48)])
		}
		if f.origLen != len(h) {
			t.Errorf("frame %d: caplen %d origlen %d", i+1, len(h), f.origLen)
		}
		if binary.BigEndian.Uint16(h[2:]) != 0 {
			t.Errorf("frame %d: reserved field % x", i+1, h[2:4])
		}
		ifidx, hatype, pkttype, halen := binary.BigEndian.Uint32(h[4:]), binary.BigEndian.Uint16(h[8:]), h[10], int(h[11])
		switch {
		case seq < 1_000_000:
			veth++
			if seq != next {
				t.Errorf("frame %d: datagram %d, want %d", i+1, seq, next)
			}
			next = seq + 1
			if ifidx != vethIdx || hatype != 1 || pkttype != pktHost || halen != 6 || net.HardwareAddr(h[12:18]).String() != sendMAC.String() || binary.BigEndian.Uint16(h[18:]) != 0 {
				t.Errorf("frame %d: ifindex %d hatype %d pkttype %d halen %d addr % x; want %d, 1 (Ethernet), 0 (host), 6, %s",
					i+1, ifidx, hatype, pkttype, halen, h[12:20], vethIdx, sendMAC)
			}
		default:
			if ifidx != loIdx || hatype != 772 {
				t.Errorf("frame %d: loopback datagram with ifindex %d hatype %d, want %d and 772", i+1, ifidx, hatype, loIdx)
			}
			switch pkttype {
			case pktHost:
				loIn++
			case pktOutgoing:
				loOut++
			default:
				t.Errorf("frame %d: loopback packet type %d", i+1, pkttype)
			}
		}
	}
	// The outgoing copy of a loopback frame is rejected in the kernel, as
	// libpcap rejects it: each datagram once.
	if veth != count || loIn != loCount || loOut != 0 {
		t.Errorf("frames: %d from the veth, %d in and %d out on lo; want %d, %d, 0", veth, loIn, loOut, count, loCount)
	}
	if st.KernelPackets != uint64(count+loCount) {
		t.Errorf("kernel packets %d, want %d: a rejected outgoing copy is not received", st.KernelPackets, count+loCount)
	}
	if _, gaps, tr, err := readGaps(t, sidecar.PathFor(out)); err != nil || len(gaps) != 0 || tr.Frames != uint64(len(frames)) {
		t.Errorf("sidecar: %v, %d gaps, trailer %+v; want no gap and %d frames", err, len(gaps), tr, len(frames))
	}

	tshark, err := exec.LookPath("tshark")
	if err != nil {
		testenv.SkipOrFail(t, "reading the capture back with tshark needs tshark")
	}
	b, err := exec.Command(tshark, "-r", out, "-T", "fields", "-E", "separator=,",
		"-e", "sll.ifindex", "-e", "sll.pkttype", "-e", "sll.etype", "-e", "sll.src.eth", "-e", "udp.dstport").Output()
	if err != nil {
		t.Fatalf("tshark: %v", err)
	}
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) != len(frames) {
		t.Fatalf("tshark reads %d frames, want %d", len(lines), len(frames))
	}
	want := func(h []byte) string {
		f := []string{strconv.Itoa(int(binary.BigEndian.Uint32(h[4:]))), strconv.Itoa(int(h[10])), "0x0800", "", ""}
		// Ethernet and loopback (ARPHRD 1, 772) addresses show as MACs.
		if hatype := binary.BigEndian.Uint16(h[8:]); h[11] == 6 && (hatype == 1 || hatype == 772) {
			f[3] = net.HardwareAddr(h[12:18]).String()
		}
		ihl := int(h[sll2Len]&0x0f) * 4
		f[4] = strconv.Itoa(int(binary.BigEndian.Uint16(h[sll2Len+ihl+2:])))
		return strings.Join(f, ",")
	}
	for i, line := range lines {
		if w := want(frames[i].data); line != w {
			t.Errorf("tshark frame %d: %q, want %q", i+1, line, w)
		}
	}
}

// TestSnaplen cuts frames to a snapshot length, on a veth and on "any",
// with and without a filter (whose program returns the snapshot length):
// every frame keeps snaplen bytes, its link header included, and its
// original length is the whole frame's.
func TestSnaplen(t *testing.T) {
	needRootAndIP(t)
	const count, size, snaplen = 50, 200, 100
	for _, tc := range []struct {
		name, iface, filter string
		head                int
	}{
		{"veth", "", "", 14},
		{"veth+filter", "", "udp", 14},
		{"any", AnyInterface, "", sll2Len},
		{"any+filter", AnyInterface, "udp", sll2Len},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.filter != "" {
				if _, err := exec.LookPath("tcpdump"); err != nil {
					testenv.SkipOrFail(t, "compiling a capture filter needs tcpdump")
				}
			}
			p := newNSPair(t)
			out := filepath.Join(t.TempDir(), "snap.pcap")
			st := p.capture(t, Config{Interface: tc.iface, Output: out, Snaplen: snaplen, Filter: tc.filter,
				BufferKiB: 4096, IgnoreOutgoing: true}, "udp", count, 20000, size)
			_, fileSnap, frames := readPcap(t, out)
			if fileSnap != snaplen || st.KernelDrops != 0 || len(frames) != count {
				t.Fatalf("snaplen %d, %d frames, %d drops; want %d, %d, 0", fileSnap, len(frames), st.KernelDrops, snaplen, count)
			}
			for i, f := range frames {
				if want := tc.head + 20 + 8 + size; len(f.data) != snaplen || f.origLen != want {
					t.Fatalf("frame %d: caplen %d origlen %d, want %d and %d", i+1, len(f.data), f.origLen, snaplen, want)
				}
			}
		})
	}
}

// rawSocket returns a packet socket of namespace ns bound to ifname, to
// send frames as they are.
func rawSocket(t *testing.T, ns, ifname string) int {
	t.Helper()
	fd := -1
	inNS(t, ns, func() {
		var err error
		if fd, err = unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, 0); err != nil {
			t.Error(err)
			return
		}
		ifi, err := net.InterfaceByName(ifname)
		if err == nil {
			err = unix.Bind(fd, &unix.SockaddrLinklayer{Ifindex: ifi.Index})
		}
		if err != nil {
			t.Error(err)
		}
	})
	if fd < 0 || t.Failed() {
		t.FailNow()
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

// vlanTag is an 802.1Q or 802.1ad tag.
type vlanTag struct{ tpid, tci uint16 }

// udpFrame builds an Ethernet frame with the tags, holding the test
// datagram seq from the pair's sender to its receiver's port 9999.
func (p *nsPair) udpFrame(t *testing.T, seq uint32, tags ...vlanTag) []byte {
	dst, err := net.ParseMAC(p.mac(t, p.recv, p.recvIf))
	if err != nil {
		t.Fatal(err)
	}
	src, err := net.ParseMAC(p.mac(t, p.send, p.sendIf))
	if err != nil {
		t.Fatal(err)
	}
	f := append(append([]byte{}, dst...), src...)
	for _, tag := range tags {
		f = binary.BigEndian.AppendUint16(f, tag.tpid)
		f = binary.BigEndian.AppendUint16(f, tag.tci)
	}
	f = binary.BigEndian.AppendUint16(f, 0x0800)
	ip := []byte{0x45, 0, 0, 20 + 8 + 16, 0, 0, 0, 0, 64, 17, 0, 0}
	ip = append(append(ip, net.ParseIP(p.sendIP).To4()...), net.ParseIP(p.recvIP).To4()...)
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(binary.BigEndian.Uint16(ip[i:]))
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum+sum>>16))
	f = append(f, ip...)
	f = binary.BigEndian.AppendUint16(f, 40000)
	f = binary.BigEndian.AppendUint16(f, 9999)
	f = binary.BigEndian.AppendUint16(f, 8+16)
	f = binary.BigEndian.AppendUint16(f, 0)
	f = append(f, seqMagic[:]...)
	f = binary.BigEndian.AppendUint32(f, seq)
	return append(f, make([]byte, 8)...)
}

// TestVLANTag sends tagged frames over the veth pair from a packet socket
// (this kernel has no VLAN devices): an 802.1Q tag with a priority, one
// whose TCI is 0, and an 802.1ad tag. The kernel takes the tag out of a
// frame before any packet socket sees it; as libpcap does, the recorder
// puts it back on an Ethernet interface, so the frames are written as they
// were on the wire. On "any" the frames stay untagged, as with libpcap
// (LINUX_SLL2 has no place for the tag).
func TestVLANTag(t *testing.T) {
	needRootAndIP(t)
	const count = 99
	tags := []vlanTag{{0x8100, 5<<13 | 100}, {0x8100, 0}, {0x88a8, 200}}
	for _, tc := range []struct {
		name, iface string
		tagged      bool
	}{
		{"ethernet", "", true},
		{"any", AnyInterface, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := newNSPair(t)
			fd := rawSocket(t, p.send, p.sendIf)
			sent := make([][]byte, count)
			for i := range sent {
				sent[i] = p.udpFrame(t, uint32(i), tags[i%len(tags)])
			}
			send := func() {
				for i, f := range sent {
					if _, err := unix.Write(fd, f); err != nil {
						t.Errorf("sending frame %d: %v", i, err)
					}
				}
			}
			out := filepath.Join(t.TempDir(), "vlan.pcap")
			st := p.capture(t, Config{Interface: tc.iface, Output: out, BufferKiB: 4096, IgnoreOutgoing: true, Started: send}, "udp", 0, 0, 64)
			_, _, frames := readPcap(t, out)
			if st.KernelDrops != 0 || len(frames) != count {
				t.Fatalf("%d frames, %d drops; want %d, 0", len(frames), st.KernelDrops, count)
			}
			for i, f := range frames {
				d := f.data
				if f.origLen != len(d) {
					t.Errorf("frame %d: caplen %d origlen %d", i+1, len(d), f.origLen)
				}
				if !tc.tagged {
					if seq, ok := udpSeqLink(linkTypeSLL2, d); !ok || seq != uint32(i) {
						t.Fatalf("frame %d: not datagram %d: % x", i+1, i, d[:min(len(d), 48)])
					}
					continue
				}
				if !bytes.Equal(d, sent[i]) {
					t.Fatalf("frame %d:\n% x\nwant the frame as sent:\n% x", i+1, d, sent[i])
				}
			}
			if !tc.tagged {
				return
			}
			tshark, err := exec.LookPath("tshark")
			if err != nil {
				testenv.SkipOrFail(t, "reading the capture back with tshark needs tshark")
			}
			b, err := exec.Command(tshark, "-r", out, "-Y", "udp.dstport == 9999", "-T", "fields", "-E", "separator=,",
				"-e", "vlan.etype", "-e", "vlan.id", "-e", "vlan.priority", "-e", "ieee8021ad.id").Output()
			if err != nil {
				t.Fatalf("tshark: %v", err)
			}
			lines := strings.Split(strings.TrimSpace(string(b)), "\n")
			want := []string{"0x0800,100,5,", "0x0800,0,0,", ",,,200"}
			if len(lines) != count {
				t.Fatalf("tshark finds %d datagrams, want %d", len(lines), count)
			}
			for i, line := range lines {
				if line != want[i%len(want)] {
					t.Errorf("tshark frame %d: %q, want %q", i+1, line, want[i%len(want)])
				}
			}
		})
	}
}

// TestAnyFilterProtocol records on "any" with the filter "ip" while
// 802.2 frames whose first payload byte is 0x42 (spanning tree's LLC
// header, which a program compiled for raw IP reads as an IPv4 version
// nibble) and IPv4 datagrams cross the veth: only the datagrams are
// captured, and the others are not even received, as with tcpdump.
func TestAnyFilterProtocol(t *testing.T) {
	needRootAndIP(t)
	if _, err := exec.LookPath("tcpdump"); err != nil {
		testenv.SkipOrFail(t, "compiling a capture filter needs tcpdump")
	}
	const count = 50
	p := newNSPair(t)
	fd := rawSocket(t, p.send, p.sendIf)
	var frames [][]byte
	for i := range count {
		frames = append(frames, p.udpFrame(t, uint32(i)))
		llc := p.udpFrame(t, 0)[:14]
		binary.BigEndian.PutUint16(llc[12:], 38) // an 802.3 length
		llc = append(llc, 0x42, 0x42, 0x03, 0, 0, 0, 0)
		frames = append(frames, append(llc, make([]byte, 31)...))
	}
	send := func() {
		for i, f := range frames {
			if _, err := unix.Write(fd, f); err != nil {
				t.Errorf("sending frame %d: %v", i, err)
			}
		}
	}
	out := filepath.Join(t.TempDir(), "proto.pcap")
	st := p.capture(t, Config{Interface: AnyInterface, Filter: "ip", Output: out, BufferKiB: 4096, IgnoreOutgoing: true, Started: send}, "udp", 0, 0, 64)
	if st.Frames != count || st.KernelPackets != count || st.KernelDrops != 0 {
		t.Errorf("Stats %+v: want %d frames and kernel packets, no drops", st, count)
	}
	verifySeqLink(t, st.Files, count, linkTypeSLL2)
}

// loopbackSender returns a function that sends count test datagrams,
// numbered from first, to 127.0.0.1:port of namespace ns, where a socket
// listens for them.
func loopbackSender(t *testing.T, ns string, port, first, count int) func() {
	t.Helper()
	var lo net.Conn
	// inNS runs this on a goroutine of its own: errors, not Fatal.
	inNS(t, ns, func() {
		ln, err := net.ListenPacket("udp4", "127.0.0.1:"+strconv.Itoa(port))
		if err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { ln.Close() })
		if lo, err = net.Dial("udp4", ln.LocalAddr().String()); err != nil {
			t.Error(err)
			return
		}
		t.Cleanup(func() { lo.Close() })
	})
	if lo == nil {
		t.FailNow()
	}
	return func() {
		buf := make([]byte, 16)
		copy(buf, seqMagic[:])
		for i := range count {
			binary.BigEndian.PutUint32(buf[4:], uint32(first+i))
			if _, err := lo.Write(buf); err != nil {
				t.Errorf("loopback send: %v", err)
			}
		}
	}
}

// TestLoopbackOnce records on the loopback device while datagrams go to
// 127.0.0.1: the kernel hands the socket every frame twice (out, then
// in); as tcpdump, the recorder captures each once.
func TestLoopbackOnce(t *testing.T) {
	needRootAndIP(t)
	const count = 200
	p := newNSPair(t)
	send := loopbackSender(t, p.recv, 9997, 0, count)
	out := filepath.Join(t.TempDir(), "lo.pcap")
	st := p.capture(t, Config{Interface: "lo", Output: out, BufferKiB: 4096, Started: send}, "udp", 0, 0, 64)
	if st.KernelPackets != count || st.KernelDrops != 0 {
		t.Errorf("kernel: %d packets, %d drops; want %d, 0", st.KernelPackets, st.KernelDrops, count)
	}
	verifySeq(t, st.Files, count)
}

// TestAnySnaplen: on "any" the snapshot length is at least the LINUX_SLL2
// header and a byte, as libpcap makes it.
func TestAnySnaplen(t *testing.T) {
	for _, tc := range []struct {
		iface    string
		in, want int
	}{
		{AnyInterface, 1, 21}, {AnyInterface, 20, 21}, {AnyInterface, 21, 21}, {AnyInterface, 0, DefaultSnaplen},
		{"lo", 1, 1},
	} {
		cfg := Config{Interface: tc.iface, Output: "x", Snaplen: tc.in}
		if err := normalize(&cfg); err != nil || cfg.Snaplen != tc.want {
			t.Errorf("%s, snaplen %d: %d, %v; want %d", tc.iface, tc.in, cfg.Snaplen, err, tc.want)
		}
	}
}

// Classic BPF as the kernel reads it (linux/filter.h), written out here
// independently of the guard's assembler: ld of a word at an absolute
// offset, jeq #k, ret #k, and the ancillary-data offsets
// (SKF_AD_OFF + SKF_AD_*).
const (
	bpfLdAbsW   = 0x20 // ld [k]
	bpfJeqK     = 0x15 // jeq #k, jt, jf
	skfADOff    = 0xfffff000
	skfProtocol = skfADOff + 0  // skb->protocol, host order
	skfPktType  = skfADOff + 4  // skb->pkt_type
	skfHaType   = skfADOff + 28 // skb->dev->type (ARPHRD_)
)

// TestGuardListing checks the assembled guard instruction for instruction
// against listings written by hand (the program the recorder attached
// before the guard was assembled with golang.org/x/net/bpf), and that the
// user's filter follows it unchanged.
func TestGuardListing(t *testing.T) {
	filter := []BPFInstruction{{0x30, 0, 0, 0}, {0x54, 0, 0, 0xf0}, {bpfJeqK, 0, 1, 0x40}, {bpfRetK, 0, 0, 1000}, {bpfRetK, 0, 0, 0}}
	const out, lo, ip4, ip6 = 4, 772, 0x0800, 0x86dd // PACKET_OUTGOING, ARPHRD_LOOPBACK, ETH_P_IP, ETH_P_IPV6
	loGuard := []BPFInstruction{
		{bpfLdAbsW, 0, 0, skfPktType},
		{bpfJeqK, 0, 3, out}, // not outgoing: to the filter (5)
		{bpfLdAbsW, 0, 0, skfHaType},
		{bpfJeqK, 0, 1, lo}, // loopback: reject (4); else the filter (5)
		{bpfRetK, 0, 0, 0},
	}
	protoGuard := []BPFInstruction{
		{bpfLdAbsW, 0, 0, skfProtocol},
		{bpfJeqK, 2, 0, ip4}, // to the filter (4)
		{bpfJeqK, 1, 0, ip6},
		{bpfRetK, 0, 0, 0},
	}
	bothGuard := []BPFInstruction{
		{bpfLdAbsW, 0, 0, skfPktType},
		{bpfJeqK, 0, 2, out}, // not outgoing: to the protocol check (4)
		{bpfLdAbsW, 0, 0, skfHaType},
		{bpfJeqK, 3, 0, lo}, // loopback: reject (7)
		{bpfLdAbsW, 0, 0, skfProtocol},
		{bpfJeqK, 2, 0, ip4}, // to the filter (8)
		{bpfJeqK, 1, 0, ip6},
		{bpfRetK, 0, 0, 0},
	}
	accept := []BPFInstruction{{bpfRetK, 0, 0, 96}}
	for _, tc := range []struct {
		name             string
		prog             []BPFInstruction
		loopback, cooked bool
		want             []BPFInstruction
	}{
		{"lo, no filter", nil, true, false, append(slices.Clone(loGuard), accept...)},
		{"lo, filter", filter, true, false, append(slices.Clone(loGuard), filter...)},
		{"any, no filter", nil, true, true, append(slices.Clone(loGuard), accept...)},
		{"any, filter", filter, true, true, append(slices.Clone(bothGuard), filter...)},
		{"cooked without loopback, filter", filter, false, true, append(slices.Clone(protoGuard), filter...)},
		{"eth, filter", filter, false, false, filter},
	} {
		got, err := guardProgram(slices.Clone(tc.prog), tc.loopback, tc.cooked, 96)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s:\n got %v\nwant %v", tc.name, got, tc.want)
		}
	}
}

// runBPF runs a classic BPF program of the instructions the guard and
// tcpdump's raw-IP programs use (ld of an ancillary word or a packet byte,
// and, jeq, ret) on a frame with the given ancillary data.
func runBPF(t *testing.T, prog []BPFInstruction, pkttype, hatype, proto uint32, data []byte) uint32 {
	t.Helper()
	var a uint32
	for pc := 0; pc < len(prog); pc++ {
		in := prog[pc]
		switch in.Code {
		case bpfLdAbsW:
			switch in.K {
			case skfPktType:
				a = pkttype
			case skfHaType:
				a = hatype
			case skfProtocol:
				a = proto
			default:
				t.Fatalf("pc %d: ld [%#x]", pc, in.K)
			}
		case 0x30: // ldb [k]
			a = uint32(data[in.K])
		case 0x54: // and #k
			a &= in.K
		case bpfJeqK:
			if a == in.K {
				pc += int(in.Jt)
			} else {
				pc += int(in.Jf)
			}
		case bpfRetK:
			return in.K
		default:
			t.Fatalf("pc %d: code %#x", pc, in.Code)
		}
	}
	t.Fatal("program ran off its end")
	return 0
}

// TestGuardProgram runs the guard in all its forms: on a socket that can
// see the loopback device or not, cooked or not, with a filter or not.
func TestGuardProgram(t *testing.T) {
	// "ip", as tcpdump compiles it for raw IP (accepting 1000 bytes).
	ip := []BPFInstruction{{0x30, 0, 0, 0}, {0x54, 0, 0, 0xf0}, {bpfJeqK, 0, 1, 0x40}, {bpfRetK, 0, 0, 1000}, {bpfRetK, 0, 0, 0}}
	// "ip or ip6".
	ip46 := []BPFInstruction{{0x30, 0, 0, 0}, {0x54, 0, 0, 0xf0}, {bpfJeqK, 1, 0, 0x40}, {bpfJeqK, 0, 1, 0x60}, {bpfRetK, 0, 0, 1000}, {bpfRetK, 0, 0, 0}}
	const out, host, ether, loop = unix.PACKET_OUTGOING, unix.PACKET_HOST, unix.ARPHRD_ETHER, unix.ARPHRD_LOOPBACK
	ipv4, llc := []byte{0x45}, []byte{0x42}
	type frame struct {
		pkttype, hatype, proto uint32
		data                   []byte
	}
	var (
		inLo     = frame{host, loop, unix.ETH_P_IP, ipv4}
		outLo    = frame{out, loop, unix.ETH_P_IP, ipv4}
		outEth   = frame{out, ether, unix.ETH_P_IP, ipv4}
		inIPv6   = frame{host, ether, unix.ETH_P_IPV6, []byte{0x60}}
		inLLC    = frame{host, ether, 0x0004, llc}
		inV4Eth  = frame{host, ether, unix.ETH_P_IP, ipv4}
		outLoLLC = frame{out, loop, 0x0004, llc}
	)
	for _, tc := range []struct {
		name             string
		prog             []BPFInstruction
		loopback, cooked bool
		want             map[*frame]uint32
	}{
		{"eth, no filter", nil, false, false, nil},
		// Off a cooked socket the filter reads the link header and
		// checks the protocol itself: the guard leaves it alone.
		{"eth, filter", ip, false, false, nil},
		{"lo, no filter", nil, true, false, map[*frame]uint32{&inLo: 96, &outLo: 0, &outEth: 96}},
		{"lo, filter", ip, true, false, map[*frame]uint32{&inLo: 1000, &outLo: 0, &outLoLLC: 0, &inLLC: 1000, &inIPv6: 0}},
		{"any, no filter", nil, true, true, map[*frame]uint32{&inLo: 96, &outLo: 0, &outEth: 96, &inLLC: 96, &inIPv6: 96}},
		{"any, ip or ip6", ip46, true, true, map[*frame]uint32{&inLo: 1000, &outLo: 0, &inIPv6: 1000, &inLLC: 0, &inV4Eth: 1000}},
		{"any, filter", ip, true, true, map[*frame]uint32{&inLo: 1000, &outLo: 0, &outLoLLC: 0, &outEth: 1000, &inLLC: 0, &inIPv6: 0, &inV4Eth: 1000}},
	} {
		got, err := guardProgram(tc.prog, tc.loopback, tc.cooked, 96)
		if err != nil {
			t.Fatal(err)
		}
		if tc.want == nil {
			if len(got) != len(tc.prog) {
				t.Errorf("%s: a guard of %d instructions where none is needed", tc.name, len(got)-len(tc.prog))
			}
			continue
		}
		for f, want := range tc.want {
			if r := runBPF(t, got, f.pkttype, f.hatype, f.proto, f.data); r != want {
				t.Errorf("%s: frame %+v: program returns %d, want %d", tc.name, *f, r, want)
			}
		}
	}
	// The largest guard is 8 instructions.
	if _, err := guardProgram(make([]BPFInstruction, maxBPFLen-8), true, true, 96); err != nil {
		t.Errorf("a filter of %d instructions with the guard: %v, want it to fit", maxBPFLen-8, err)
	}
	if _, err := guardProgram(make([]BPFInstruction, maxBPFLen-7), true, true, 96); !errors.Is(err, ErrFilter) {
		t.Errorf("a filter of %d instructions with the guard: %v, want ErrFilter", maxBPFLen-7, err)
	}
}
