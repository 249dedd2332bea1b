package main

// The command reference under docs/cli/ (Markdown, one page per command)
// and docs/man/ (man pages) is generated from the cobra commands by
// TestCLIDocs in docs_test.go, which also fails when the committed pages
// differ from what the commands say now. Regenerate with go generate.
//go:generate go test -run ^TestCLIDocs$ -update .
