package recorder

import (
	"strings"
	"testing"
)

// TestWriteSummary pins the summary's lines: tcpdump's wording and
// numbers (no thousands separator, "1 packet"), then the gap figures.
func TestWriteSummary(t *testing.T) {
	for _, tc := range []struct {
		st   Stats
		want string
	}{
		{Stats{Frames: 2297, KernelPackets: 3213, KernelDrops: 916, GapEvents: 65, GapFrames: 915, TailGap: 1},
			"2297 packets captured\n3213 packets received by filter\n916 packets dropped by kernel\n65 gap events (915 frames lost before captured frames, 1 after the last one)\n"},
		{Stats{Frames: 1, KernelPackets: 1, GapEvents: 1, GapFrames: 1, RecorderDrops: 1, Files: []string{"a.pcap", "a.pcap1"}},
			"1 packet captured\n1 packet received by filter\n0 packets dropped by kernel\n1 packet dropped by the recorder (the disk was slower than the traffic; counted in the gaps)\n1 gap event (1 frame lost before captured frames, 0 after the last one)\nfiles, oldest first (give them to gapan report in this order): a.pcap a.pcap1\n"},
	} {
		var b strings.Builder
		if err := tc.st.WriteSummary(&b); err != nil {
			t.Fatal(err)
		}
		if b.String() != tc.want {
			t.Errorf("summary:\n%s\nwant:\n%s", b.String(), tc.want)
		}
	}
}
