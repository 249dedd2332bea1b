// Command udpsend sends numbered UDP datagrams at a given rate, for
// bench/record.sh: each payload starts with the magic "GAPANSEQ" and the
// datagram's sequence number (uint64, big-endian, from 0), so that
// bench/recordcheck can find in a capture exactly which datagrams are
// missing. It prints one line: datagrams sent, seconds, rate.
//
//	udpsend -dst 10.0.0.2:9 -n 300000 -size 64 -rate 50000
package main

import (
	"encoding/binary"
	"flag"
	"fmt"
	"net"
	"os"
	"time"
)

func main() {
	dst := flag.String("dst", "", "destination address:port")
	n := flag.Int("n", 300000, "datagrams to send")
	size := flag.Int("size", 64, "UDP payload bytes (at least 16)")
	rate := flag.Int("rate", 0, "datagrams per second (0 = as fast as possible)")
	flag.Parse()
	if *dst == "" || *size < 16 || *n < 1 {
		fmt.Fprintln(os.Stderr, "udpsend: -dst needed, -size at least 16, -n at least 1")
		os.Exit(2)
	}
	conn, err := net.Dial("udp", *dst)
	if err != nil {
		fmt.Fprintln(os.Stderr, "udpsend:", err)
		os.Exit(1)
	}
	buf := make([]byte, *size)
	copy(buf, "GAPANSEQ")
	start := time.Now()
	var interval time.Duration
	if *rate > 0 {
		interval = time.Second / time.Duration(*rate)
	}
	sent := 0
	for i := range *n {
		// Pace in steps of 32 datagrams: sleeping per datagram would cost
		// more than sending it.
		if interval > 0 && i%32 == 0 {
			if ahead := time.Duration(i)*interval - time.Since(start); ahead > 0 {
				time.Sleep(ahead)
			}
		}
		binary.BigEndian.PutUint64(buf[8:], uint64(i))
		// A full socket buffer (ENOBUFS) loses the datagram before any
		// capture sees it; send it again so that every number goes out.
		for {
			if _, err := conn.Write(buf); err == nil {
				break
			}
		}
		sent++
	}
	el := time.Since(start).Seconds()
	fmt.Printf("sent %d in %.3f s: %.0f/s\n", sent, el, float64(sent)/el)
}
