package annotate

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/sidecar"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// TestGoldenMultiInterface pins what Wireshark shows of a small annotated
// two-interface capture: per frame its interface, drop count, comment,
// timestamp and MD5, then the statistics blocks and the section comment.
func TestGoldenMultiInterface(t *testing.T) {
	t.Parallel()
	in := copyCorpus(t, "zeek-pcapng-multi-interface.pcapng")
	fs, ifs, _ := readFrames(t, in)
	hdr := sidecar.Header{Source: sidecar.SourceKernel, Identity: identityOf(fs, ifs), CreatedNs: 1767663500000000000, Tool: "gapan-record 0.1"}
	recs := []sidecar.Record{{Frame: 2, Gap: 40}, {Frame: 3, Gap: 1}, {Frame: 6, Gap: 7}}
	writeSidecar(t, sidecar.PathFor(in), hdr, recs, sidecar.Trailer{Frames: 6, Tail: []sidecar.InterfaceGap{{Interface: 1, Lost: 3}}})
	out := filepath.Join(t.TempDir(), "annotated.pcapng")
	if _, err := Run(Config{Inputs: []string{in}, Output: out}); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	b.WriteString("# tshark -r annotated.pcapng -T fields -e frame.number -e frame.interface_id -e frame.drop_count -e frame.comment -e frame.time_epoch -e frame.md5_hash\n")
	for _, r := range tshark(t, out, "", "frame.number", "frame.interface_id", "frame.drop_count", "frame.comment", "frame.time_epoch", "frame.md5_hash") {
		b.WriteString(strings.Join(r, "\t") + "\n")
	}
	_, _, stats := readFrames(t, out)
	for _, s := range stats {
		fmt.Fprintf(&b, "isb interface %d: ifdrop %d, start %d, end %d\n", s.InterfaceID, s.Dropped, s.StartNs, s.EndNs)
	}
	b.WriteString("# section comment\n")
	b.WriteString(strings.ReplaceAll(provenance(Config{Inputs: []string{in}}), filepath.Dir(in)+string(filepath.Separator), "") + "\n")
	got := b.String()
	golden := filepath.Join("testdata", "multi-interface.golden")
	if *update {
		if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test -update)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (go test -update to accept):\n%s", golden, got)
	}
	if c := capinfosComment(t, out); !strings.Contains(c, `tool "gapan-record 0.1"`) {
		t.Errorf("capinfos does not show the section comment:\n%s", c)
	}
}
