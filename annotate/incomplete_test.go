package annotate

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

// TestAnnotateIncompleteSidecar: with a sidecar cut short (a killed
// recorder), the frames before its end keep their epb_dropcount, but no
// isb_ifdrop claims a total, and the frame after the sidecar's end carries
// a comment saying the loss is unknown from there on (Wireshark shows it
// as frame.comment).
func TestAnnotateIncompleteSidecar(t *testing.T) {
	in := copyCorpus(t, "zeek-echo-connections.pcap")
	fs, ifs, _ := readFrames(t, in)
	var buf bytes.Buffer
	w, err := sidecar.NewWriter(&buf, sidecar.Header{Source: sidecar.SourceKernel, Identity: identityOf(fs, ifs)})
	if err != nil {
		t.Fatal(err)
	}
	w.Add(sidecar.Record{Frame: 4, Gap: 3})
	w.Add(sidecar.Record{Frame: 7, Gap: 1})
	if err := w.Flush(); err != nil { // no trailer
		t.Fatal(err)
	}
	os.WriteFile(sidecar.PathFor(in), buf.Bytes(), 0o644)
	out := filepath.Join(t.TempDir(), "out.pcapng")
	st, err := Run(Config{Inputs: []string{in}, Output: out})
	if err != nil {
		t.Fatal(err)
	}
	if st.Lost != 4 || st.GapFrames != 2 {
		t.Errorf("lost %d in %d frames, want 4 in 2", st.Lost, st.GapFrames)
	}
	_, _, stats := readFrames(t, out)
	for _, s := range stats {
		if s.HasDropped {
			t.Errorf("interface %d: isb_ifdrop %d claims a total", s.InterfaceID, s.Dropped)
		}
	}
	b, _ := os.ReadFile(out)
	if !bytes.Contains(b, []byte("gapan: loss unknown from this frame on (the sidecar ends after frame 7)")) {
		t.Error("the pcapng does not say the loss after frame 7 is unknown")
	}
	if rows := tshark(t, out, "frame.comment contains \"loss unknown\"", "frame.number"); len(rows) != 1 || rows[0][0] != "8" {
		t.Errorf("tshark finds the note on frames %v, want frame 8", rows)
	}
}
