package recorder

import (
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gapan/gapan/internal/bpfcompile"
	"github.com/gapan/gapan/sidecar"
	"golang.org/x/net/bpf"
)

// Sentinel errors callers can test with errors.Is.
var (
	// ErrPermission means the process may not open an AF_PACKET socket:
	// it lacks CAP_NET_RAW.
	ErrPermission = errors.New("recorder: capturing needs CAP_NET_RAW (run as root, or grant it with `setcap cap_net_raw+ep gapan`)")
	// ErrUnsupported means live capture is not available on this system
	// or for this interface's link type.
	ErrUnsupported = errors.New("recorder: unsupported")
	// ErrConfig means the Config is invalid.
	ErrConfig = errors.New("recorder: invalid configuration")
	// ErrFilter means a capture filter could not be compiled or parsed.
	// It is bpfcompile's sentinel: the selection of the other commands
	// (--filter) compiles filters the same way.
	ErrFilter = bpfcompile.ErrFilter
	// ErrExists means an output file (a pcap of the capture or ring, or its
	// sidecar) already exists and Config.Overwrite is not set.
	ErrExists = errors.New("recorder: output exists")
)

// AnyInterface is the Interface that captures on every interface of the
// network namespace, as tcpdump -i any: the frames are received from their
// network header on and written with a LINUX_SLL2 header (link type 276:
// protocol, interface index, ARPHRD_ type, packet type and link-layer
// source address); a capture filter is compiled for raw IP, so it cannot
// name link-layer fields (ether, vlan, arp), and only IPv4 and IPv6 frames
// pass it; promiscuous mode is not set; the snapshot length is at least 21.
// On "any" and on the loopback device a frame over the loopback is
// captured once (incoming), as with tcpdump.
const AnyInterface = "any"

// Interfaces returns the names Config.Interface takes on this host:
// AnyInterface, then the interfaces of the network namespace the program
// runs in (net.Interfaces), in the kernel's order (gapan record -i
// completes them).
func Interfaces() ([]string, error) {
	ifs, err := net.Interfaces()
	if err != nil {
		return nil, err
	}
	names := []string{AnyInterface}
	for _, i := range ifs {
		names = append(names, i.Name)
	}
	return names, nil
}

// sll2Len is the length of a LINUX_SLL2 header.
const sll2Len = 20

// DefaultSnaplen is the snapshot length used when Config.Snaplen is 0,
// the same as tcpdump's.
const DefaultSnaplen = 262144

// DefaultBufferKiB is the buffer size (-B) used when Config.BufferKiB is 0:
// tcpdump's default, and gapan buffers at least as many frames with it as
// tcpdump does with its own (see Config.BufferKiB).
const DefaultBufferKiB = 2048

// maxBufferKiB keeps the socket buffer within what the kernel accepts:
// it caps SO_RCVBUFFORCE at INT_MAX/2 before doubling it.
const maxBufferKiB = (1<<31 - 1) / 2 / 1024 * 2 / bufferScale

// bufferScale is how many bytes of socket receive buffer (sk_rcvbuf) the
// recorder asks for per byte of -B. The kernel charges each queued frame
// its whole buffer (skb truesize: about 860 bytes for a 106-byte frame and
// 2,300 for a 1,442-byte one on a veth), where tcpdump's TPACKET_V3 ring
// spends the frame plus about 100 bytes of header and alignment (about 210
// and 1,550 bytes). With 6 bytes per byte of -B, gapan -B N holds more
// frames than tcpdump -B N at every frame size (docs/recorder.md has the
// table).
const bufferScale = 6

// DefaultFlushEvery is the period at which the receiver hands the frames it
// holds to the writer when Config.FlushEvery is 0.
const DefaultFlushEvery = 100 * time.Millisecond

// DefaultHoldoff is Config.Holdoff when it is 0.
const DefaultHoldoff = 10 * time.Millisecond

// holdoffMaxFrames is the most frames the receiver lets gather during a
// hold-off, at the rate last seen (see pacer).
const holdoffMaxFrames = DefaultBatch

// DefaultBatch is the number of frames received per recvmmsg call when
// Config.Batch is 0.
const DefaultBatch = 256

