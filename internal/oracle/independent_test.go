package oracle

import (
	"os/exec"
	"strings"
	"testing"
)

// TestIndependent checks that the oracle shares no code with the engine it
// checks: none of its dependencies, direct or indirect, is one of gapan's
// accounting packages (or anything else of gapan's).
func TestIndependent(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", "-test", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	var checked int
	for _, p := range strings.Fields(string(out)) {
		if !strings.HasPrefix(p, "github.com/gapan/gapan") {
			continue
		}
		checked++
		if p != "github.com/gapan/gapan/internal/oracle" && !strings.HasPrefix(p, "github.com/gapan/gapan/internal/oracle ") &&
			p != "github.com/gapan/gapan/internal/oracle.test" {
			t.Errorf("the oracle depends on %s; it must not use gapan's own code (loss, flow, decode, ...)", p)
		}
	}
	if checked == 0 {
		t.Fatal("go list -deps did not list the oracle itself: the check checked nothing")
	}
}
