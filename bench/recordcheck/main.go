// Command recordcheck is bench/record.sh's truth checker. It reads a
// classic pcap written by a recorder while bench/udpsend sent N numbered
// datagrams, finds the sequence numbers in it (not trusting the recorder's
// own figures), and prints one line of key=value fields:
//
//	captured  datagrams in the pcap (distinct sequence numbers)
//	missing   N - captured: the true loss
//	holes     runs of missing numbers
//
// With -sidecar it also reads gapan's sidecar and checks that every (frame,
// gap) record sits exactly at a hole of that size before that frame, that
// no hole lacks a record, and that the tail gap is the hole after the last
// captured datagram:
//
//	sidecar   Σ gaps + tail
//	exact     yes or no (with the first mismatch on stderr)
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gapan/gapan/sidecar"
)

func main() {
	sent := flag.Uint64("n", 0, "datagrams sent")
	port := flag.Int("port", 9, "UDP destination port of the datagrams")
	side := flag.String("sidecar", "", "gapan sidecar to check against the holes")
	flag.Parse()
	if flag.NArg() != 1 || *sent == 0 {
		fmt.Fprintln(os.Stderr, "usage: recordcheck -n SENT [-port P] [-sidecar FILE.gaps] FILE.pcap")
		os.Exit(2)
	}
	frames, err := readSeqs(flag.Arg(0), uint16(*port))
	if err != nil {
		fmt.Fprintln(os.Stderr, "recordcheck:", err)
		os.Exit(1)
	}
	// holeBefore[i]: datagrams missing between frame i's datagram and the
	// previous captured one (frames that are not datagrams: -1).
	seen := make(map[uint64]bool, len(frames))
	holeBefore := make([]int64, len(frames))
	next, holes := uint64(0), 0
	for i, s := range frames {
		if s < 0 {
			holeBefore[i] = -1
			continue
		}
		u := uint64(s)
		seen[u] = true
		if u >= next {
			holeBefore[i] = int64(u - next)
			if u > next {
				holes++
			}
			next = u + 1
		}
	}
	tail := int64(0)
	if *sent > next {
		tail = int64(*sent - next)
		holes++
	}
	captured := uint64(len(seen))
	fmt.Printf("captured=%d missing=%d holes=%d", captured, *sent-captured, holes)
	if *side != "" {
		total, exact, why := checkSidecar(*side, holeBefore, tail)
		fmt.Printf(" sidecar=%d exact=%s", total, map[bool]string{true: "yes", false: "no"}[exact && total == *sent-captured])
		if why != "" {
			fmt.Fprintln(os.Stderr, "recordcheck:", why)
		}
	}
	fmt.Println()
}

func checkSidecar(name string, holeBefore []int64, tail int64) (total uint64, exact bool, why string) {
	f, err := os.Open(name)
	if err != nil {
		return 0, false, err.Error()
	}
	defer f.Close()
	r, err := sidecar.NewReaderName(bufio.NewReader(f), name)
	if err != nil {
		return 0, false, err.Error()
	}
	gapAt := map[uint64]uint64{}
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return total, false, err.Error()
		}
		gapAt[rec.Frame] = rec.Gap
		total += rec.Gap
	}
	t, ok := r.Trailer()
	if !ok {
		return total, false, "sidecar has no trailer"
	}
	var tailGap uint64
	for _, g := range t.Tail {
		tailGap += g.Lost
	}
	total += tailGap
	for i, h := range holeBefore {
		g := gapAt[uint64(i+1)]
		if h < 0 && g != 0 || h >= 0 && uint64(h) != g {
			return total, false, fmt.Sprintf("frame %d: sidecar gap %d, sequence hole %d", i+1, g, h)
		}
	}
	if int64(tailGap) != tail {
		return total, false, fmt.Sprintf("tail gap %d, sequence hole after the last datagram %d", tailGap, tail)
	}
	return total, true, ""
}

// readSeqs returns, per frame of a classic pcap of Ethernet frames, the
// sequence number of the udpsend datagram it holds, or -1.
func readSeqs(name string, port uint16) ([]int64, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := bufio.NewReaderSize(f, 1<<20)
	var fh [24]byte
	if _, err := io.ReadFull(r, fh[:]); err != nil {
		return nil, fmt.Errorf("%s: file header: %w", name, err)
	}
	var bo binary.ByteOrder
	switch binary.LittleEndian.Uint32(fh[:]) {
	case 0xa1b2c3d4, 0xa1b23c4d:
		bo = binary.LittleEndian
	case 0xd4c3b2a1, 0x4d3cb2a1:
		bo = binary.BigEndian
	default:
		return nil, fmt.Errorf("%s: not a classic pcap", name)
	}
	if lt := bo.Uint32(fh[20:]); lt != 1 {
		return nil, fmt.Errorf("%s: link type %d, want Ethernet", name, lt)
	}
	var out []int64
	var rh [16]byte
	buf := make([]byte, 0, 65536)
	for off := int64(24); ; {
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if err == io.EOF {
				return out, nil
			}
			// A recorder killed mid-write: keep the whole frames.
			return out, nil
		}
		capLen := bo.Uint32(rh[8:])
		if capLen > 1<<18 {
			return nil, fmt.Errorf("%s: frame %d at byte %d: caplen %d", name, len(out)+1, off, capLen)
		}
		buf = buf[:capLen]
		if _, err := io.ReadFull(r, buf); err != nil {
			return out, nil
		}
		off += 16 + int64(capLen)
		out = append(out, seqOf(buf, port))
	}
}

func seqOf(b []byte, port uint16) int64 {
	if len(b) < 14+20+8+16 || binary.BigEndian.Uint16(b[12:]) != 0x0800 {
		return -1
	}
	ihl := int(b[14]&0x0f) * 4
	if b[14+9] != 17 || len(b) < 14+ihl+8+16 {
		return -1
	}
	udp := b[14+ihl:]
	if binary.BigEndian.Uint16(udp[2:]) != port || string(udp[8:16]) != "GAPANSEQ" {
		return -1
	}
	return int64(binary.BigEndian.Uint64(udp[16:24]))
}
