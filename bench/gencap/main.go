// Command gencap writes the benchmark captures of bench/run.sh: either a
// generated Ethernet/IPv4/TCP capture (internal/synth: concurrent flows
// visited in round-robin, uniform random or Zipf order, two data segments
// with correct sequence numbers then a pure ACK), or a real capture repeated with time shifts until it reaches a
// size. It writes to stdout by default, so a 10 GB capture can be streamed
// through a pipe without touching the disk.
//
//	gencap -flows 50000 -frames 3000000 -payload 500 -order uniform -o big.pcap
//	gencap -flows 50000 -frames 18000000 | gapan report --format json -
//	gencap -repeat testdata/corpus/tls-subjectaltname.pcap -bytes 1e9 -o real.pcap
package main

import (
	"bufio"
	"encoding/binary"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/gapan/gapan/internal/synth"
)

func main() {
	var (
		flows     = flag.Int("flows", 50000, "concurrent flows")
		frames    = flag.Int("frames", 3000000, "frames to write")
		payload   = flag.Int("payload", 500, "payload bytes per data segment")
		ackEvery  = flag.Int("ack-every", 2, "a pure ACK after this many data segments")
		handshake = flag.Bool("handshake", false, "start each flow with a SYN, SYN/ACK, ACK (default: all flows live from the first frame)")
		seed      = flag.Uint64("seed", 1, "random seed")
		order     = flag.String("order", "roundrobin", "how frames pick their flow: roundrobin (frame n: flow n mod flows; the best case for a flow table), uniform (at random) or zipf (heavy-tailed flow sizes)")
		zipfS     = flag.Float64("zipf-s", 1.2, "with -order zipf: the exponent s > 1")
		repeat    = flag.String("repeat", "", "repeat this pcap (microsecond or nanosecond, either byte order) with time shifts instead of generating")
		bytes     = flag.Float64("bytes", 1e9, "with -repeat: write at least this many bytes")
		out       = flag.String("o", "-", "output `FILE` (- is stdout)")
	)
	flag.Parse()
	ord, err := synth.ParseOrder(*order)
	if err != nil {
		fatal(err)
	}
	var w io.Writer = os.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			fatal(err)
		}
		defer f.Close()
		w = f
	}
	if *repeat != "" {
		err = repeatPcap(w, *repeat, int64(*bytes))
	} else {
		_, err = synth.Generate(w, synth.Config{Flows: *flows, Frames: *frames, Payload: *payload, AckEvery: *ackEvery,
			Handshake: *handshake, Seed: *seed, StartNs: 1_700_000_000_000_000_000, Order: ord, ZipfS: *zipfS}, false)
	}
	if err != nil {
		fatal(err)
	}
}

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "gencap:", err)
	os.Exit(1)
}

// repeatPcap writes the records of the pcap file name over and over, each
// copy shifted in time to start just after the previous one ended, until at
// least size bytes are written. Repeated copies keep their 5-tuples, so a
// copy continues the flows of the last one (a new TCP connection only where
// the capture holds a SYN).
func repeatPcap(w io.Writer, name string, size int64) error {
	data, err := os.ReadFile(name)
	if err != nil {
		return err
	}
	if len(data) < 24 {
		return errors.New("not a pcap file")
	}
	var bo binary.ByteOrder
	var nanos bool
	switch binary.LittleEndian.Uint32(data) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nanos = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nanos = binary.BigEndian, true
	default:
		return errors.New("not a pcap file (pcapng is not supported)")
	}
	unit := int64(1000)
	if nanos {
		unit = 1
	}
	type rec struct {
		ns   int64
		body []byte // record header's lengths and the frame
	}
	var recs []rec
	for off := 24; off+16 <= len(data); {
		n := int(bo.Uint32(data[off+8:]))
		if off+16+n > len(data) {
			break
		}
		ns := int64(bo.Uint32(data[off:]))*1e9 + int64(bo.Uint32(data[off+4:]))*unit
		recs = append(recs, rec{ns: ns, body: data[off+8 : off+16+n]})
		off += 16 + n
	}
	if len(recs) == 0 {
		return errors.New("no records")
	}
	span := recs[len(recs)-1].ns - recs[0].ns + 1_000_000
	bw := bufio.NewWriterSize(w, 1<<20)
	hdr := append([]byte(nil), data[:24]...)
	if _, err := bw.Write(hdr); err != nil {
		return err
	}
	written := int64(24)
	var h [8]byte
	for copyN := int64(0); written < size; copyN++ {
		shift := copyN * span
		for _, r := range recs {
			ns := r.ns + shift
			bo.PutUint32(h[0:], uint32(ns/1e9))
			bo.PutUint32(h[4:], uint32(ns%1e9/unit))
			bw.Write(h[:])
			if _, err := bw.Write(r.body); err != nil {
				return err
			}
			written += int64(8 + len(r.body))
		}
	}
	return bw.Flush()
}
