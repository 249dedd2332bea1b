package sidecar_test

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestCSketch compiles the C writer from docs/sidecar.md and checks that it
// produces exactly the bytes of the Go Writer: the page alone is enough to
// write a compatible recorder.
func TestCSketch(t *testing.T) {
	cc, err := exec.LookPath("cc")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("no C compiler (cc) in PATH")
		}
		t.Skip("no C compiler (cc) in PATH")
	}
	doc, err := os.ReadFile("../docs/sidecar.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile("(?s)## Writing it from C.*?```c\n(.*?)```").FindSubmatch(doc)
	if m == nil {
		t.Fatal("C sketch not found in docs/sidecar.md")
	}
	const main = `
int main(int argc, char **argv) {
    struct gaps g;
    FILE *f = fopen(argv[1], "wb");
    if (!f || gaps_open(&g, f, 3, 1, 65535, 1000, 0x01020304, 2000, "c-sketch")) return 1;
    uint64_t frame = 0;
    for (int i = 0; i < 10000; i++) {
        frame += 1 + (uint64_t)(i * 7919 % 300);
        if (gaps_add(&g, frame, 1 + (uint64_t)(i * 104729 % 1000))) return 2;
        if (i % 1000 == 999 && gaps_flush(&g)) return 3;
    }
    if (gaps_close(&g, frame + 10, 12, 1, 123456, 789)) return 4;
    return fclose(f) ? 5 : 0;
}
`
	dir := t.TempDir()
	src := filepath.Join(dir, "sketch.c")
	if err := os.WriteFile(src, append(m[1], main...), 0o644); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "sketch")
	if out, err := exec.Command(cc, "-std=c99", "-Wall", "-Werror", "-O2", "-o", bin, src).CombinedOutput(); err != nil {
		t.Fatalf("compiling the C sketch: %v\n%s", err, out)
	}
	outFile := filepath.Join(dir, "c.gaps")
	if out, err := exec.Command(bin, outFile).CombinedOutput(); err != nil {
		t.Fatalf("running the C sketch: %v\n%s", err, out)
	}
	got, err := os.ReadFile(outFile)
	if err != nil {
		t.Fatal(err)
	}

	var want bytes.Buffer
	w, err := sidecar.NewWriter(&want, sidecar.Header{Source: sidecar.SourceSimulated,
		Identity: sidecar.Identity{Known: true, LinkType: 1, SnapLen: 65535, FirstFrameNs: 1000, FirstFrameCRC: 0x01020304}, CreatedNs: 2000, Tool: "c-sketch"})
	if err != nil {
		t.Fatal(err)
	}
	var frame uint64
	for i := range 10000 {
		frame += 1 + uint64(i*7919%300)
		if err := w.Add(sidecar.Record{Frame: frame, Gap: 1 + uint64(i*104729%1000)}); err != nil {
			t.Fatal(err)
		}
		if i%1000 == 999 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(sidecar.Trailer{Frames: frame + 10, Tail: []sidecar.InterfaceGap{{0, 12}}, HasKernel: true, KernelPackets: 123456, KernelDrops: 789}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("C sketch wrote %d bytes, Go %d; first difference at byte %d", len(got), want.Len(), i)
	}
	f, err := decode(got)
	if err != nil || len(f.Records) != 10000 || f.Trailer.TailTotal() != 12 {
		t.Fatalf("reading the C output: %d records, %v", len(f.Records), err)
	}
}
