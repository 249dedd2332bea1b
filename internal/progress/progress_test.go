package progress

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		name string
		s    Status
		want string
	}{
		{"start", Status{Label: "report"}, "gapan report: 0 frames"},
		{"unknown size", Status{Label: "report", Frames: 1234567, Bytes: 50_000_000, Elapsed: 2 * time.Second},
			"gapan report: 1,234,567 frames  25.0 MB/s"},
		{"known size", Status{Label: "parquet", Frames: 65536, Bytes: 30_000_000, Total: 120_000_000, Elapsed: 3 * time.Second},
			"gapan parquet: 65,536 frames  10.0 MB/s  25%  ETA 0:09"},
		{"hours", Status{Label: "annotate", Frames: 999, Bytes: 1_000_000, Total: 10_000_000_000, Elapsed: time.Second},
			"gapan annotate: 999 frames  1.0 MB/s  0%  ETA 2:46:39"},
		{"no eta before a second", Status{Frames: 100, Bytes: 500_000, Total: 1_000_000, Elapsed: 500 * time.Millisecond},
			"gapan: 100 frames  1.0 MB/s  50%"},
		{"past the end (compressed input)", Status{Label: "report", Frames: 10, Bytes: 2_000_000, Total: 1_000_000, Elapsed: 2 * time.Second},
			"gapan report: 10 frames  1.0 MB/s  100%  ETA 0:00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Format(tc.s); got != tc.want {
				t.Errorf("Format = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestThousands(t *testing.T) {
	for n, want := range map[uint64]string{0: "0", 999: "999", 1000: "1,000", 65536: "65,536", 1234567890: "1,234,567,890"} {
		if got := thousands(n); got != want {
			t.Errorf("thousands(%d) = %q, want %q", n, got, want)
		}
	}
}

// fakeClock returns a Now that starts at t0 and moves by step per call.
func fakeClock(step time.Duration) func() time.Time {
	t := time.Unix(1_700_000_000, 0)
	return func() time.Time {
		now := t
		t = t.Add(step)
		return now
	}
}

func TestMeterFilesRedrawsAndErases(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "report")
	m.Now = fakeClock(time.Second)
	m.Start() // t=0
	cb := m.Files([]int64{10_000_000, 30_000_000})
	cb(0, 5_000_000, 10_000_000, 65536)   // t=1s: 5 of 40 MB
	cb(1, 15_000_000, 30_000_000, 131072) // t=2s: file 0 done (10) + 15 = 25 of 40 MB
	m.Done()
	got := out.String()
	want := "\rgapan report: 65,536 frames  5.0 MB/s  12%  ETA 0:07" +
		"\rgapan report: 131,072 frames  12.5 MB/s  62%  ETA 0:02" + strings.Repeat(" ", 0) +
		"\r" + strings.Repeat(" ", len("gapan report: 131,072 frames  12.5 MB/s  62%  ETA 0:02")) + "\r"
	if got != want {
		t.Errorf("output\n%q\nwant\n%q", got, want)
	}
}

func TestMeterRateLimitAndPadding(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "x")
	m.Now = fakeClock(100 * time.Millisecond)
	m.Interval = 250 * time.Millisecond
	m.Start()                    // t=0
	m.Update(1_000_000, 100, -1) // t=0.1: first draw
	m.Update(2_000_000, 200, -1) // t=0.2: too soon
	m.Update(3_000_000, 300, -1) // t=0.3: too soon (0.2 since last)
	m.Update(4, 400, -1)         // t=0.4: drawn, shorter line padded
	lines := strings.Split(out.String(), "\r")[1:]
	if len(lines) != 2 {
		t.Fatalf("drew %d lines, want 2: %q", len(lines), out.String())
	}
	if !strings.HasPrefix(lines[0], "gapan x: 1,000,000 frames") || !strings.HasPrefix(lines[1], "gapan x: 4 frames") {
		t.Errorf("lines %q", lines)
	}
	if len(lines[1]) != len(lines[0]) {
		t.Errorf("shorter line not padded to erase the longer one: %q", lines)
	}
}

func TestMeterParallelSums(t *testing.T) {
	var out bytes.Buffer
	m := New(&out, "parquet")
	m.Now = fakeClock(time.Second)
	m.Interval = 0
	m.Start()
	cb := m.Parallel([]int64{1_000_000, -1})
	cb(0, 500_000, 1_000_000, 10)
	cb(1, 500_000, -1, 20)
	lines := strings.Split(out.String(), "\r")[1:]
	// The second file's size is unknown: no percent, frames and bytes summed.
	if want := "gapan parquet: 30 frames  0.5 MB/s"; lines[1] != want {
		t.Errorf("got %q, want %q", lines[1], want)
	}
}

func TestNilMeter(t *testing.T) {
	var m *Meter
	m.Update(1, 2, 3)
	m.Start()
	m.Done()
	if m.Files(nil) != nil || m.Parallel(nil) != nil {
		t.Error("a nil Meter returned a callback")
	}
}

func TestForTerminal(t *testing.T) {
	f, err := os.CreateTemp(t.TempDir(), "stderr")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if m := ForTerminal(f, false, "report"); m != nil {
		t.Error("a regular file counted as a terminal")
	}
	if m := ForTerminal(os.Stderr, true, "report"); m != nil {
		t.Error("--quiet still draws progress")
	}
}

func TestSizes(t *testing.T) {
	got := Sizes([]string{"-", "progress.go", "no-such-file", "."})
	st, _ := os.Stat("progress.go")
	if got[0] != -1 || got[1] != st.Size() || got[2] != -1 || got[3] != -1 {
		t.Errorf("Sizes = %v", got)
	}
}
