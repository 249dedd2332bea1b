package annotate

import (
	"bytes"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	"github.com/gapan/gapan/loss"
	"github.com/gapan/gapan/sidecar"
)

// TestFateLogSpill gives a fateLog fates out of frame order, as the
// accounting does, with a memory bound that makes it spill many sorted
// runs, and requires it to give back, frame by frame, exactly the fates
// told on each frame in the order they came: the truth is a plain list
// filtered per frame.
func TestFateLogSpill(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	const frames = 3000
	var all []loss.Fate
	for i := range 20000 {
		all = append(all, loss.Fate{
			Frame: 1 + uint64(rng.IntN(frames)), FlowID: uint64(i), Kind: loss.FateKind(1 + rng.IntN(7)),
			Resend: rng.IntN(2) == 0, Acked: rng.IntN(3) == 0, Evidence: loss.Evidence(rng.IntN(5)),
			Bytes: rng.Uint64(), Segments: rng.Uint64N(100), Gap: rng.Uint64(), GapLost: rng.Uint64(), Ref: rng.Uint64(),
		})
	}
	byFrameTruth := map[uint64][]loss.Fate{}
	for _, f := range all {
		byFrameTruth[f.Frame] = append(byFrameTruth[f.Frame], f)
	}
	for _, limit := range []int{1, 7, 1000, len(all) + 1} {
		l := &fateLog{limit: limit}
		for _, f := range all {
			l.add(f)
		}
		fr, err := l.reader()
		if err != nil {
			t.Fatal(err)
		}
		if limit <= len(all) && len(l.runs) < len(all)/limit {
			t.Errorf("limit %d: %d runs", limit, len(l.runs))
		}
		for frame := uint64(1); frame <= frames; frame++ {
			got, err := fr.take(frame)
			if err != nil {
				t.Fatal(err)
			}
			want := byFrameTruth[frame]
			if !reflect.DeepEqual(slices.Clone(got), want) && !(len(got) == 0 && len(want) == 0) {
				t.Fatalf("limit %d: frame %d: %d fates %v, want %d %v", limit, frame, len(got), got, len(want), want)
			}
		}
		if _, err := fr.take(1); err != errFateOrder {
			t.Errorf("limit %d: going back gave %v", limit, err)
		}
		l.close()
	}
}

// TestAnnotateStdinFates requires standard input, which the fates need
// read twice, to give the same frames, drop counts and comments as the
// file it comes from.
func TestAnnotateStdinFates(t *testing.T) {
	sim := simulatedCopy(t, "tls-subjectaltname.pcap", "burst:p=0.02,r=0.3", 5)
	fromFile := filepath.Join(t.TempDir(), "file.pcapng")
	if _, err := Run(Config{Inputs: []string{sim}, Output: fromFile}); err != nil {
		t.Fatal(err)
	}
	in, err := os.Open(sim)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	stdin := os.Stdin
	os.Stdin = in
	defer func() { os.Stdin = stdin }()
	fromStdin := filepath.Join(t.TempDir(), "stdin.pcapng")
	if _, err := Run(Config{Inputs: []string{"-"}, Sidecars: []string{sidecar.PathFor(sim)}, Output: fromStdin}); err != nil {
		t.Fatal(err)
	}
	fields := []string{"frame.number", "frame.drop_count", "frame.comment", "frame.md5_hash"}
	a, b := tshark(t, fromFile, "", fields...), tshark(t, fromStdin, "", fields...)
	if !reflect.DeepEqual(a, b) {
		t.Errorf("standard input gives other frames or comments than the file")
	}
	n := 0
	for _, r := range a {
		if len(r) > 2 && len(r[2]) > 0 {
			n++
		}
	}
	if fates := tshark(t, fromStdin, `frame.comment contains "gapan/1"`, "frame.number"); len(fates) == 0 {
		t.Errorf("no fates from standard input (%d commented frames)", n)
	}
}

// TestAnnotateNoFates requires --fates=false (NoFates) to write no fate,
// and the plugin to still show the gaps, from the drop counts alone, on
// exactly the frames tshark gives a drop count.
func TestAnnotateNoFates(t *testing.T) {
	sim := simulatedCopy(t, "ndpi-netflix.pcap", "uniform:0.03", 1)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	if _, err := Run(Config{Inputs: []string{sim}, Output: out, NoFates: true}); err != nil {
		t.Fatal(err)
	}
	if rows := tshark(t, out, `frame.comment contains "gapan/1" || frame.comment contains "segment"`, "frame.number"); len(rows) != 0 {
		t.Errorf("%d frames with fates", len(rows))
	}
	drops := tshark(t, out, "frame.drop_count > 0", "frame.number", "frame.drop_count")
	got := tsharkLua(t, out, "gapan.lost_before > 0", "frame.number", "gapan.lost_before")
	if len(drops) == 0 || !reflect.DeepEqual(got, drops) {
		t.Errorf("plugin gaps %v, tshark's drop counts %v", got, drops)
	}
	if rows := tsharkLua(t, out, "gapan.fate", "frame.number"); len(rows) != 0 {
		t.Errorf("%d frames with a gapan.fate", len(rows))
	}
}

// TestWriteSpilledFates requires an annotation whose fates are spilled,
// a few at a time, to be byte for byte the one kept in memory.
func TestWriteSpilledFates(t *testing.T) {
	sim := simulatedCopy(t, "tls-subjectaltname.pcap", "burst:p=0.02,r=0.3", 5)
	var inMem, spilled bytes.Buffer
	if _, err := Write(&inMem, Config{Inputs: []string{sim}}); err != nil {
		t.Fatal(err)
	}
	defer func(n int) { fateMemRecords = n }(fateMemRecords)
	fateMemRecords = 3
	if _, err := Write(&spilled, Config{Inputs: []string{sim}}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(inMem.Bytes(), spilled.Bytes()) {
		t.Errorf("spilled fates give another file (%d bytes, %d in memory)", spilled.Len(), inMem.Len())
	}
	if n := bytes.Count(inMem.Bytes(), []byte(RecordPrefix+" ")); n < 50 {
		t.Errorf("%d fate records: the case tests little", n)
	}
}

// TestFatesProgress requires the progress of a fates run to go once over
// each file, never back: the first pass over its first half, the writing
// pass over the second.
func TestFatesProgress(t *testing.T) {
	sim := simulatedCopy(t, "zeek-echo-connections.pcap", "uniform:0.01", 1)
	var last int64
	var calls int
	var size int64
	_, err := Write(io.Discard, Config{Inputs: []string{sim}, Progress: func(file int, bytesRead, sz int64, frames uint64) {
		if bytesRead < last || bytesRead > sz {
			t.Errorf("progress %d of %d after %d", bytesRead, sz, last)
		}
		last, size = bytesRead, sz
		calls++
	}})
	if err != nil {
		t.Fatal(err)
	}
	if calls < 2 || last <= size/2 {
		t.Errorf("%d calls, last at %d of %d", calls, last, size)
	}
}
