package join_test

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/annotate"
	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/reader"
	"github.com/gapan/gapan/sidecar"
	"github.com/gopacket/gopacket/layers"
)

// writeDropCounts writes a one-interface pcapng whose frames carry the
// given epb_dropcount values (one frame per value).
func writeDropCounts(t *testing.T, drops []uint64) string {
	t.Helper()
	var b bytes.Buffer
	w := annotate.NewWriter(&b, annotate.Options{NoComments: true})
	id, err := w.AddInterface(reader.Interface{LinkType: layers.LinkTypeEthernet, SnapLen: 65535, TimestampResolution: 9})
	if err != nil {
		t.Fatal(err)
	}
	data := make([]byte, 60)
	for i, d := range drops {
		f := &reader.Frame{Number: uint64(i + 1), TimestampNs: int64(i+1) * 1e6, CapLen: len(data), OrigLen: len(data), LinkType: layers.LinkTypeEthernet, Data: data}
		if err := w.WriteFrame(id, f, d, true); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(t.TempDir(), "drops.pcapng")
	if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestJoinDropCountOverflow: an epb_dropcount of 2^64-1 followed by 5 used
// to sum to "4 frames lost"; the join refuses a count, or a running sum,
// beyond 2^48 with a *CountError naming the frame.
func TestJoinDropCountOverflow(t *testing.T) {
	tests := []struct {
		name  string
		drops []uint64
		frame uint64
	}{
		{"wraps", []uint64{math.MaxUint64, 5}, 1},
		{"one beyond the bound", []uint64{0, sidecar.MaxLost + 1}, 2},
		{"sum beyond the bound", []uint64{sidecar.MaxLost, 0, 1}, 3},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := writeDropCounts(t, tc.drops)
			_, err := joinAll([]string{p}, join.Options{KeepGoing: true, AllowMismatch: true})
			var ce *join.CountError
			if !errors.As(err, &ce) || !errors.Is(err, sidecar.ErrImplausible) {
				t.Fatalf("err = %v, want a *join.CountError wrapping sidecar.ErrImplausible", err)
			}
			if ce.Frame != tc.frame || ce.File != p || ce.Offset <= 0 {
				t.Errorf("error names frame %d of %s at offset %d, want frame %d of %s", ce.Frame, ce.File, ce.Offset, tc.frame, p)
			}
		})
	}
	// At the bound exactly it is accepted, and the figure is exact.
	p := writeDropCounts(t, []uint64{sidecar.MaxLost - 1, 1})
	r, err := joinAll([]string{p}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if r.files[0].Lost != sidecar.MaxLost {
		t.Errorf("lost %d, want %d", r.files[0].Lost, uint64(sidecar.MaxLost))
	}
}

// TestJoinImplausibleSidecar: a sidecar gap, tail or kernel counter of
// 2^64-1 (text form, as `sidecar import` reads it) is refused, also with
// --keep-going and --allow-mismatch, instead of wrapping to "no loss".
func TestJoinImplausibleSidecar(t *testing.T) {
	for name, body := range map[string]string{
		"gap":    "1 18446744073709551615\n# frames 3\n",
		"gaps":   "1 281474976710656\n2 1\n# frames 3\n",
		"tail":   "# frames 3\n# tail 18446744073709551615\n",
		"kernel": "# frames 3\n# kernel packets=18446744073709551615 drops=1\n",
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
			if err := os.WriteFile(sidecar.PathFor(capPath), []byte("# gapan-sidecar-text 1\n# frame gap\n"+body), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := joinAll([]string{capPath}, join.Options{KeepGoing: true, AllowMismatch: true})
			if !errors.Is(err, sidecar.ErrImplausible) {
				t.Fatalf("err = %v, want sidecar.ErrImplausible", err)
			}
			if !strings.Contains(err.Error(), "2^48") {
				t.Errorf("error %q does not say the bound", err)
			}
		})
	}
}

