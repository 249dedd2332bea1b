//go:build linux

package recorder

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gapan/gapan/internal/testenv"
)

// TestProgressLines: with Progress set, Run says where it listens once it
// has started and ends with the summary; the "any" device warns that it
// has no promiscuous mode. A short capture on the loopback, which may see
// no frame at all: the lines do not depend on traffic.
func TestProgressLines(t *testing.T) {
	if os.Geteuid() != 0 {
		testenv.SkipOrFail(t, "live capture needs root (CAP_NET_RAW)")
	}
	for _, tc := range []struct {
		iface   string
		promisc bool
		warn    bool
	}{{"lo", true, false}, {AnyInterface, true, true}, {AnyInterface, false, false}} {
		out := filepath.Join(t.TempDir(), "p.pcap")
		var b bytes.Buffer
		if _, err := Run(context.Background(), Config{Interface: tc.iface, Output: out, Promisc: tc.promisc, Duration: 200 * time.Millisecond, Progress: &b}); err != nil {
			t.Fatal(err)
		}
		lines := b.String()
		listening := "gapan record: listening on " + tc.iface + ", writing " + out + " and " + out + ".gaps\n"
		warning := "gapan record: warning: promiscuous mode is not supported on the \"any\" device\n"
		if !strings.Contains(lines, listening) || strings.Contains(lines, warning) != tc.warn || !strings.Contains(lines, " packets captured\n") && !strings.Contains(lines, " packet captured\n") {
			t.Errorf("%s, promisc %v: progress\n%s", tc.iface, tc.promisc, lines)
		}
		if tc.warn && !strings.HasPrefix(lines, warning) {
			t.Errorf("the warning does not come first:\n%s", lines)
		}
	}
	var b bytes.Buffer
	if _, err := Run(context.Background(), Config{Interface: "lo", Progress: &b}); err == nil || b.Len() != 0 {
		t.Errorf("no output file: err %v, progress %q (want an error and no line)", err, b.String())
	}
}
