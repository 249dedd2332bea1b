package main

import (
	"os"
	"regexp"
	"testing"
)

// TestReadmeGoVersion holds the README's install line to go.mod's go
// directive, so that the two cannot drift apart again.
func TestReadmeGoVersion(t *testing.T) {
	mod, err := os.ReadFile("../../go.mod")
	if err != nil {
		t.Fatal(err)
	}
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	if goLine == nil {
		t.Fatal("go.mod has no go line")
	}
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`Go (\d+\.\d+(?:\.\d+)?) or newer`).FindSubmatch(readme)
	if m == nil {
		t.Fatal(`README.md has no "Go X.Y.Z or newer" line`)
	}
	if got, want := string(m[1]), string(goLine[1]); got != want {
		t.Errorf("README.md says Go %s or newer; go.mod's go line is %s", got, want)
	}
}
