//go:build !linux

package testfiles

import (
	"os"
	"testing"

	"github.com/gapan/gapan/internal/testenv"
)

// Terminal is Linux only here: elsewhere it skips (fails when CI=true).
func Terminal(t testing.TB) *os.File {
	testenv.SkipOrFail(t, "pseudo-terminals are opened on Linux only")
	return nil
}