// Config describes one capture. Only Interface and Output are required.
type Config struct {
	// Interface is the name of the network interface to capture on, or
	// AnyInterface for all of them.
	Interface string
	// Output is the pcap file name; its sidecar is sidecar.PathFor(Output)
	// (Output + ".gaps"). With rotation the later files are Output1,
	// Output2, ... (tcpdump -C naming), each with its own sidecar.
	Output string
	// Snaplen is the number of bytes kept of each frame (tcpdump -s);
	// 0 means DefaultSnaplen.
	Snaplen int
	// BufferKiB sizes the kernel's buffer for frames the recorder has not
	// yet read, in the units of tcpdump -B (KiB of its ring), so that the
	// same -B buffers at least as many frames in gapan as in tcpdump: the
	// socket receive buffer is set to 6 × BufferKiB KiB (SO_RCVBUFFORCE,
	// not capped by net.core.rmem_max), because the kernel charges a
	// queued frame far more than its bytes. 0 means DefaultBufferKiB; at
	// most 349525 (a 2 GiB socket buffer, the kernel's limit).
	BufferKiB int
	// Promisc puts the interface into promiscuous mode for the capture
	// (tcpdump's default; -p disables it).
	Promisc bool
	// Count stops the capture after this many frames (tcpdump -c); 0 means
	// no limit.
	Count uint64
	// RotateMB starts a new file when the current one would exceed this
	// many million bytes (tcpdump -C); 0 disables it.
	RotateMB int
	// RotateEvery starts a new file when the current one is this old
	// (tcpdump -G); the check happens when a frame arrives. 0 disables it.
	RotateEvery time.Duration
	// MaxFiles limits the number of files (tcpdump -W): with RotateMB the
	// files form a ring, the next file after the last overwriting the
	// first (with its sidecar); with RotateEvery alone the capture stops
	// when the last file is full. The files are then numbered from 0 with
	// leading zeros: Output0, Output1, ... (Output00 ... for 11 to 100
	// files; Output alone for 1). 0 means no limit; it needs RotateMB or
	// RotateEvery.
	MaxFiles int
	// Duration stops the capture after this long; 0 means no limit.
	Duration time.Duration
	// Filter is a capture filter in tcpdump syntax, compiled with
	// CompileFilter (needs the tcpdump program). Empty means no filter.
	Filter string
	// FilterProgram is an already compiled classic BPF program; it takes
	// precedence over Filter. See ParseBPF.
	FilterProgram []BPFInstruction
	// Batch is the number of frames received per recvmmsg call; 0 means
	// DefaultBatch, 1 receives with plain recvmsg.
	Batch int
	// Holdoff is the longest the receiver waits, after a receive that
	// emptied the kernel's queue (fewer than Batch frames) while traffic
	// flows (at least 4 frames since it last waited), before it receives
	// again: frames gather in the
	// kernel's buffer and come in one call instead of one wake-up each,
	// which is most of the recorder's CPU time (tcpdump's ring likewise
	// wakes it once per block). The wait is shortened so that at the rate
	// seen since it last waited at most 256 frames (one batch), and at most a quarter of
	// the socket buffer at 2 KiB a frame, arrive meanwhile; with a buffer
	// under 32 KiB there is no wait. Frames waiting in the socket stay
	// charged to the socket that sent them (a local sender's send buffer
	// holds about 270 small frames), so a longer wait slows a sender on
	// the same host. 0 means DefaultHoldoff; negative disables it.
	Holdoff time.Duration
	// FlushEvery bounds how long a received frame waits before the writer
	// gets it: FlushEvery plus the wait for frames (100 ms, or FlushEvery
	// if shorter) and the hold-off (at most Holdoff). The writer gets
	// frames sooner in chunks of 1 MiB or 4,096 frames;
	// each chunk is written to the pcap and then its gaps to the sidecar,
	// so a killed recorder leaves both readable up to the last chunk
	// written. 0 means DefaultFlushEvery (100 ms).
	FlushEvery time.Duration
	// Overwrite allows existing output files to be replaced (--force):
	// without it, Run refuses to start if the pcap, its sidecar or, with
	// MaxFiles, any file of the ring exists, and a rotation stops the
	// capture with ErrExists rather than replace a file.
	Overwrite bool
	// IgnoreOutgoing drops frames sent by this host (PACKET_IGNORE_OUTGOING)
	// before they reach the socket.
	IgnoreOutgoing bool
	// Started, if set, is called once the socket is bound and frames are
	// being queued for the recorder, before the first receive.
	Started func()
	// Progress, if set, receives what gapan record prints on standard
	// error: a warning that "any" has no promiscuous mode (when Promisc
	// asks for it), where the capture listens and writes once it has
	// started, a line per rotated or finished file, and at the end, when
	// any file was written, the summary (Stats.WriteSummary).
	Progress io.Writer
}

