package join_test

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
)

const corpus = "../testdata/corpus/"

// copyFile copies a corpus capture into dir.
func copyFile(t *testing.T, name, dir string) string {
	t.Helper()
	b, err := os.ReadFile(corpus + name)
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, b, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// writeSidecar writes a binary sidecar; trailer nil leaves it cut (no
// trailer).
func writeSidecar(t *testing.T, path string, id sidecar.Identity, recs []sidecar.Record, tr *sidecar.Trailer) {
	t.Helper()
	var buf bytes.Buffer
	w, err := sidecar.NewWriter(&buf, sidecar.Header{Source: sidecar.SourceSimulated, Identity: id, Tool: "join test"})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range recs {
		if err := w.Add(r); err != nil {
			t.Fatal(err)
		}
	}
	if tr != nil {
		err = w.Close(*tr)
	} else {
		err = w.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

type result struct {
	gaps     map[uint64]uint64 // frame -> gap
	frames   uint64
	files    []join.FileInfo
	warnings []join.Warning
}

func joinAll(captures []string, opt join.Options) (*result, error) {
	s, err := join.Open(captures, opt)
	if err != nil {
		return nil, err
	}
	defer s.Close()
	r := &result{gaps: map[uint64]uint64{}}
	for {
		f, err := s.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, err
		}
		r.frames++
		if f.GapBefore > 0 {
			r.gaps[uint64(f.File)<<32|f.Number] = f.GapBefore
		}
	}
	r.files, r.warnings = s.Files(), s.Warnings()
	return r, nil
}

func TestJoin(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-dcerpc-20-fids-no-close.pcap", dir)
	other := copyFile(t, "tls-subjectaltname.pcap", dir)
	id, frames := identity(t, capPath)
	otherID, _ := identity(t, other)
	recs := []sidecar.Record{{Frame: 1, Gap: 2}, {Frame: 7, Gap: 40}, {Frame: 420, Gap: 1}}
	good := &sidecar.Trailer{Frames: frames, Tail: []sidecar.InterfaceGap{{Interface: 0, Lost: 3}}}
	longer := &sidecar.Trailer{Frames: frames + 1, Tail: good.Tail} // the sidecar of a longer capture

	for _, tc := range []struct {
		name      string
		id        sidecar.Identity
		recs      []sidecar.Record
		trailer   *sidecar.Trailer
		opt       join.Options
		wantErr   error  // errors.Is
		wantWarn  string // substring of a warning
		wantGaps  int
		wantTail  uint64
		corruptAt int // flip the byte at this offset from the end (0: none)
	}{
		{name: "good", id: id, recs: recs, trailer: good, wantGaps: 3, wantTail: 3},
		{name: "another capture's sidecar", id: otherID, recs: recs, trailer: good, wantErr: sidecar.ErrIdentity},
		{name: "another capture's sidecar, allowed", id: otherID, recs: recs, trailer: good, opt: join.Options{AllowMismatch: true}, wantWarn: "does not belong", wantGaps: 3, wantTail: 3},
		{name: "frame beyond the capture", id: id, recs: append(recs[:2:2], sidecar.Record{Frame: 421, Gap: 5}), trailer: longer, wantErr: join.ErrBeyondCapture},
		{name: "frame beyond the capture, allowed", id: id, recs: append(recs[:2:2], sidecar.Record{Frame: 421, Gap: 5}), trailer: longer, opt: join.Options{AllowMismatch: true}, wantWarn: "names frame 421", wantGaps: 2, wantTail: 3},
		{name: "frame count disagrees", id: id, recs: recs, trailer: &sidecar.Trailer{Frames: frames + 1}, wantErr: join.ErrFrameCount},
		{name: "cut sidecar (killed writer)", id: id, recs: recs, trailer: nil, wantWarn: "missing trailer", wantGaps: 3, wantTail: 0},
		{name: "flipped byte", id: id, recs: recs, trailer: good, corruptAt: 8, wantErr: sidecar.ErrChecksum},
		{name: "flipped byte, keep going", id: id, recs: recs, trailer: good, corruptAt: 8, opt: join.Options{KeepGoing: true}, wantWarn: "checksum", wantGaps: 3, wantTail: 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sc := sidecar.PathFor(capPath)
			writeSidecar(t, sc, tc.id, tc.recs, tc.trailer)
			if tc.corruptAt > 0 {
				b, _ := os.ReadFile(sc)
				b[len(b)-tc.corruptAt] ^= 0x40
				os.WriteFile(sc, b, 0o644)
			}
			r, err := joinAll([]string{capPath}, tc.opt)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("err = %v, want %v", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.frames != frames {
				t.Errorf("frames = %d, want %d", r.frames, frames)
			}
			if len(r.gaps) != tc.wantGaps {
				t.Errorf("gaps = %v, want %d of them", r.gaps, tc.wantGaps)
			}
			if tc.wantGaps >= 2 && r.gaps[7] != 40 {
				t.Errorf("gap before frame 7 = %d, want 40", r.gaps[7])
			}
			if got := r.files[0].TailTotal(); got != tc.wantTail {
				t.Errorf("tail = %d, want %d", got, tc.wantTail)
			}
			found := tc.wantWarn == ""
			for _, w := range r.warnings {
				if tc.wantWarn != "" && strings.Contains(w.Error(), tc.wantWarn) {
					found = true
				}
			}
			if !found {
				t.Errorf("warnings %v lack %q", r.warnings, tc.wantWarn)
			}
			if tc.wantWarn == "" && len(r.warnings) > 0 {
				t.Errorf("unexpected warnings %v", r.warnings)
			}
		})
	}
}

// TestJoinTruncatedCapture: a capture cut short (a killed recorder) with
// --keep-going: records beyond its last complete frame are a warning.
func TestJoinTruncatedCapture(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "suricata-http-mime-truncated.pcap", dir)
	rd, err := reader.Open(capPath)
	if err != nil {
		t.Fatal(err)
	}
	f, err := rd.Next()
	if err != nil {
		t.Fatal(err)
	}
	id := sidecar.IdentityOf(uint32(f.LinkType), rd.Interfaces()[0].SnapLen, f.TimestampNs, f.Data)
	rd.Close()
	writeSidecar(t, sidecar.PathFor(capPath), id, []sidecar.Record{{Frame: 10, Gap: 1}, {Frame: 2697, Gap: 4}}, &sidecar.Trailer{Frames: 2697})
	if _, err := joinAll([]string{capPath}, join.Options{}); !errors.Is(err, reader.ErrTruncated) {
		t.Fatalf("without keep-going: err = %v, want reader.ErrTruncated", err)
	}
	r, err := joinAll([]string{capPath}, join.Options{KeepGoing: true})
	if err != nil {
		t.Fatal(err)
	}
	if r.frames != 2696 || !r.files[0].Truncated || len(r.gaps) != 1 {
		t.Fatalf("frames %d truncated %v gaps %v; want 2696, true, 1 gap", r.frames, r.files[0].Truncated, r.gaps)
	}
	var beyond, stopped bool
	for _, w := range r.warnings {
		beyond = beyond || errors.Is(w.Err, join.ErrBeyondCapture)
		stopped = stopped || errors.Is(w.Err, reader.ErrTruncated)
	}
	if !beyond || !stopped {
		t.Errorf("warnings %v: want one for the truncation and one for the record beyond it", r.warnings)
	}
}

// TestJoinDropCount: without a sidecar, pcapng epb_dropcount gives the gaps.
func TestJoinDropCount(t *testing.T) {
	r, err := joinAll([]string{corpus + "gopacket-pcapng-epb-dropcount.pcapng"}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.files[0].Source != join.SourceDropCount || r.gaps[1] != 2 {
		t.Fatalf("source %q gaps %v; want pcapng-dropcount with 2 before frame 1", r.files[0].Source, r.gaps)
	}
	r, err = joinAll([]string{corpus + "tls-subjectaltname.pcap"}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.files[0].Source != join.SourceNone || len(r.gaps) != 0 {
		t.Fatalf("source %q gaps %v; want none", r.files[0].Source, r.gaps)
	}
}

// TestJoinSet: a rotated set keeps per-file frame numbers and sidecars.
func TestJoinSet(t *testing.T) {
	dir := t.TempDir()
	a := copyFile(t, "zeek-dcerpc-20-fids-no-close.pcap", dir)
	b := copyFile(t, "zeek-get-to-ssh-server-nsec.pcap", dir)
	idA, nA := identity(t, a)
	idB, nB := identity(t, b)
	writeSidecar(t, sidecar.PathFor(a), idA, []sidecar.Record{{Frame: 3, Gap: 1}}, &sidecar.Trailer{Frames: nA})
	writeSidecar(t, sidecar.PathFor(b), idB, []sidecar.Record{{Frame: 1, Gap: 7}, {Frame: 3, Gap: 2}}, &sidecar.Trailer{Frames: nB, Tail: []sidecar.InterfaceGap{{Lost: 1}}})
	r, err := joinAll([]string{a, b}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	want := map[uint64]uint64{0<<32 | 3: 1, 1<<32 | 1: 7, 1<<32 | 3: 2}
	if len(r.gaps) != len(want) {
		t.Fatalf("gaps %v, want %v", r.gaps, want)
	}
	for k, v := range want {
		if r.gaps[k] != v {
			t.Errorf("gap at file %d frame %d = %d, want %d", k>>32, k&0xffffffff, r.gaps[k], v)
		}
	}
	if r.frames != nA+nB || r.files[1].TailTotal() != 1 || r.files[0].Frames != nA {
		t.Errorf("frames %d (want %d), tail %d, file 0 frames %d", r.frames, nA+nB, r.files[1].TailTotal(), r.files[0].Frames)
	}
}

// TestJoinTextSidecar: a text sidecar without identity joins with a warning.
func TestJoinTextSidecar(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-dcerpc-20-fids-no-close.pcap", dir)
	os.WriteFile(sidecar.PathFor(capPath), []byte("# written by another recorder\n5 3\n9 1\n# tail 2\n"), 0o644)
	r, err := joinAll([]string{capPath}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.gaps[5] != 3 || r.gaps[9] != 1 || r.files[0].TailTotal() != 2 {
		t.Fatalf("gaps %v tail %d", r.gaps, r.files[0].TailTotal())
	}
	if len(r.warnings) != 1 || !strings.Contains(r.warnings[0].Error(), "no capture identity") {
		t.Fatalf("warnings %v", r.warnings)
	}
}

// TestJoinSetOrder: a set whose captures are given in the wrong order (a
// later one first) is read as given, with a warning on the file that
// starts before the previous one ends; in the right order, no warning.
func TestJoinSetOrder(t *testing.T) {
	dir := t.TempDir()
	a := copyFile(t, "zeek-dcerpc-20-fids-no-close.pcap", dir)
	b := copyFile(t, "zeek-get-to-ssh-server-nsec.pcap", dir)
	ra, err := joinAll([]string{a}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	rb, err := joinAll([]string{b}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	early, late := a, b
	if rb.files[0].LastNs < ra.files[0].FirstNs {
		early, late = b, a
	} else if ra.files[0].LastNs >= rb.files[0].FirstNs {
		t.Fatal("the two captures overlap in time: pick others")
	}
	r, err := joinAll([]string{early, late}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.warnings) != 0 {
		t.Errorf("in order: warnings %v, want none", r.warnings)
	}
	r, err = joinAll([]string{late, early}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if len(r.warnings) != 1 || r.warnings[0].File != early || r.warnings[0].Frame != 1 ||
		!strings.Contains(r.warnings[0].Error(), "starts before "+late+" ends") {
		t.Errorf("out of order: warnings %v, want one on %s frame 1", r.warnings, early)
	}
	if r.frames != ra.frames+rb.frames {
		t.Errorf("%d frames read, want %d: the set is still read whole", r.frames, ra.frames+rb.frames)
	}
}

// TestJoinReader: a sidecar given open in Options.Readers is read instead
// of the file next to the capture (which says otherwise here), and the
// file's Sidecar names no path.
func TestJoinReader(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-dcerpc-20-fids-no-close.pcap", dir)
	id, frames := identity(t, capPath)
	writeSidecar(t, sidecar.PathFor(capPath), id, []sidecar.Record{{Frame: 2, Gap: 9}}, &sidecar.Trailer{Frames: frames})
	var buf bytes.Buffer
	w, _ := sidecar.NewWriter(&buf, sidecar.Header{Source: sidecar.SourceInferred, Identity: id, Tool: "join test"})
	w.Add(sidecar.Record{Frame: 5, Gap: 3})
	w.Add(sidecar.Record{Frame: 9, Gap: 1})
	if err := w.Close(sidecar.Trailer{Frames: frames}); err != nil {
		t.Fatal(err)
	}
	sc, err := sidecar.NewReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	r, err := joinAll([]string{capPath}, join.Options{Readers: []sidecar.RecordReader{sc}})
	if err != nil {
		t.Fatal(err)
	}
	fi := r.files[0]
	if len(r.gaps) != 2 || r.gaps[5] != 3 || r.gaps[9] != 1 || fi.Lost != 4 {
		t.Errorf("gaps %v, lost %d; want 3 before frame 5 and 1 before frame 9", r.gaps, fi.Lost)
	}
	if fi.Sidecar != "" || fi.Source != join.SourceSidecar || fi.Header.Source != sidecar.SourceInferred || !fi.HasTrailer {
		t.Errorf("file info: sidecar %q, source %v, header source %v, trailer %v", fi.Sidecar, fi.Source, fi.Header.Source, fi.HasTrailer)
	}
}

// TestOptionsValidate: more sidecars than captures, or sidecars with
// NoSidecar, are ErrOptions, from Validate and from Open alike.
func TestOptionsValidate(t *testing.T) {
	for _, tc := range []struct {
		opt  join.Options
		n    int
		want string
	}{
		{join.Options{Sidecars: []string{"a.gaps"}}, 1, ""},
		{join.Options{Sidecars: []string{"a.gaps", "b.gaps"}}, 1, "2 --sidecar files given for 1 capture"},
		{join.Options{Sidecars: []string{"a.gaps", "b.gaps", "c.gaps"}}, 2, "3 --sidecar files given for 2 captures"},
		{join.Options{Sidecars: []string{"a.gaps"}, NoSidecar: true}, 1, "--sidecar and --no-sidecar exclude each other"},
		{join.Options{NoSidecar: true}, 1, ""},
	} {
		err := tc.opt.Validate(tc.n)
		if tc.want == "" && err != nil || tc.want != "" && (err == nil || err.Error() != tc.want || !errors.Is(err, join.ErrOptions)) {
			t.Errorf("%+v for %d captures: %v, want %q", tc.opt, tc.n, err, tc.want)
		}
	}
	if _, err := join.Open([]string{corpus + "tls-subjectaltname.pcap"}, join.Options{Sidecars: []string{"a", "b"}}); !errors.Is(err, join.ErrOptions) {
		t.Errorf("Open with 2 sidecars for 1 capture: %v", err)
	}
}
