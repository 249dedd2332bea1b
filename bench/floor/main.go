//go:build linux

// Command floor is the least work any per-flow accounting of a capture can
// do, timed by bench/run.sh next to gapan report, to show where this
// machine's floor lies (docs/performance.md, "The floor"). It is no
// analyzer and is built to be optimistic:
//
//   - the file is mapped (MAP_POPULATE), so nothing is copied;
//   - it is cut in two at a record boundary found by resynchronising on the
//     record headers from the middle (no sequential walk to get there), and
//     each half runs on its own core with a flow table of its own, with no
//     communication at all (a real analyzer must see each flow's frames in
//     order on one core, so it would have to exchange frames);
//   - a frame is only keyed (IPv4 addresses and ports, ordered so that both
//     directions meet), hashed, looked up in an open-addressing table of
//     16-byte entries, and one 64-byte line of its flow's state is read and
//     written: no decoding beyond that, no sequence numbers, no output;
//   - the lookups are batched and prefetched as gapan's are: the table
//     entries of 64 frames are read in one pass, then the state lines they
//     lead to, then the lookups run, so that the cache misses of a batch
//     overlap (without it, on a capture whose frames pick their flow at
//     random, floor waited for each miss in turn and was no lower bound).
//
// Two flags make it less optimistic, closer to what an analyzer must do:
// -shard keeps each flow's frames in order on one core (both cores read
// every record header and each accounts the flows of its half of the hash
// space), and -lines N reads and writes N lines of the flow's state
// instead of one (gapan's accounting of a TCP segment touches about six:
// index entry, three of the flow record, the accounting, the direction's
// first line).
//
// It prints the frames, the IPv4 TCP/UDP frames keyed, the flow entries
// (a flow in both halves counts twice without -shard) and the wall time
// from open to the end; run.sh prints the time next to tcpdump's.
// Little-endian classic pcap only (what bench/gencap writes).
//
//	floor [-shard] [-lines N] FILE
package main

import (
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"
)

const (
	hdrLen  = 16 // pcap record header
	fileHdr = 24 // pcap file header
	resync  = 16 // consecutive valid headers that confirm a boundary
)

var (
	shard = flag.Bool("shard", false, "keep each flow on one core: both cores read every record, each accounts half the flows")
	lines = flag.Int("lines", 1, "64-byte lines of a flow's state read and written per frame (1 to 9)")
)

func main() {
	flag.Parse()
	if flag.NArg() != 1 || *lines < 1 || *lines > len(state{})/8 {
		fmt.Fprintln(os.Stderr, "usage: floor [-shard] [-lines 1..9] FILE")
		os.Exit(2)
	}
	res, err := run(flag.Arg(0))
	if err != nil {
		fmt.Fprintln(os.Stderr, "floor:", err)
		os.Exit(1)
	}
	fmt.Printf("%d frames %d keyed %d flows %.3f s\n", res.frames, res.keyed, res.flows, res.wall.Seconds())
}

type result struct {
	frames, keyed, flows int
	wall                 time.Duration
}

func run(name string) (result, error) {
	start := time.Now()
	f, err := os.Open(name)
	if err != nil {
		return result{}, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return result{}, err
	}
	if fi.Size() < fileHdr {
		return result{}, errors.New("not a pcap file")
	}
	data, err := syscall.Mmap(int(f.Fd()), 0, int(fi.Size()), syscall.PROT_READ, syscall.MAP_SHARED|syscall.MAP_POPULATE)
	if err != nil {
		return result{}, err
	}
	defer syscall.Munmap(data)
	var frac uint32
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4:
		frac = 1e6
	case 0xa1b23c4d:
		frac = 1e9
	default:
		return result{}, errors.New("not a little-endian classic pcap file")
	}
	snap := binary.LittleEndian.Uint32(data[16:])
	mid := boundary(data, len(data)/2, snap, frac)
	bounds := [3]int{fileHdr, mid, len(data)}
	if *shard {
		bounds = [3]int{fileHdr, fileHdr, len(data)}
	}
	var (
		wg    sync.WaitGroup
		parts [2]part
	)
	for w := range parts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if *shard {
				parts[w] = account(data, fileHdr, len(data), w)
			} else {
				parts[w] = account(data, bounds[w], bounds[w+1], -1)
			}
		}()
	}
	wg.Wait()
	var res result
	for _, p := range parts {
		if p.err != nil {
			return result{}, p.err
		}
		res.frames += p.frames
		res.keyed += p.keyed
		res.flows += p.flows
	}
	res.wall = time.Since(start)
	return res, nil
}

// valid reports whether a record header at off is plausible: its lengths
// fit the snapshot length and the file, its fraction is below a second.
func valid(data []byte, off int, snap, frac uint32) (next int, ok bool) {
	if off+hdrLen > len(data) {
		return 0, false
	}
	h := data[off:]
	usec := binary.LittleEndian.Uint32(h[4:])
	incl := binary.LittleEndian.Uint32(h[8:])
	orig := binary.LittleEndian.Uint32(h[12:])
	if usec >= frac || incl > snap || incl > orig || off+hdrLen+int(incl) > len(data) {
		return 0, false
	}
	return off + hdrLen + int(incl), true
}

