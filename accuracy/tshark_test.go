package accuracy

import (
	"bufio"
	"bytes"
	"errors"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/oracle"
	"github.com/gapan/gapan/internal/testenv"
	"github.com/gapan/gapan/simulate"
)

// TestOracleAgainstTshark checks the oracle itself against a second,
// independent reader: on every corpus capture thinned by 1 % uniform loss,
// each TCP flow where the oracle finds capture-lost bytes must be one where
// tshark flags a segment not captured (tcp.analysis.lost_segment) or an
// acknowledgement of unseen data (tcp.analysis.ack_lost_segment). Flows are
// joined by their first frame (tshark's tcp.stream).
func TestOracleAgainstTshark(t *testing.T) {
	tshark := testenv.NeedTool(t, "tshark")
	paths, err := filepath.Glob("../testdata/corpus/*.pcap*")
	if err != nil {
		t.Fatal(err)
	}
	var checked int
	for _, path := range append([]string{"../testdata/demo/demo.pcap"}, paths...) {
		c, err := oracle.Load(path)
		if errors.Is(err, oracle.ErrTruncated) && c.Frames() > 0 {
			path = readablePrefix(t, path)
			c, err = oracle.Load(path)
		}
		if err != nil {
			continue
		}
		rec := &recording{Model: simulate.Uniform{P: 0.01}, dropped: map[uint64]bool{}}
		out := filepath.Join(t.TempDir(), "damaged.pcap")
		if _, err := simulate.Run(simulate.Config{Input: path, Output: out, Model: rec, Seed: 1}); err != nil {
			continue // multi-interface captures: see TestAccuracy's table
		}
		kept := make([]uint64, 0, c.Frames())
		for n := uint64(1); n <= uint64(c.Frames()); n++ {
			if !rec.dropped[n] {
				kept = append(kept, n)
			}
		}
		cmd := exec.Command(tshark, "-r", out, "-Y", "tcp", "-T", "fields", "-E", "separator=,",
			"-e", "frame.number", "-e", "tcp.stream", "-e", "tcp.analysis.lost_segment", "-e", "tcp.analysis.ack_lost_segment")
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		raw, err := cmd.Output()
		if err != nil {
			t.Fatalf("%s: tshark: %v: %s", path, err, stderr.Bytes())
		}
		first := map[string]uint64{} // tcp.stream -> its first frame, original numbering
		flagged := map[uint64]bool{} // by first frame
		sc := bufio.NewScanner(bytes.NewReader(raw))
		for sc.Scan() {
			f := strings.Split(sc.Text(), ",")
			if len(f) < 4 {
				continue
			}
			n, err := strconv.ParseUint(f[0], 10, 64)
			if err != nil || n == 0 || n > uint64(len(kept)) {
				t.Fatalf("%s: tshark line %q", path, sc.Text())
			}
			if _, ok := first[f[1]]; !ok {
				first[f[1]] = kept[n-1]
			}
			if f[2] != "" || f[3] != "" {
				flagged[first[f[1]]] = true
			}
		}
		truth := c.Compute(rec.dropped)
		for _, fl := range truth.Flows {
			if fl.TCP == nil || fl.TCP.CaptureLostBytes == 0 {
				continue
			}
			checked++
			if !flagged[fl.FirstFrame] {
				t.Errorf("%s: the oracle finds %d capture-lost bytes on the TCP flow %v -> %v from original frame %d (deleted %v); tshark flags nothing missing there",
					filepath.Base(path), fl.TCP.CaptureLostBytes, fl.Src, fl.Dst, fl.FirstFrame, fl.DeletedFrames)
			}
		}
	}
	if checked < 20 {
		t.Fatalf("only %d flows with capture loss checked; the corpus is missing from ../testdata", checked)
	}
	t.Logf("%d TCP flows where the oracle finds capture loss checked against tshark", checked)
}