// TestJoinSidecarWithoutTrailer: a sidecar cut short (a killed recorder)
// keeps its records, and the join says from which frame on the loss is
// unknown instead of letting it read as 0.
func TestJoinSidecarWithoutTrailer(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, frames := identity(t, capPath)
	if frames < 20 {
		t.Fatalf("capture has %d frames", frames)
	}
	writeSidecar(t, sidecar.PathFor(capPath), id, []sidecar.Record{{Frame: 3, Gap: 2}, {Frame: 9, Gap: 1}}, nil)
	r, err := joinAll([]string{capPath}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fi := r.files[0]
	if !fi.SidecarIncomplete || fi.LossUnknownAfter != 9 || fi.Lost != 3 || r.frames != frames {
		t.Fatalf("incomplete %v unknown after %d lost %d frames %d; want true, 9, 3, %d", fi.SidecarIncomplete, fi.LossUnknownAfter, fi.Lost, r.frames, frames)
	}
	if len(r.warnings) != 1 || !errors.Is(r.warnings[0].Err, sidecar.ErrNoTrailer) ||
		!strings.Contains(r.warnings[0].Error(), "loss unknown after frame 9 (the sidecar ends there)") {
		t.Errorf("warnings %v", r.warnings)
	}

	// With a trailer the loss is known throughout.
	writeSidecar(t, sidecar.PathFor(capPath), id, []sidecar.Record{{Frame: 3, Gap: 2}}, &sidecar.Trailer{Frames: frames})
	if r, err = joinAll([]string{capPath}, join.Options{}); err != nil || r.files[0].SidecarIncomplete {
		t.Fatalf("err %v incomplete %v", err, r.files[0].SidecarIncomplete)
	}
}

// TestJoinEmptySidecar: a recorder killed before its first frame leaves a
// 0-byte sidecar; it is not a text sidecar "source imported" but a known
// absence of information from frame 0 on.
func TestJoinEmptySidecar(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	if err := os.WriteFile(sidecar.PathFor(capPath), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	_, frames := identity(t, capPath)
	r, err := joinAll([]string{capPath}, join.Options{})
	if err != nil {
		t.Fatal(err)
	}
	fi := r.files[0]
	if !fi.SidecarIncomplete || fi.LossUnknownAfter != 0 || fi.Source != join.SourceSidecar || r.frames != frames {
		t.Fatalf("incomplete %v after %d source %s frames %d", fi.SidecarIncomplete, fi.LossUnknownAfter, fi.Source, r.frames)
	}
	if len(r.warnings) != 1 || !errors.Is(r.warnings[0].Err, sidecar.ErrEmpty) ||
		!strings.Contains(r.warnings[0].Error(), "empty sidecar: the recorder stopped before writing its header") {
		t.Errorf("warnings %v", r.warnings)
	}
	// The sidecar package says the same to check and dump.
	if _, err := sidecar.NewAutoReader(bytes.NewReader(nil), "x.gaps"); !errors.Is(err, sidecar.ErrEmpty) {
		t.Errorf("NewAutoReader(empty) = %v, want ErrEmpty", err)
	}
}

// TestJoinCutCaptureAfterCrash: a capture cut mid-record whose sidecar has
// no trailer (the recorder was killed while writing) is read up to its last
// whole frame with a warning and no flag; with a cleanly closed sidecar
// the cut is damage and needs --keep-going (TestJoinTruncatedCapture).
func TestJoinCutCaptureAfterCrash(t *testing.T) {
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
	writeSidecar(t, sidecar.PathFor(capPath), id, []sidecar.Record{{Frame: 10, Gap: 1}}, nil)
	r, err := joinAll([]string{capPath}, join.Options{})
	if err != nil {
		t.Fatalf("no trailer, no flag: %v", err)
	}
	fi := r.files[0]
	if r.frames != 2696 || !fi.Truncated || !fi.SidecarIncomplete || fi.LossUnknownAfter != 10 {
		t.Fatalf("frames %d truncated %v incomplete %v after %d; want 2696, true, true, 10", r.frames, fi.Truncated, fi.SidecarIncomplete, fi.LossUnknownAfter)
	}
	cut := false
	for _, w := range r.warnings {
		cut = cut || errors.Is(w.Err, reader.ErrTruncated) && strings.Contains(w.Error(), "cut mid-record after frame 2696")
	}
	if !cut {
		t.Errorf("warnings %v: want one saying the capture was cut after frame 2696", r.warnings)
	}

	// An empty sidecar (killed before the header) is the same case.
	if err := os.WriteFile(sidecar.PathFor(capPath), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if r, err = joinAll([]string{capPath}, join.Options{}); err != nil || r.frames != 2696 {
		t.Fatalf("empty sidecar: %v, %d frames", err, r.frames)
	}
	// Without any sidecar nothing says the recorder crashed: damage.
	os.Remove(sidecar.PathFor(capPath))
	if _, err := joinAll([]string{capPath}, join.Options{}); !errors.Is(err, reader.ErrTruncated) {
		t.Fatalf("no sidecar: err = %v, want ErrTruncated", err)
	}
}

// TestJoinTailOnMissingInterface: one rule for every command (they all read
// tails through the join): a tail on an interface the capture does not
// have is an error; with AllowMismatch it is left out, with a warning.
func TestJoinTailOnMissingInterface(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, frames := identity(t, capPath)
	writeSidecar(t, sidecar.PathFor(capPath), id, nil, &sidecar.Trailer{Frames: frames, Tail: []sidecar.InterfaceGap{{Interface: 0, Lost: 2}, {Interface: 3, Lost: 7}}})
	if _, err := joinAll([]string{capPath}, join.Options{}); !errors.Is(err, join.ErrTailInterface) {
		t.Fatalf("err = %v, want ErrTailInterface", err)
	}
	r, err := joinAll([]string{capPath}, join.Options{AllowMismatch: true})
	if err != nil {
		t.Fatal(err)
	}
	if got := r.files[0].TailTotal(); got != 2 {
		t.Errorf("tail %d with --allow-mismatch, want 2 (interface 3's 7 left out)", got)
	}
	if len(r.warnings) != 1 || !errors.Is(r.warnings[0].Err, join.ErrTailInterface) {
		t.Errorf("warnings %v", r.warnings)
	}
}

// TestJoinKernelDropsBeyondPackets: the kernel counts its drops among the
// packets it received, so more drops than packets is a damaged or forged
// trailer: an error, or with AllowMismatch a warning.
func TestJoinKernelDropsBeyondPackets(t *testing.T) {
	dir := t.TempDir()
	capPath := copyFile(t, "zeek-echo-connections.pcap", dir)
	id, frames := identity(t, capPath)
	writeSidecar(t, sidecar.PathFor(capPath), id, nil, &sidecar.Trailer{Frames: frames, HasKernel: true, KernelPackets: 5, KernelDrops: 9})
	if _, err := joinAll([]string{capPath}, join.Options{}); !errors.Is(err, sidecar.ErrImplausible) {
		t.Fatalf("err = %v, want ErrImplausible", err)
	}
	r, err := joinAll([]string{capPath}, join.Options{AllowMismatch: true})
	if err != nil || len(r.warnings) != 1 || !errors.Is(r.warnings[0].Err, sidecar.ErrImplausible) {
		t.Fatalf("AllowMismatch: %v, warnings %v", err, r.warnings)
	}
	writeSidecar(t, sidecar.PathFor(capPath), id, nil, &sidecar.Trailer{Frames: frames, HasKernel: true, KernelPackets: 9, KernelDrops: 9})
	if _, err := joinAll([]string{capPath}, join.Options{}); err != nil {
		t.Fatalf("drops = packets: %v", err)
	}
}
