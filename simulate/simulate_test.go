package simulate

import (
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
)

func TestParseModel(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want string
		err  bool
	}{
		{in: "uniform:0.01", want: "uniform:0.01"},
		{in: "burst:p=0.01,r=0.3", want: "burst:p=0.01,r=0.3,k=0,h=1"},
		{in: "burst:p=0.01,r=0.3,k=0.001,h=0.5", want: "burst:p=0.01,r=0.3,k=0.001,h=0.5"},
		{in: "list:1,5-7", want: "list:(4 frames)"},
		{in: "uniform:1.5", err: true},
		{in: "uniform:x", err: true},
		{in: "burst:p=0.1", err: true},
		{in: "burst:p=0.1,r=0.2,z=1", err: true},
		{in: "list:0", err: true},
		{in: "list:5-3", err: true},
		{in: "gauss:1", err: true},
		{in: "uniform", err: true},
	} {
		m, err := ParseModel(tc.in)
		if tc.err {
			if !errors.Is(err, ErrModel) {
				t.Errorf("%q: err = %v, want ErrModel", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if m.String() != tc.want {
			t.Errorf("%q: String() = %q, want %q", tc.in, m.String(), tc.want)
		}
	}
}

// TestBurstStatistics: the Gilbert model's loss rate is p/(p+r) and its
// mean burst length 1/r.
func TestBurstStatistics(t *testing.T) {
	m, _ := ParseModel("burst:p=0.01,r=0.25")
	rng := rand.New(rand.NewPCG(7, 7))
	const n = 2_000_000
	var lost, bursts int
	prev := false
	for i := uint64(1); i <= n; i++ {
		d := m.Drop(i, rng)
		if d {
			lost++
			if !prev {
				bursts++
			}
		}
		prev = d
	}
	rate := float64(lost) / n
	if want := 0.01 / (0.01 + 0.25); math.Abs(rate-want) > 0.003 {
		t.Errorf("loss rate %.4f, want %.4f", rate, want)
	}
	if mean := float64(lost) / float64(bursts); math.Abs(mean-4) > 0.2 {
		t.Errorf("mean burst %.2f frames, want 4", mean)
	}
}

// TestRunGroundTruth: the written sidecar says exactly which frames were
// deleted, the same seed deletes the same frames, and the input's own
// loss is carried over.
func TestRunGroundTruth(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join("..", "testdata", "corpus", "tls-subjectaltname.pcap")
	m, _ := ParseModel("uniform:0.05")
	out := filepath.Join(dir, "a.pcap")
	st, err := Run(Config{Input: in, Output: out, Model: m, Seed: 42})
	if err != nil {
		t.Fatal(err)
	}
	if st.FramesIn != 3138 || st.FramesOut+st.Dropped != st.FramesIn || st.Lost != st.Dropped {
		t.Fatalf("stats %+v", st)
	}
	sum := func(path string) (frames, lost uint64) {
		frames, lost, _ = joined(t, path)
		return frames, lost
	}
	frames, lost := sum(out)
	if frames != st.FramesOut || lost != st.Dropped {
		t.Fatalf("joined: %d frames, %d lost; want %d, %d", frames, lost, st.FramesOut, st.Dropped)
	}
	// Same seed, same result, byte for byte.
	out2 := filepath.Join(dir, "b.pcap")
	if _, err := Run(Config{Input: in, Output: out2, Model: m, Seed: 42}); err != nil {
		t.Fatal(err)
	}
	a, _ := os.ReadFile(out)
	b, _ := os.ReadFile(out2)
	if string(a) != string(b) {
		t.Error("same seed gave different captures")
	}
	// Thinning the thinned capture again adds the new drops to the
	// carried-over ones.
	out3 := filepath.Join(dir, "c.pcap")
	st3, err := Run(Config{Input: out, Output: out3, Model: m, Seed: 43})
	if err != nil {
		t.Fatal(err)
	}
	if _, lost3 := sum(out3); lost3 != st.Dropped+st3.Dropped {
		t.Errorf("twice thinned: %d lost, want %d + %d", lost3, st.Dropped, st3.Dropped)
	}
	// Outputs are never the input, and exist only when complete.
	if _, err := Run(Config{Input: out, Output: out, Model: m, Seed: 1, Force: true}); err == nil {
		t.Error("writing over the input was allowed")
	}
	r, _ := os.Open(sidecar.PathFor(out3))
	defer r.Close()
	sr, err := sidecar.NewReader(r)
	if err != nil || sr.Header().Source != sidecar.SourceSimulated {
		t.Errorf("sidecar header: %v, %v", sr, err)
	}
}

// joined reads path with its sidecar through join and returns the frames,
// the frames lost (gaps and tail) and join's warnings.
func joined(t *testing.T, path string) (frames, lost uint64, warnings []join.Warning) {
	t.Helper()
	s, err := join.Open([]string{path}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		frames++
		lost += f.GapBefore
	}
	return frames, lost + s.Files()[0].TailTotal(), s.Warnings()
}

// TestSummary: the words gapan simulate prints.
func TestSummary(t *testing.T) {
	st := Stats{FramesIn: 1500, FramesOut: 1480, Dropped: 20, Lost: 21, GapEvents: 1, Tail: 3}
	if got := st.Summary(); got != "1,500 frames in, 1480 written, 20 dropped by the model; sidecar: 1 gap event, 21 frames lost (tail 3)" {
		t.Errorf("%q", got)
	}
}
