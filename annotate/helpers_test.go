package annotate

import (
	"bytes"
	"errors"
	"github.com/gapan/gapan/internal/testenv"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

const corpus = "../testdata/corpus/"

// tshark runs tshark on file and returns its tab-separated field rows.
func tshark(t testing.TB, file, filter string, fields ...string) [][]string {
	t.Helper()
	args := []string{"-n", "-o", "frame.generate_md5_hash:TRUE", "-r", file, "-T", "fields"}
	if filter != "" {
		args = append(args, "-Y", filter)
	}
	for _, f := range fields {
		args = append(args, "-e", f)
	}
	return testenv.Tshark(t, args...)
}

// capinfosComment returns the capture (section header) comments capinfos
// reports for file.
func capinfosComment(t testing.TB, file string) string {
	t.Helper()
	bin := testenv.NeedTool(t, "capinfos")
	out, err := exec.Command(bin, "-k", file).Output()
	if err != nil {
		t.Fatalf("capinfos -k %s: %v", file, err)
	}
	return string(out)
}

type frameCopy struct {
	number       uint64
	ts           int64
	origLen      int
	iface        int
	data         []byte
	dropCount    uint64
	hasDropCount bool
}

// readFrames reads a whole capture with package reader.
func readFrames(t testing.TB, path string) ([]frameCopy, []reader.Interface, []reader.InterfaceStats) {
	t.Helper()
	rd, err := reader.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	var fs []frameCopy
	for {
		f, err := rd.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		fs = append(fs, frameCopy{f.Number, f.TimestampNs, f.OrigLen, f.InterfaceID, slices.Clone(f.Data), f.DropCount, f.HasDropCount})
	}
	return fs, slices.Clone(rd.Interfaces()), rd.Stats()
}

func readSidecar(t testing.TB, path string) (sidecar.Header, []sidecar.Record, sidecar.Trailer) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := sidecar.NewReader(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	var recs []sidecar.Record
	for {
		rec, err := r.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		recs = append(recs, rec)
	}
	tr, ok := r.Trailer()
	if !ok {
		t.Fatalf("%s: no trailer", path)
	}
	return r.Header(), recs, tr
}

func writeSidecar(t testing.TB, path string, h sidecar.Header, recs []sidecar.Record, tr sidecar.Trailer) {
	t.Helper()
	var buf bytes.Buffer
	w, err := sidecar.NewWriter(&buf, h)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(tr); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// copyCorpus copies a corpus file into a fresh directory, so that sidecars
// can be put next to it.
func copyCorpus(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(corpus + name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// identityOf computes the sidecar identity of a capture the way join
// checks it.
func identityOf(fs []frameCopy, ifs []reader.Interface) sidecar.Identity {
	if len(fs) == 0 {
		return sidecar.IdentityOf(uint32(ifs[0].LinkType), ifs[0].SnapLen, 0, nil)
	}
	return sidecar.IdentityOf(uint32(ifs[fs[0].iface].LinkType), ifs[0].SnapLen, fs[0].ts, fs[0].data)
}
