//go:build linux

package recorder

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"github.com/gapan/gapan/internal/testenv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// pcapFrame is one record of a pcap file, read back by readPcap.
type pcapFrame struct {
	tsNs    int64
	data    []byte
	origLen int
}

// readPcap parses a little-endian nanosecond pcap written by the recorder.
func readPcap(t testing.TB, name string) (linkType, snaplen uint32, frames []pcapFrame) {
	t.Helper()
	b, err := os.ReadFile(name)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < 24 || binary.LittleEndian.Uint32(b) != pcapMagicNanos {
		t.Fatalf("%s: not a little-endian nanosecond pcap", name)
	}
	snaplen, linkType = binary.LittleEndian.Uint32(b[16:]), binary.LittleEndian.Uint32(b[20:])
	for off := 24; off < len(b); {
		if len(b)-off < 16 {
			t.Fatalf("%s: cut record header at %d", name, off)
		}
		h := b[off : off+16]
		capLen := int(binary.LittleEndian.Uint32(h[8:]))
		if capLen > len(b)-off-16 {
			t.Fatalf("%s: cut record at %d", name, off)
		}
		frames = append(frames, pcapFrame{
			tsNs:    int64(binary.LittleEndian.Uint32(h[0:]))*1e9 + int64(binary.LittleEndian.Uint32(h[4:])),
			data:    b[off+16 : off+16+capLen],
			origLen: int(binary.LittleEndian.Uint32(h[12:])),
		})
		off += 16 + capLen
	}
	return linkType, snaplen, frames
}

// readGaps reads a sidecar completely; trailer is nil if it has none.
func readGaps(t testing.TB, name string) (sidecar.Header, map[uint64]uint64, *sidecar.Trailer, error) {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sidecar.NewReaderName(f, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	gaps := map[uint64]uint64{}
	for {
		rec, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r.Header(), gaps, nil, err
		}
		gaps[rec.Frame] = rec.Gap
	}
	tr, ok := r.Trailer()
	if !ok {
		t.Fatalf("%s: io.EOF without trailer", name)
	}
	return r.Header(), gaps, &tr, nil
}

// udpSeq returns the sequence number of a test datagram in an Ethernet
// frame, or ok=false for any other frame.
func udpSeq(frame []byte) (seq uint32, ok bool) {
	return udpSeqLink(linkTypeEthernet, frame)
}

// udpSeqLink is udpSeq for a frame of an Ethernet or a LINUX_SLL2 capture.
func udpSeqLink(linkType uint32, frame []byte) (seq uint32, ok bool) {
	head, proto := 14, 12 // Ethernet
	if linkType == linkTypeSLL2 {
		head, proto = sll2Len, 0
	}
	if len(frame) < head+20+8+8 || binary.BigEndian.Uint16(frame[proto:]) != 0x0800 {
		return 0, false
	}
	ip := frame[head:]
	ihl := int(ip[0]&0x0f) * 4
	if ip[9] != 17 || len(ip) < ihl+8+8 {
		return 0, false
	}
	payload := ip[ihl+8:]
	if !bytes.Equal(payload[:4], seqMagic[:]) {
		return 0, false
	}
	return binary.BigEndian.Uint32(payload[4:]), true
}

// seqResult sums what verifySeq found in a set of rotated files.
type seqResult struct {
	frames, gapEvents, sumGaps, tail, kernelDrops, kernelPackets uint64
	last                                                         []pcapFrame // frames of the last file
}

// verifySeq checks pcap files (in rotation order) and their sidecars
// against the sequence numbers of the test datagrams, count of which were
// sent: the gap before every captured datagram, the first of each file
// included, equals the sequence numbers skipped since the previous captured
// one; only the last file has a tail gap, equal to the numbers after the
// last captured one; and every gap plus the tail equals the datagrams not
// captured.
func verifySeq(t *testing.T, files []string, count int) seqResult {
	t.Helper()
	return verifySeqLink(t, files, count, linkTypeEthernet)
}

