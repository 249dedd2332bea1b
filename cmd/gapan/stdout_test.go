package main

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testfiles"
)

// execGapanIO runs gapan with stdin and stdout as given.
func execGapanIO(stdin *os.File, stdout *os.File, argv ...string) (string, error) {
	root := newRootCmd()
	var errb bytes.Buffer
	if stdin != nil {
		root.SetIn(stdin)
	}
	root.SetOut(stdout)
	root.SetErr(&errb)
	root.SetArgs(argv)
	err := root.Execute()
	return errb.String(), err
}

// TestSidecarImportToStdout: "import TEXT -o -" writes the binary sidecar
// to standard output (the demo's, byte for byte, from its text form), and
// "dump -" reads one from standard input.
func TestSidecarImportToStdout(t *testing.T) {
	dir := t.TempDir()
	txt := filepath.Join(dir, "demo.txt")
	if _, _, err := execGapan(t, "sidecar", "export", demo+".gaps", "-o", txt); err != nil {
		t.Fatal(err)
	}
	bin, errOut, err := execGapan(t, "sidecar", "import", txt, "-o", "-")
	if err != nil {
		t.Fatalf("import -o -: %v\n%s", err, errOut)
	}
	want, _ := os.ReadFile(demo + ".gaps")
	if bin != string(want) {
		t.Errorf("import -o - wrote %d bytes, not the demo sidecar's %d", len(bin), len(want))
	}
	if _, _, err := execGapan(t, "sidecar", "import", txt); err == nil || err.Error() != "import needs -o FILE.gaps (- for standard output)" {
		t.Errorf("import without -o: %v", err)
	}
	in, err := os.Open(demo + ".gaps")
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(filepath.Join(dir, "dump.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := execGapanIO(in, out, "sidecar", "dump", "-", "--format", "csv"); err != nil {
		t.Fatal(err)
	}
	out.Close()
	got, _ := os.ReadFile(out.Name())
	byName, _, _ := execGapan(t, "sidecar", "dump", demo+".gaps", "--format", "csv")
	if string(got) != byName || !strings.HasPrefix(byName, "frame,gap\n") {
		t.Errorf("dump - gave %q, dump FILE %q", got, byName)
	}
}

// TestBinaryNotToTerminal: binary data (a sidecar, pcapng) is not written
// to a terminal, as gzip refuses to: a usage error, nothing written.
func TestBinaryNotToTerminal(t *testing.T) {
	tty := testfiles.Terminal(t)
	dir := t.TempDir()
	txt := filepath.Join(dir, "demo.txt")
	if _, _, err := execGapan(t, "sidecar", "export", demo+".gaps", "-o", txt); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		argv []string
		what string
	}{
		{[]string{"sidecar", "import", txt, "-o", "-"}, "a binary sidecar"},
		{[]string{"sidecar", "extract", testCorpus + "gopacket-pcapng-epb-dropcount.pcapng", "-o", "-"}, "a binary sidecar"},
		{[]string{"annotate", demo, "-o", "-"}, "pcapng"},
	} {
		_, err := execGapanIO(nil, tty, tc.argv...)
		var ue usageError
		want := "not writing " + tc.what + " to a terminal: redirect standard output (> FILE, or a pipe) or give -o FILE"
		if !errors.As(err, &ue) || err.Error() != want {
			t.Errorf("%q: %v, want the usage error %q", tc.argv, err, want)
		}
	}
	// Text is written to a terminal as ever.
	if _, err := execGapanIO(nil, tty, "sidecar", "export", demo+".gaps"); err != nil {
		t.Errorf("export to a terminal: %v", err)
	}
}
