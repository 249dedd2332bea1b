package main

import "github.com/gapan/gapan/internal/cli"

// The names the command's tests use for internal/cli's exit codes and
// usage error (they were cmd/gapan's own before the package held them).
const (
	exitOK      = cli.ExitOK
	exitFailure = cli.ExitFailure
	exitUsage   = cli.ExitUsage
)

type usageError = cli.UsageError