// Stats are the totals of a capture, summed over all rotated files.
type Stats struct {
	// Frames is the number of frames that reached the pcap file(s); when a
	// write fails (a full disk) it counts the frames the files hold, not
	// those received.
	Frames uint64
	// GapEvents is the number of captured frames that had a non-zero gap
	// before them (sidecar records).
	GapEvents uint64
	// GapFrames is the sum of those gaps.
	GapFrames uint64
	// TailGap is the number of frames the kernel dropped after the last
	// captured frame.
	TailGap uint64
	// KernelPackets is the kernel's count of frames that passed the filter,
	// dropped ones included (PACKET_STATISTICS tp_packets, as tcpdump's
	// "packets received by filter").
	KernelPackets uint64
	// KernelDrops is the kernel's count of frames dropped because the
	// socket's receive buffer was full (PACKET_STATISTICS tp_drops).
	KernelDrops uint64
	// RecorderDrops is the number of frames the recorder took from the
	// kernel but dropped itself because its queue to the writer was full
	// (32 MiB of frames the disk had not taken yet). They are loss like
	// the kernel's: each counts in the gap of the next frame written (or
	// the tail), so GapFrames + TailGap = KernelDrops + RecorderDrops.
	RecorderDrops uint64
	// Files lists the pcap files that hold the capture, oldest first: all
	// files written, or with MaxFiles ring the ones not overwritten.
	Files []string
	// LinkType is the pcap link type of the capture.
	LinkType uint32
}

// BPFInstruction is one classic BPF instruction, laid out as struct
// sock_filter and printed by `tcpdump -ddd` as "code jt jf k".
type BPFInstruction struct {
	Code uint16
	Jt   uint8
	Jf   uint8
	K    uint32
}

// maxBPFLen is the kernel's BPF_MAXINSNS.
const maxBPFLen = bpfcompile.MaxLen

// ParseBPF parses a classic BPF program in the decimal form printed by
// `tcpdump -ddd`: an instruction count followed by one "code jt jf k"
// line per instruction. Lines may also be separated by commas, as in
// iptables' and tc's bpf bytecode arguments ("4,48 0 0 9,21 0 1 17,...").
func ParseBPF(text string) ([]BPFInstruction, error) {
	raw, err := bpfcompile.Parse(text)
	if err != nil {
		return nil, err
	}
	return fromRaw(raw), nil
}

// fromRaw converts x/net/bpf's raw instructions into BPFInstructions.
func fromRaw(raw []bpf.RawInstruction) []BPFInstruction {
	prog := make([]BPFInstruction, len(raw))
	for i, r := range raw {
		prog[i] = BPFInstruction{Code: r.Op, Jt: r.Jt, Jf: r.Jf, K: r.K}
	}
	return prog
}

// FileName returns the name of the index-th file of a capture (0-based),
// following tcpdump -C: out, out1, out2, ...; with maxFiles (-W) the index
// wraps and every name has a number with as many digits as maxFiles-1:
// out0 ... out9 for 10 files, out00 ... out99 for 100, just out for 1.
func FileName(out string, index, maxFiles int) string {
	if maxFiles == 1 {
		return out // tcpdump: no digits for a single file
	}
	if maxFiles > 0 {
		n := strconv.Itoa(index % maxFiles)
		width := len(strconv.Itoa(max(maxFiles-1, 0)))
		return out + strings.Repeat("0", width-len(n)) + n
	}
	if index == 0 {
		return out
	}
	return out + strconv.Itoa(index)
}

