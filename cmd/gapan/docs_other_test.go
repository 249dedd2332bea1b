//go:build !linux

package main

import (
	"testing"

	"github.com/gapan/gapan/internal/testenv"
	"github.com/spf13/cobra"
)

// runRootExamples needs Linux's network namespaces: elsewhere it skips
// (fails when CI=true).
func runRootExamples(t *testing.T, c *cobra.Command) int {
	testenv.SkipOrFail(t, c.CommandPath()+"'s examples capture on Linux only")
	return 0
}
