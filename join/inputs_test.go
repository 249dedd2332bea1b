package join_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
	"github.com/klauspost/compress/zstd"
)

// compressTo writes src compressed ("gz" or "zst") to dst.
func compressTo(t *testing.T, src, dst, kind string) {
	t.Helper()
	b, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	switch kind {
	case "gz":
		zw := gzip.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	case "zst":
		zw, _ := zstd.NewWriter(&buf)
		zw.Write(b)
		zw.Close()
	}
	if err := os.WriteFile(dst, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

func write(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestExpandCaptures: a directory means its captures (told by their
// bytes, compressed ones too) in name order, its other files and
// sidecars left out with a note; sidecars among the arguments are left
// out; other arguments are kept for the reader to judge.
func TestExpandCaptures(t *testing.T) {
	dir := t.TempDir()
	b := copyFile(t, "zeek-echo-connections.pcap", dir)
	a := copyFile(t, "zeek-pcapng-multi-interface.pcapng", dir)
	c := filepath.Join(dir, "c.pcap.zst")
	compressTo(t, b, c, "zst")
	gz := filepath.Join(dir, "d.pcap.gz")
	compressTo(t, b, gz, "gz")
	textGz := filepath.Join(dir, "notes.txt.gz")
	write(t, filepath.Join(dir, "notes.txt"), "not a capture\n")
	compressTo(t, filepath.Join(dir, "notes.txt"), textGz, "gz")
	id, frames := identity(t, b)
	writeSidecar(t, sidecar.PathFor(b), id, nil, &sidecar.Trailer{Frames: frames})
	write(t, filepath.Join(dir, "d.pcap.gaps"), "# gapan-sidecar-text 1\n# frame gap\n")
	write(t, filepath.Join(dir, "MANIFEST.tsv"), "name\tsha256\n")
	write(t, filepath.Join(dir, ".hidden.pcap"), "")
	os.Mkdir(filepath.Join(dir, "sub"), 0o755)
	copyFile(t, "tls-subjectaltname.pcap", filepath.Join(dir, "sub")) // not recursed into

	got, notes, err := join.ExpandCaptures([]string{dir})
	if err != nil {
		t.Fatal(err)
	}
	// Name order: c.pcap.zst, d.pcap.gz, zeek-echo..., zeek-pcapng...
	want := []string{c, gz, b, a}
	if !slices.Equal(got, want) {
		t.Errorf("captures %q, want %q", got, want)
	}
	var texts []string
	for _, n := range notes {
		texts = append(texts, n.String())
	}
	wantNotes := []string{
		"skipped 4 files (" + filepath.Join(dir, "MANIFEST.tsv") + ", " + filepath.Join(dir, "notes.txt") + ", " + textGz + " and 1 more): not captures",
		"skipped 2 files (" + filepath.Join(dir, "d.pcap.gaps") + ", " + sidecar.PathFor(b) + "): gap sidecars (each capture reads its own)",
	}
	if !slices.Equal(texts, wantNotes) {
		t.Errorf("notes\n%q\nwant\n%q", texts, wantNotes)
	}

	// A glob: capture.pcap* takes the sidecar too.
	got, notes, err = join.ExpandCaptures([]string{b, sidecar.PathFor(b), "-", filepath.Join(dir, "missing.pcap"), filepath.Join(dir, "MANIFEST.tsv")})
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{b, "-", filepath.Join(dir, "missing.pcap"), filepath.Join(dir, "MANIFEST.tsv")}; !slices.Equal(got, want) {
		t.Errorf("captures %q, want %q", got, want)
	}
	if len(notes) != 1 || notes[0].String() != "skipped "+sidecar.PathFor(b)+": a gap sidecar (its capture reads it)" {
		t.Errorf("notes %v", notes)
	}

	// Only sidecars: the error names the capture meant.
	_, _, err = join.ExpandCaptures([]string{sidecar.PathFor(b)})
	var se *join.IsSidecarError
	if !errors.As(err, &se) || se.Capture != b || !errors.Is(err, join.ErrIsSidecar) {
		t.Fatalf("only a sidecar: %v", err)
	}
	if want := sidecar.PathFor(b) + " is a gap sidecar, not a capture; did you mean " + b + "?"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}

	empty := filepath.Join(dir, "sub", "empty")
	os.Mkdir(empty, 0o755)
	write(t, filepath.Join(empty, "README"), "x")
	_, _, err = join.ExpandCaptures([]string{empty})
	if !errors.Is(err, join.ErrNoCapture) || err.Error() != "no capture in directory "+empty+" (1 file, none a pcap or pcapng capture)" {
		t.Errorf("a directory without captures: %v", err)
	}
}

// TestOpenNotCapture: join.Open of a sidecar or a directory says what it is
// instead of the reader's "bad magic".
func TestOpenNotCapture(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, frames := identity(t, capPath)
	writeSidecar(t, sidecar.PathFor(capPath), id, nil, &sidecar.Trailer{Frames: frames})
	_, err := join.Open([]string{sidecar.PathFor(capPath)}, join.Options{})
	var se *join.IsSidecarError
	if !errors.As(err, &se) || se.Path != sidecar.PathFor(capPath) || se.Capture != capPath {
		t.Errorf("a sidecar as capture: %v", err)
	}
	// A sidecar whose capture is gone: no suggestion.
	orphan := filepath.Join(dir, "gone.pcap.gaps")
	os.Rename(sidecar.PathFor(capPath), orphan)
	if _, err := join.Open([]string{orphan}, join.Options{}); err == nil || err.Error() != orphan+" is a gap sidecar, not a capture" {
		t.Errorf("an orphan sidecar as capture: %v", err)
	}
	_, err = join.Open([]string{dir}, join.Options{})
	if !errors.Is(err, join.ErrDirectory) || err.Error() != dir+" is a directory, not a capture" {
		t.Errorf("a directory as capture: %v", err)
	}
}

// TestCompressedCaptureSidecar: d.pcap.gz and d.pcap.zst find d.pcap.gaps
// when there is no d.pcap.gz.gaps, and d.pcap.gz.gaps wins when both
// exist; the gaps are the sidecar's records.
func TestCompressedCaptureSidecar(t *testing.T) {
	dir := t.TempDir()
	plain := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, frames := identity(t, plain)
	writeSidecar(t, sidecar.PathFor(plain), id, []sidecar.Record{{Frame: 3, Gap: 2}, {Frame: 9, Gap: 1}}, &sidecar.Trailer{Frames: frames})
	for _, kind := range []string{"gz", "zst"} {
		c := plain + "." + kind
		compressTo(t, plain, c, kind)
		r, err := joinAll([]string{c}, join.Options{})
		if err != nil {
			t.Fatal(err)
		}
		if fi := r.files[0]; fi.Sidecar != sidecar.PathFor(plain) || fi.Source != join.SourceSidecar || r.gaps[3] != 2 || r.gaps[9] != 1 || len(r.gaps) != 2 {
			t.Errorf("%s: sidecar %q (%s), gaps %v; want %s's records", kind, fi.Sidecar, fi.Source, r.gaps, sidecar.PathFor(plain))
		}
		if in := join.Inputs([]string{c}, join.Options{}); !slices.Equal(in, []string{c, c + ".gaps", sidecar.PathFor(plain)}) {
			t.Errorf("Inputs %q", in)
		}
	}
	own := plain + ".gz"
	writeSidecar(t, sidecar.PathFor(own), id, []sidecar.Record{{Frame: 5, Gap: 7}}, &sidecar.Trailer{Frames: frames})
	r, err := joinAll([]string{own}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.files[0].Sidecar != sidecar.PathFor(own) || r.gaps[5] != 7 || len(r.gaps) != 1 {
		t.Errorf("with both: sidecar %q, gaps %v; want %s first", r.files[0].Sidecar, r.gaps, sidecar.PathFor(own))
	}
}

// TestMismatchErrors: every error AllowMismatch turns into a warning
// matches ErrMismatch (the CLI names --allow-mismatch for it) and keeps its
// own sentinel; damage does not match it.
func TestMismatchErrors(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	other := copyFile(t, "tls-subjectaltname.pcap", dir)
	id, frames := identity(t, capPath)
	otherID, _ := identity(t, other)
	for _, tc := range []struct {
		name string
		id   sidecar.Identity
		recs []sidecar.Record
		tr   sidecar.Trailer
		want error
	}{
		{"identity", otherID, nil, sidecar.Trailer{Frames: frames}, sidecar.ErrIdentity},
		{"beyond", id, []sidecar.Record{{Frame: frames + 1, Gap: 1}}, sidecar.Trailer{Frames: frames + 1}, join.ErrBeyondCapture},
		{"frame count", id, nil, sidecar.Trailer{Frames: frames + 1}, join.ErrFrameCount},
		{"tail interface", id, nil, sidecar.Trailer{Frames: frames, Tail: []sidecar.InterfaceGap{{Interface: 2, Lost: 1}}}, join.ErrTailInterface},
		{"kernel", id, nil, sidecar.Trailer{Frames: frames, HasKernel: true, KernelPackets: 1, KernelDrops: 2}, sidecar.ErrImplausible},
	} {
		writeSidecar(t, sidecar.PathFor(capPath), tc.id, tc.recs, &tc.tr)
		_, err := joinAll([]string{capPath}, join.Options{})
		if !errors.Is(err, tc.want) || !errors.Is(err, join.ErrMismatch) {
			t.Errorf("%s: %v; want %v and ErrMismatch", tc.name, err, tc.want)
		}
		if strings.Contains(err.Error(), "join: sidecar does not belong") {
			t.Errorf("%s: %q shows ErrMismatch's text", tc.name, err)
		}
	}
	writeSidecar(t, sidecar.PathFor(capPath), id, nil, &sidecar.Trailer{Frames: frames, Tail: []sidecar.InterfaceGap{{Interface: 2, Lost: 1}}})
	_, err := joinAll([]string{capPath}, join.Options{})
	if want := "1 frame on interface 2, " + capPath + " has 1 interface"; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("tail error %v, want it to say %q", err, want)
	}
	b, _ := os.ReadFile(sidecar.PathFor(capPath))
	b[len(b)-3] ^= 0x40
	os.WriteFile(sidecar.PathFor(capPath), b, 0o644)
	if _, err := joinAll([]string{capPath}, join.Options{}); !errors.Is(err, sidecar.ErrChecksum) || errors.Is(err, join.ErrMismatch) {
		t.Errorf("damage: %v", err)
	}
}

// TestWarningNamesFileOnce: the warning of a cut sidecar names the sidecar
// once, and one record in the singular.
func TestWarningNamesFileOnce(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, _ := identity(t, capPath)
	sc := sidecar.PathFor(capPath)
	writeSidecar(t, sc, id, []sidecar.Record{{Frame: 3, Gap: 2}}, nil)
	r, err := joinAll([]string{capPath}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.warnings) != 1 {
		t.Fatalf("warnings %v", r.warnings)
	}
	msg := r.warnings[0].Error()
	if strings.Count(msg, sc) != 1 || !strings.HasPrefix(msg, sc+": at byte ") || !strings.HasSuffix(msg, ", after 1 record: sidecar: missing trailer (writer did not close cleanly): loss unknown after frame 3 (the sidecar ends there)") {
		t.Errorf("warning %q", msg)
	}
	w := join.Warning{File: "x.pcap", Frame: 7, Err: errors.New("x.pcap: bad")}
	if w.Error() != "x.pcap: frame 7: bad" {
		t.Errorf("warning with a frame: %q", w.Error())
	}
}

// TestCaptureNamedAsSidecar: a capture named as a sidecar
// (Options.Sidecars) is a *sidecar.CaptureGivenError marked Named that
// names the capture's own sidecar; read as a sidecar on its own
// (sidecar.OpenAuto) it is not marked.
func TestCaptureNamedAsSidecar(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, frames := identity(t, capPath)
	writeSidecar(t, sidecar.PathFor(capPath), id, nil, &sidecar.Trailer{Frames: frames})
	_, err := joinAll([]string{capPath}, join.Options{Sidecars: []string{capPath}})
	var cg *sidecar.CaptureGivenError
	if !errors.As(err, &cg) || !cg.Named || cg.File != capPath || cg.Sidecar != sidecar.PathFor(capPath) {
		t.Errorf("--sidecar CAPTURE: %v (%+v), want a Named *CaptureGivenError naming %s", err, cg, sidecar.PathFor(capPath))
	}
	_, _, err = sidecar.OpenAuto(capPath, nil)
	if !errors.As(err, &cg) || cg.Named {
		t.Errorf("the capture on its own: %v (%+v), want a *CaptureGivenError not Named", err, cg)
	}
}
