package main

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestArchitectureImports holds the package diagram of docs/architecture.md
// ("Which package calls which") to the packages' own import lists, read by
// go/build for Linux: every arrow drawn is an import, every import of a
// module package is drawn, every arrow goes to a line below its package,
// and every package of the module is drawn or named among the tools and
// tests left out.
func TestArchitectureImports(t *testing.T) {
	const module = "github.com/gapan/gapan"
	doc, err := os.ReadFile("../../docs/architecture.md")
	if err != nil {
		t.Fatal(err)
	}
	drawn, floor, skipped := parseDiagram(t, string(doc))

	ctx := build.Default
	ctx.GOOS, ctx.GOARCH = "linux", "amd64"
	actual := map[string][]string{}
	err = filepath.WalkDir("../..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		rel, _ := filepath.Rel("../..", path)
		rel = filepath.ToSlash(rel)
		if name := d.Name(); rel != "." && (name == "testdata" || strings.HasPrefix(name, ".") || strings.HasPrefix(name, "_")) {
			return filepath.SkipDir
		}
		if _, err := os.Stat(filepath.Join(path, "go.mod")); err == nil && rel != "." {
			return filepath.SkipDir // another module (interop/duckdb)
		}
		p, err := ctx.ImportDir(path, 0)
		if err != nil {
			return nil // no Go files for linux, or tests only
		}
		var imps []string
		for _, imp := range p.Imports {
			if after, ok := strings.CutPrefix(imp, module+"/"); ok {
				imps = append(imps, after)
			}
		}
		actual[rel] = imps
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(actual) < 20 {
		t.Fatalf("found only %d packages under the module root: the walk reads nothing", len(actual))
	}

	for pkg, imps := range actual {
		want, ok := drawn[pkg]
		if !ok {
			if !slices.ContainsFunc(skipped, func(s string) bool {
				prefix, tree := strings.CutSuffix(s, "/...")
				return pkg == s || tree && (pkg == prefix || strings.HasPrefix(pkg, prefix+"/"))
			}) {
				t.Errorf("package %s is neither drawn nor named among the tools and tests", pkg)
			}
			continue
		}
		for _, imp := range imps {
			if !slices.Contains(want, imp) {
				t.Errorf("%s imports %s: no arrow drawn", pkg, imp)
			}
		}
		for _, w := range want {
			if !slices.Contains(imps, w) {
				t.Errorf("%s ──▶ %s is drawn, but %s does not import it", pkg, w, pkg)
			}
			if f, ok := floor[w]; ok && f <= floor[pkg] {
				t.Errorf("%s ──▶ %s goes up or across: %s is not drawn below %s", pkg, w, w, pkg)
			}
		}
	}
	for pkg := range drawn {
		if _, ok := actual[pkg]; !ok {
			t.Errorf("%s is drawn but is not a package of the module", pkg)
		}
	}
}

// parseDiagram reads the code block after "## Which package calls which":
// "pkg... ──▶ imports..." (continued on the lines indented below it; "none
// of the module" draws no arrow) and "tools and tests, not drawn: ...". It
// returns each drawn package's imports, the line each is drawn on, and the
// packages left out ("dir/..." for a tree).
func parseDiagram(t *testing.T, doc string) (drawn map[string][]string, floor map[string]int, skipped []string) {
	t.Helper()
	_, sec, ok := strings.Cut(doc, "\n## Which package calls which\n")
	if !ok {
		t.Fatal(`docs/architecture.md has no "## Which package calls which"`)
	}
	_, block, ok := strings.Cut(sec, "\n```\n")
	if block, _, ok = strings.Cut(block, "\n```\n"); !ok {
		t.Fatal("no diagram block under Which package calls which")
	}
	drawn, floor = map[string][]string{}, map[string]int{}
	var cur []string     // the packages of the arrow being read
	var pending []string // package names of a line without an arrow yet
	for i, line := range strings.Split(block, "\n") {
		if rest, ok := strings.CutPrefix(line, "tools and tests, not drawn:"); ok {
			skipped, cur = append(skipped, strings.Fields(rest)...), nil
			continue
		}
		if cur == nil && skipped != nil && strings.TrimSpace(line) != "" {
			skipped = append(skipped, strings.Fields(line)...) // continued
			continue
		}
		left, right, arrow := strings.Cut(line, "──▶")
		switch {
		case arrow:
			cur = append(pending, strings.Fields(left)...)
			pending = nil
			for _, p := range cur {
				drawn[p], floor[p] = []string{}, i
			}
			if strings.TrimSpace(right) == "none of the module" {
				right = ""
			}
		case strings.HasPrefix(line, " ") && cur != nil:
			right = line
		case strings.TrimSpace(line) != "":
			pending, cur = append(pending, strings.Fields(line)...), nil
			continue
		}
		for _, p := range cur {
			drawn[p] = append(drawn[p], strings.Fields(right)...)
		}
	}
	if len(drawn) == 0 || len(skipped) == 0 {
		t.Fatalf("read %d drawn packages and %d left out from the diagram", len(drawn), len(skipped))
	}
	return drawn, floor, skipped
}