// verifySeqLink is verifySeq for captures of the given link type.
func verifySeqLink(t *testing.T, files []string, count int, wantLink uint32) seqResult {
	t.Helper()
	var res seqResult
	next := uint32(0) // sequence number expected if nothing was lost
	for fi, name := range files {
		linkType, snaplen, frames := readPcap(t, name)
		hdr, gaps, tr, err := readGaps(t, sidecar.PathFor(name))
		if err != nil {
			t.Fatalf("%s: %v", sidecar.PathFor(name), err)
		}
		if linkType != wantLink || snaplen != DefaultSnaplen {
			t.Errorf("%s: link type %d snaplen %d, want %d and %d", name, linkType, snaplen, wantLink, DefaultSnaplen)
		}
		if len(frames) == 0 {
			t.Fatalf("%s: no frames", name)
		}
		if tr.Frames != uint64(len(frames)) {
			t.Errorf("%s: trailer says %d frames, pcap has %d", name, tr.Frames, len(frames))
		}
		want := sidecar.IdentityOf(wantLink, DefaultSnaplen, frames[0].tsNs, frames[0].data)
		if hdr.Identity != want || hdr.Source != sidecar.SourceKernel {
			t.Errorf("%s: sidecar header %+v, want source kernel, identity %+v", name, hdr, want)
		}
		var fileGaps uint64
		for i, f := range frames {
			seq, ok := udpSeqLink(wantLink, f.data)
			if !ok {
				t.Fatalf("%s frame %d is not a test datagram: % x", name, i+1, f.data[:min(len(f.data), 48)])
			}
			if seq < next {
				t.Fatalf("%s frame %d: sequence %d after %d: reordered or duplicated", name, i+1, seq, next-1)
			}
			if got, want := gaps[uint64(i+1)], uint64(seq-next); got != want {
				t.Errorf("%s frame %d (seq %d): sidecar gap %d, want %d", name, i+1, seq, got, want)
			}
			if seq != next {
				res.gapEvents++
			}
			fileGaps += uint64(seq - next)
			next = seq + 1
			if i > 0 && f.tsNs < frames[i-1].tsNs {
				t.Errorf("%s frame %d: timestamp %d before the previous %d", name, i+1, f.tsNs, frames[i-1].tsNs)
			}
			if f.origLen != len(f.data) {
				t.Errorf("%s frame %d: caplen %d origlen %d", name, i+1, len(f.data), f.origLen)
			}
		}
		if uint64(len(gaps)) > res.gapEvents {
			t.Errorf("%s: %d sidecar records, more than the gaps found", name, len(gaps))
		}
		if fi < len(files)-1 && tr.TailTotal() != 0 {
			t.Errorf("%s: tail gap %d in a file that is not the last", name, tr.TailTotal())
		}
		if !tr.HasKernel {
			t.Errorf("%s: trailer without kernel totals", name)
		}
		res.frames += uint64(len(frames))
		res.sumGaps += fileGaps
		res.kernelDrops += tr.KernelDrops
		res.kernelPackets += tr.KernelPackets
		res.last = frames
		checkPerm(t, name)
		checkPerm(t, sidecar.PathFor(name))
		if fi == len(files)-1 {
			res.tail = tr.TailTotal()
			if want := uint64(uint32(count) - next); res.tail != want {
				t.Errorf("%s: tail gap %d, want %d", name, res.tail, want)
			}
		}
	}
	if res.sumGaps+res.tail != uint64(count)-res.frames {
		t.Errorf("sequence gaps %d + tail %d != %d datagrams not captured", res.sumGaps, res.tail, uint64(count)-res.frames)
	}
	return res
}