func normalize(cfg *Config) error {
	if cfg.Interface == "" {
		return fmt.Errorf("%w: no interface", ErrConfig)
	}
	if cfg.Output == "" {
		return fmt.Errorf("%w: no output file", ErrConfig)
	}
	if cfg.Output == "-" {
		return fmt.Errorf("%w: the recorder writes a pcap and its sidecar and cannot write to stdout", ErrConfig)
	}
	if strings.HasSuffix(cfg.Output, ".gaps") {
		return fmt.Errorf("%w: %s is a sidecar name; the recorder writes the pcap (-w FILE) and FILE.gaps beside it", ErrConfig, cfg.Output)
	}
	if cfg.Snaplen == 0 {
		cfg.Snaplen = DefaultSnaplen
	}
	if cfg.Snaplen < 0 || cfg.Snaplen > DefaultSnaplen {
		return fmt.Errorf("%w: snaplen %d out of range 1..%d", ErrConfig, cfg.Snaplen, DefaultSnaplen)
	}
	if cfg.Interface == AnyInterface {
		// As libpcap: room for the LINUX_SLL2 header and a byte.
		cfg.Snaplen = max(cfg.Snaplen, sll2Len+1)
	}
	if cfg.BufferKiB == 0 {
		cfg.BufferKiB = DefaultBufferKiB
	}
	if cfg.BufferKiB < 0 || cfg.BufferKiB > maxBufferKiB {
		return fmt.Errorf("%w: buffer size %d KiB out of range 1..%d", ErrConfig, cfg.BufferKiB, maxBufferKiB)
	}
	if cfg.RotateMB < 0 || cfg.RotateEvery < 0 || cfg.Duration < 0 || cfg.FlushEvery < 0 || cfg.MaxFiles < 0 {
		return fmt.Errorf("%w: negative size, duration or file count", ErrConfig)
	}
	if cfg.MaxFiles > 0 && cfg.RotateMB == 0 && cfg.RotateEvery == 0 {
		return fmt.Errorf("%w: a file count (-W) needs rotation by size (-C) or time (-G)", ErrConfig)
	}
	if cfg.Batch == 0 {
		cfg.Batch = DefaultBatch
	}
	if cfg.Batch < 1 || cfg.Batch > 1024 {
		return fmt.Errorf("%w: batch %d out of range 1..1024", ErrConfig, cfg.Batch)
	}
	if cfg.FlushEvery == 0 {
		cfg.FlushEvery = DefaultFlushEvery
	}
	if cfg.Holdoff == 0 {
		cfg.Holdoff = DefaultHoldoff
	}
	return nil
}

// checkOutputs refuses to start when a file the capture would write exists
// (unless cfg.Overwrite): the first pcap and its sidecar, every member of a
// -W ring, and any rotated file (FILE1, FILE2, ...) of an earlier capture.
func checkOutputs(cfg *Config) error {
	if cfg.Overwrite {
		return nil
	}
	var names []string
	switch {
	case cfg.MaxFiles > 0:
		for i := range cfg.MaxFiles {
			names = append(names, FileName(cfg.Output, i, cfg.MaxFiles))
		}
	case cfg.RotateMB > 0 || cfg.RotateEvery > 0:
		names = append(names, cfg.Output)
		more, _ := filepath.Glob(globEscape(cfg.Output) + "[0-9]*")
		for _, m := range more {
			if n := strings.TrimSuffix(m, ".gaps"); isDigits(strings.TrimPrefix(n, cfg.Output)) {
				names = append(names, n)
			}
		}
	default:
		names = append(names, cfg.Output)
	}
	for _, n := range names {
		for _, f := range []string{n, sidecar.PathFor(n)} {
			if _, err := os.Lstat(f); err == nil {
				return fmt.Errorf("%w: %s exists (use --force to replace it)", ErrExists, f)
			}
		}
	}
	return nil
}

func globEscape(s string) string {
	var b strings.Builder
	for _, c := range s {
		if strings.ContainsRune(`*?[\`, c) {
			b.WriteByte('\\')
		}
		b.WriteRune(c)
	}
	return b.String()
}

func isDigits(s string) bool {
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return s != ""
}