// boundary finds the first record boundary at or after from: an offset
// from which resync headers chain (or the chain reaches the end of the
// file) with timestamps that do not go back. The cut is checked afterwards:
// the first half's walk must end exactly on it.
func boundary(data []byte, from int, snap, frac uint32) int {
	if from < fileHdr {
		from = fileHdr
	}
	for off := from; off < len(data); off++ {
		at, prev, n := off, uint32(0), 0
		for ; n < resync && at < len(data); n++ {
			next, ok := valid(data, at, snap, frac)
			sec := binary.LittleEndian.Uint32(data[at:])
			if !ok || sec < prev {
				break
			}
			prev, at = sec, next
		}
		if n == resync || at == len(data) {
			return off
		}
	}
	return len(data)
}

type part struct {
	frames, keyed, flows int
	err                  error
}

// entry is one slot of the open-addressing flow table.
type entry struct {
	addrs uint64 // the two IPv4 addresses, lower first
	ports uint32 // the two ports, in the addresses' order
	idx   int32  // 1 + index into state; 0 is empty
}

// state is what a flow keeps: the size of gapan's flow record, accounting
// and TCP state together (128 + 64 + 384 bytes), of which one line is used.
type state [576 / 8]uint64

// touch reads and writes the first word of -lines cache lines of s.
func touch(s *state) {
	for l := range *lines {
		s[l*8]++
	}
}

// batchLen is how many frames' lookups are prefetched together, as gapan's
// accounting does (loss.Engine.AddBatch): the table entries of the batch in
// one pass of independent loads, then the states they lead to, then the
// lookups themselves, which find everything in cache. The cache misses of
// a batch overlap instead of coming one after the other.
const batchLen = 64

// keyed is a frame's flow key and hash, waiting in a batch.
type keyed struct {
	addrs uint64
	ports uint32
	h     uint64
}

// accounter is one core's flow table.
type accounter struct {
	p     part
	table []entry
	flows []state
	batch []keyed
	sink  uint64
}

// account walks the records from byte from to byte to; with half 0 or 1
// it accounts only the flows whose hash falls in that half.
func account(data []byte, from, to, half int) part {
	a := &accounter{table: make([]entry, 1<<17), flows: make([]state, 0, 1<<16), batch: make([]keyed, 0, batchLen)}
	p := &a.p
	off := from
	for off < to {
		next := off + hdrLen + int(binary.LittleEndian.Uint32(data[off+8:]))
		if next > len(data) {
			p.err = fmt.Errorf("record at byte %d runs past the end of the file", off)
			return *p
		}
		d := data[off+hdrLen : next]
		off = next
		if half < 0 || half == 0 {
			p.frames++
		}
		if len(d) < 34 || d[12] != 0x08 || d[13] != 0x00 || (d[23] != 6 && d[23] != 17) {
			continue
		}
		l4 := 14 + int(d[14]&15)*4
		if len(d) < l4+4 {
			continue
		}
		src, dst := binary.BigEndian.Uint32(d[26:]), binary.BigEndian.Uint32(d[30:])
		sp, dp := binary.BigEndian.Uint16(d[l4:]), binary.BigEndian.Uint16(d[l4+2:])
		if src > dst || (src == dst && sp > dp) {
			src, dst, sp, dp = dst, src, dp, sp
		}
		addrs, ports := uint64(src)<<32|uint64(dst), uint32(sp)<<16|uint32(dp)
		h := addrs*0x9e3779b97f4a7c15 ^ uint64(ports)*0xc2b2ae3d27d4eb4f
		h ^= h >> 31
		if half >= 0 && int(h>>63) != half {
			continue
		}
		a.batch = append(a.batch, keyed{addrs, ports, h})
		if len(a.batch) == batchLen && !a.flush() {
			return *p
		}
	}
	if !a.flush() {
		return *p
	}
	if off != to {
		p.err = fmt.Errorf("the cut at byte %d is not a record boundary", to)
	}
	p.flows = len(a.flows)
	return *p
}

// flush looks up the batch's frames, after reading ahead what the lookups
// will touch; false on error (in a.p.err).
func (a *accounter) flush() bool {
	mask := uint64(len(a.table) - 1)
	var sink uint64
	for _, k := range a.batch {
		sink += a.table[k.h&mask].addrs
	}
	for _, k := range a.batch {
		if e := &a.table[k.h&mask]; e.idx != 0 {
			s := &a.flows[e.idx-1]
			for l := range *lines {
				sink += s[l*8]
			}
		}
	}
	a.sink += sink
	for _, k := range a.batch {
		for i := k.h & mask; ; i = (i + 1) & mask {
			e := &a.table[i]
			if e.idx == 0 {
				if 2*(len(a.flows)+1) > len(a.table) {
					a.p.err = errors.New("more than 65,536 flows in a half: floor is sized for the bench captures")
					return false
				}
				a.flows = append(a.flows, state{})
				*e = entry{k.addrs, k.ports, int32(len(a.flows))}
				touch(&a.flows[len(a.flows)-1])
				break
			}
			if e.addrs == k.addrs && e.ports == k.ports {
				touch(&a.flows[e.idx-1])
				break
			}
		}
		a.p.keyed++
	}
	a.batch = a.batch[:0]
	return true
}
