// Command pcapgoloop is the reading library's own ceiling in bench/run.sh:
// a bare gopacket pcapgo ZeroCopyReadPacketData loop over a pcap file (or
// stdin), counting frames and bytes and nothing else.
package main

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/gopacket/gopacket/pcapgo"
)

func main() {
	var in io.Reader = os.Stdin
	if len(os.Args) > 1 && os.Args[1] != "-" {
		f, err := os.Open(os.Args[1])
		if err != nil {
			fmt.Fprintln(os.Stderr, "pcapgoloop:", err)
			os.Exit(1)
		}
		defer f.Close()
		in = f
	}
	r, err := pcapgo.NewReader(bufio.NewReaderSize(in, 1<<20))
	if err != nil {
		fmt.Fprintln(os.Stderr, "pcapgoloop:", err)
		os.Exit(1)
	}
	var frames, bytes uint64
	for {
		data, _, err := r.ZeroCopyReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "pcapgoloop:", err)
			os.Exit(1)
		}
		frames++
		bytes += uint64(len(data))
	}
	fmt.Printf("%d frames %d bytes\n", frames, bytes)
}
