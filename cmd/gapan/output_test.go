package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/gapan/gapan/internal/testfiles"
	"github.com/gopacket/gopacket/pcapgo"
)

// TestOutputToDevice: -o on a character device (a /dev/null made in a
// temporary directory) writes to it as a stream, without --force, and with
// --force it is still a device afterwards; for every command with -o.
func TestOutputToDevice(t *testing.T) {
	dir := t.TempDir()
	null := testfiles.CharDevice(t, dir)
	capture := simulatedCapture(t, dir)
	for _, argv := range [][]string{
		{"report", capture, "-o", null},
		{"report", capture, "-o", null, "--force", "--format", "json"},
		{"annotate", capture, "-o", null},
		{"annotate", capture, "-o", null, "--force"},
		{"sidecar", "export", capture + ".gaps", "-o", null},
	} {
		if _, stderr, err := execGapan(t, argv...); err != nil {
			t.Errorf("%v: %v %s", argv, err, stderr)
		}
		st, err := os.Lstat(null)
		if err != nil || st.Mode()&os.ModeCharDevice == 0 {
			t.Fatalf("%v turned the device into %v (%v)", argv, st.Mode(), err)
		}
	}
	if _, _, err := execGapan(t, "simulate", capture, "-o", null, "--loss-model", "uniform:0.1"); err == nil || !strings.Contains(err.Error(), "device or a pipe") {
		t.Errorf("simulate -o device: %v", err)
	}
}

// TestOutputToFIFO: a FIFO is a stream too (no root needed): the reader at
// its other end gets the report, and the FIFO stays a FIFO.
func TestOutputToFIFO(t *testing.T) {
	dir := t.TempDir()
	fifo, read := testfiles.FIFO(t, dir)
	capture := simulatedCapture(t, dir)
	if _, stderr, err := execGapan(t, "report", capture, "-o", fifo, "--format", "json"); err != nil {
		t.Fatalf("%v %s", err, stderr)
	}
	if s := read(); !strings.Contains(s, `"frames_lost": 16`) {
		t.Errorf("the FIFO's reader got %q", s)
	}
	if st, err := os.Lstat(fifo); err != nil || st.Mode()&os.ModeNamedPipe == 0 {
		t.Fatal("the FIFO was replaced")
	}
}

// TestOutputSymlinkAndMissingDir: a symbolic link is followed (the link
// stays, its target gets the output), and a missing directory is named.
func TestOutputSymlinkAndMissingDir(t *testing.T) {
	dir := t.TempDir()
	capture := simulatedCapture(t, dir)
	target := filepath.Join(dir, "real.txt")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.txt")
	os.Symlink("real.txt", link)
	if _, _, err := execGapan(t, "report", capture, "-o", link); err == nil {
		t.Fatal("an existing link target replaced without --force")
	}
	if _, stderr, err := execGapan(t, "report", capture, "-o", link, "--force"); err != nil {
		t.Fatalf("%v %s", err, stderr)
	}
	if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
		t.Fatal("the link was replaced by a file")
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), "frames lost") {
		t.Errorf("the link's target holds %q", b)
	}
	missing := filepath.Join(dir, "no", "such")
	for _, argv := range [][]string{
		{"report", capture, "-o", filepath.Join(missing, "r.txt")},
		{"annotate", capture, "-o", filepath.Join(missing, "a.pcapng")},
		{"parquet", capture, "-o", filepath.Join(missing, "ds")},
	} {
		_, _, err := execGapan(t, argv...)
		if err == nil || !strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), ".tmp-") {
			t.Errorf("%v: %v, want an error naming %s", argv, err, missing)
		}
	}
}

// TestAnnotateStdoutDamaged: annotate -o - on a damaged capture says on
// stderr exactly how many frames the partial pcapng on stdout holds
// (counted by gopacket's pcapng reader).
func TestAnnotateStdoutDamaged(t *testing.T) {
	name := testCorpus + "suricata-smtp-to-comma-corrupt.pcap"
	stdout, stderr, err := execGapan(t, "annotate", name, "-o", "-")
	if err == nil {
		t.Fatal("no error on a damaged capture")
	}
	r, rerr := pcapgo.NewNgReader(bytes.NewReader([]byte(stdout)), pcapgo.DefaultNgReaderOptions)
	if rerr != nil {
		t.Fatalf("stdout is not pcapng: %v", rerr)
	}
	n := 0
	for {
		if _, _, err := r.ReadPacketData(); err != nil {
			break
		}
		n++
	}
	if n == 0 {
		t.Fatal("no frame on stdout")
	}
	want := strconv.Itoa(n) + " whole frames were written before the error"
	if !strings.Contains(stderr, want) || !strings.Contains(stderr, "standard output") {
		t.Errorf("stderr %q lacks %q", stderr, want)
	}
}