// TestGroundTruth captures a burst of numbered UDP datagrams on a veth pair
// between two fresh network namespaces, with a receive buffer so small that
// the kernel drops, and checks the sidecar against the sequence numbers:
// every gap equals the numbers skipped, and gaps plus tail equal both the
// kernel's drop count and the datagrams not captured.
func TestGroundTruth(t *testing.T) {
	needRootAndIP(t)
	tests := []struct {
		name   string
		iface  string // "" is the receiving veth
		batch  int
		filter string
		count  int
	}{
		{name: "recvmmsg", batch: 64, count: 20000},
		{name: "recvmsg+filter", batch: 1, filter: "udp and dst port 9999", count: 20000},
		// -i any: a cooked socket on every interface of the namespace,
		// the filter compiled for raw IP.
		{name: "any", iface: AnyInterface, batch: 64, count: 20000},
		{name: "any+filter", iface: AnyInterface, batch: 1, filter: "udp and dst port 9999", count: 20000},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.filter != "" {
				if _, err := exec.LookPath("tcpdump"); err != nil {
					testenv.SkipOrFail(t, "compiling a capture filter needs tcpdump")
				}
			}
			const attempts = 3
			for attempt := 1; ; attempt++ {
				reason := groundTruthOnce(t, tc.iface, tc.batch, tc.filter, tc.count)
				if reason == "" {
					return
				}
				if attempt == attempts {
					t.Fatalf("no usable run in %d attempts: %s", attempts, reason)
				}
				t.Logf("attempt %d not usable (%s); retrying", attempt, reason)
			}
		})
	}
}

// groundTruthOnce runs one capture and checks it. It returns a reason when
// the run cannot prove anything (backlog drops outside the socket, or no
// drop at all) and fails the test on any wrong number.
func groundTruthOnce(t *testing.T, iface string, batch int, filter string, count int) string {
	p := newNSPair(t)
	out := filepath.Join(t.TempDir(), "gt.pcap")
	before := softnetDrops(t)
	st := p.capture(t, Config{
		Interface: iface, Output: out, BufferKiB: 1, Batch: batch, Filter: filter, Promisc: true, IgnoreOutgoing: true,
	}, "udp", count, 0, 64)
	if after := softnetDrops(t); after != before {
		return fmt.Sprintf("softnet_stat shows %d backlog drops the socket counter cannot see", after-before)
	}
	t.Logf("batch %d: %d sent, %d captured, %d dropped by kernel in %d gap events, tail %d",
		batch, count, st.Frames, st.KernelDrops, st.GapEvents, st.TailGap)
	if st.KernelDrops == 0 {
		return "the kernel dropped nothing, so the run proves nothing"
	}

	wantLink := uint32(linkTypeEthernet)
	if iface == AnyInterface {
		wantLink = linkTypeSLL2
	}
	if st.LinkType != wantLink {
		t.Errorf("Stats.LinkType %d, want %d", st.LinkType, wantLink)
	}
	v := verifySeqLink(t, st.Files, count, wantLink)
	if v.frames != st.Frames || v.gapEvents != st.GapEvents || v.sumGaps != st.GapFrames || v.tail != st.TailGap {
		t.Errorf("Stats %+v disagree with the files: %+v", st, v)
	}
	lost := uint64(count) - st.Frames
	if v.kernelDrops != lost || st.KernelDrops != lost {
		t.Errorf("kernel drops: trailers %d, Stats %d, want %d", v.kernelDrops, st.KernelDrops, lost)
	}
	if v.kernelPackets != uint64(count) || st.KernelPackets != uint64(count) {
		t.Errorf("kernel packets (received + dropped): trailers %d, Stats %d, want %d", v.kernelPackets, st.KernelPackets, count)
	}
	frames := v.last
	if tshark, err := exec.LookPath("tshark"); err == nil {
		// An independent reader agrees on the frame count and the
		// nanosecond resolution.
		outb, err := exec.Command(tshark, "-r", out, "-T", "fields", "-e", "frame.time_epoch").Output()
		if err != nil {
			t.Fatalf("tshark: %v", err)
		}
		lines := strings.Split(strings.TrimSpace(string(outb)), "\n")
		if len(lines) != len(frames) {
			t.Errorf("tshark reads %d frames, want %d", len(lines), len(frames))
		}
		wantTs := fmt.Sprintf("%d.%09d", frames[0].tsNs/1e9, frames[0].tsNs%1e9)
		if lines[0] != wantTs {
			t.Errorf("tshark: first timestamp %s, want %s", lines[0], wantTs)
		}
	}
	return ""
}

func checkPerm(t testing.TB, name string) {
	t.Helper()
	fi, err := os.Stat(name)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm()&0o022 != 0 {
		t.Errorf("%s: mode %v is group or world writable", name, fi.Mode().Perm())
	}
}
