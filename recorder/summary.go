package recorder

import (
	"fmt"
	"io"
	"strings"
)

// WriteSummary writes the end-of-capture summary gapan record prints on
// standard error: tcpdump's three lines ("N packets captured", "N packets
// received by filter", "N packets dropped by kernel", worded and numbered
// as tcpdump prints them: no thousands separator, "1 packet"), the
// recorder's own drops when there were any, the gap figures, and, for a
// rotated capture, its files oldest first.
func (st Stats) WriteSummary(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%d %s captured\n", st.Frames, packets(st.Frames)) // what reached the file
	fmt.Fprintf(&b, "%d %s received by filter\n", st.KernelPackets, packets(st.KernelPackets))
	fmt.Fprintf(&b, "%d %s dropped by kernel\n", st.KernelDrops, packets(st.KernelDrops))
	if st.RecorderDrops > 0 {
		fmt.Fprintf(&b, "%d %s dropped by the recorder (the disk was slower than the traffic; counted in the gaps)\n", st.RecorderDrops, packets(st.RecorderDrops))
	}
	fmt.Fprintf(&b, "%d gap %s (%d %s lost before captured frames, %d after the last one)\n",
		st.GapEvents, plural(st.GapEvents, "event", "events"), st.GapFrames, plural(st.GapFrames, "frame", "frames"), st.TailGap)
	if len(st.Files) > 1 {
		fmt.Fprintf(&b, "files, oldest first (give them to gapan report in this order): %s\n", strings.Join(st.Files, " "))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func packets(n uint64) string { return plural(n, "packet", "packets") }

func plural(n uint64, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
