package join_test

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gopacket/gopacket/pcapgo"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/sidecar"
)

// identity reads a pcap with gopacket, not with gapan's reader: its
// identity and its number of frames.
func identity(t *testing.T, path string) (sidecar.Identity, uint64) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	r, err := pcapgo.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var id sidecar.Identity
	var n uint64
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			return id, n
		}
		if err != nil {
			t.Fatal(err)
		}
		if n++; n == 1 {
			id = sidecar.IdentityOf(uint32(r.LinkType()), r.Snaplen(), ci.Timestamp.UnixNano(), data)
		}
	}
}

// TestCaptureIdentity: the identity and frame count CaptureIdentity gives
// are those gopacket reads.
func TestCaptureIdentity(t *testing.T) {
	for _, name := range []string{"zeek-dcerpc-20-fids-no-close.pcap", "ndpi-kakaotalk-voice-sll.pcap", "zeek-get-to-ssh-server-nsec.pcap"} {
		want, frames := identity(t, corpus+name)
		id, n, err := join.CaptureIdentity(corpus + name)
		if err != nil || id != want || n != frames {
			t.Errorf("%s: %+v, %d frames, %v; gopacket: %+v, %d frames", name, id, n, err, want, frames)
		}
	}
	if _, _, err := join.CaptureIdentity(corpus + "no-such.pcap"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing capture: %v", err)
	}
}

// TestImport: a text sidecar takes its capture's identity and frame count
// (as gopacket reads them) and the import defaults; one that does not fit
// the capture is refused with the error join.Open gives such a sidecar;
// one without trailer lines is imported without trailer.
func TestImport(t *testing.T) {
	capture := corpus + "zeek-dcerpc-20-fids-no-close.pcap"
	id, frames := identity(t, capture)
	other, _ := identity(t, corpus+"ndpi-kakaotalk-voice-sll.pcap")
	idLine := func(id sidecar.Identity) string {
		return fmt.Sprintf("# identity linktype=%d snaplen=%d first_ns=%d first_crc=0x%08x\n", id.LinkType, id.SnapLen, id.FirstFrameNs, id.FirstFrameCRC)
	}
	opt := join.ImportOptions{Capture: capture, Tool: "import test"}
	for _, tc := range []struct {
		name, text string
		opt        join.ImportOptions
		want       error
	}{
		{"fits", "3 2\n17 1\n# tail 4\n", opt, nil},
		{"fits, own identity", idLine(id) + "3 2\n# frames " + fmt.Sprint(frames) + "\n", opt, nil},
		{"another capture's identity", idLine(other) + "3 2\n# tail 1\n", opt, sidecar.ErrIdentity},
		{"frame beyond the capture", fmt.Sprintf("3 2\n%d 1\n# tail 1\n", frames+1), opt, join.ErrBeyondCapture},
		{"another frame count", fmt.Sprintf("3 2\n# frames %d\n", frames-1), opt, join.ErrFrameCount},
		{"no capture", "3 2\n# frames 7\n", join.ImportOptions{}, nil},
		{"gap beyond the bound", "3 18446744073709551615\n# tail 1\n", opt, sidecar.ErrImplausible},
	} {
		t.Run(tc.name, func(t *testing.T) {
			im, err := join.Import(strings.NewReader(tc.text), "in.txt", tc.opt)
			if tc.want != nil {
				if !errors.Is(err, tc.want) || !strings.HasPrefix(err.Error(), "in.txt") {
					t.Fatalf("err = %v, want %v naming in.txt", err, tc.want)
				}
				return
			}
			if err != nil || im.Incomplete != nil || !im.HasTrailer {
				t.Fatalf("%v, incomplete %v, trailer %v", err, im.Incomplete, im.HasTrailer)
			}
			h := im.Header
			if h.Source != sidecar.SourceImported || h.CreatedNs == 0 || h.Tool != tc.opt.Tool {
				t.Errorf("header %+v, want the import defaults", h)
			}
			if tc.opt.Capture == "" {
				if h.Identity.Known || im.Trailer.Frames != 7 {
					t.Errorf("without a capture: identity %+v, frames %d; want unknown, 7", h.Identity, im.Trailer.Frames)
				}
				return
			}
			if h.Identity != id || im.Trailer.Frames != frames {
				t.Errorf("identity %+v, frames %d; gopacket: %+v, %d", h.Identity, im.Trailer.Frames, id, frames)
			}
			// What Write makes of it, join.Open takes as the capture's.
			var b bytes.Buffer
			if err := sidecar.Write(&b, &im.File); err != nil {
				t.Fatal(err)
			}
			sc := t.TempDir() + "/in.gaps"
			os.WriteFile(sc, b.Bytes(), 0o644)
			r, err := joinAll([]string{capture}, join.Options{Sidecars: []string{sc}})
			if err != nil || r.gaps[3] != 2 || len(r.warnings) != 0 {
				t.Errorf("join of the import: %v, gaps %v, warnings %v", err, r.gaps, r.warnings)
			}
		})
	}

	im, err := join.Import(strings.NewReader("3 2\n17 1\n"), "cut.txt", opt)
	if err != nil || !errors.Is(im.Incomplete, sidecar.ErrNoTrailer) || im.LossUnknownAfter != 17 || im.HasTrailer || len(im.Records) != 2 {
		t.Fatalf("without trailer lines: %v, %+v", err, im)
	}
	if w := im.Warning(); !errors.Is(w, sidecar.ErrNoTrailer) || !strings.HasSuffix(w.Error(), ": imported without a trailer: loss unknown after frame 17 (the sidecar ends there)") {
		t.Errorf("warning %v", w)
	}
	// ImportFile reads the same from a file, and names it in errors.
	path := filepath.Join(t.TempDir(), "cut.txt")
	os.WriteFile(path, []byte("3 2\n17 1\n"), 0o644)
	if im, err := join.ImportFile(path, opt); err != nil || im.LossUnknownAfter != 17 || len(im.Records) != 2 || im.Records[0] != (sidecar.Record{Frame: 3, Gap: 2}) {
		t.Errorf("ImportFile: %v, %+v", err, im)
	}
	if _, err := join.ImportFile(path+".none", opt); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("ImportFile of no file: %v", err)
	}
	os.WriteFile(path, []byte("3 2\n99999 1\n# tail 1\n"), 0o644)
	if _, err := join.ImportFile(path, opt); !errors.Is(err, join.ErrBeyondCapture) || !strings.HasPrefix(err.Error(), path) {
		t.Errorf("ImportFile beyond the capture: %v", err)
	}
	if im, _ := join.ImportFile(path, join.ImportOptions{}); im.Warning() != nil {
		t.Errorf("complete import warns: %v", im.Warning())
	}
}

// TestInputs: the captures, then each one's sidecar: the given one, else
// CAPTURE.gaps.
func TestInputs(t *testing.T) {
	got := join.Inputs([]string{"a.pcap", "b.pcap", "c.pcap"}, join.Options{Sidecars: []string{"x.gaps", ""}, NoSidecar: true})
	want := []string{"a.pcap", "b.pcap", "c.pcap", "x.gaps", "b.pcap.gaps", "c.pcap.gaps"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("Inputs = %q, want %q", got, want)
	}
}
