package atomicfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	dest := filepath.Join(dir, "out.txt")
	f, err := Create(dest, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("hello")
	if _, err := os.Stat(dest); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("destination visible before commit: %v", err)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(dest)
	if string(b) != "hello" {
		t.Fatalf("got %q", b)
	}
	st, _ := os.Stat(dest)
	if st.Mode().Perm()&0o002 != 0 {
		t.Fatalf("world-writable: %v", st.Mode())
	}
	// Existing destination is refused without Overwrite.
	if _, err := Create(dest, Options{}); !errors.Is(err, ErrExists) {
		t.Fatalf("want ErrExists, got %v", err)
	}
	// An input is never overwritten, even with Overwrite.
	if _, err := Create(dest, Options{Overwrite: true, Inputs: []string{dest}}); !errors.Is(err, ErrSameFile) {
		t.Fatalf("want ErrSameFile, got %v", err)
	}
	g, err := Create(dest, Options{Overwrite: true})
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("partial")
	g.Abort()
	b, _ = os.ReadFile(dest)
	if string(b) != "hello" {
		t.Fatalf("abort changed destination: %q", b)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Fatalf("temporary files left: %v", ents)
	}
}

// TestMessages: what Create refuses is said in the user's words (no
// "atomicfile:" prefix, the path once) and still matches the sentinel.
func TestMessages(t *testing.T) {
	dir := t.TempDir()
	exists := filepath.Join(dir, "exists")
	os.WriteFile(exists, nil, 0o644)
	missing := filepath.Join(dir, "no", "x")
	for _, tc := range []struct {
		dest     string
		opt      Options
		sentinel error
		msg      string
	}{
		{exists, Options{}, ErrExists, exists + " exists (use --force to replace it)"},
		{exists, Options{Overwrite: true, Inputs: []string{exists}}, ErrSameFile, exists + " is an input of this run: it is never written over"},
		{dir, Options{Overwrite: true}, ErrNotRegular, dir + " is a directory, not a file to write"},
		{missing, Options{}, ErrNoDir, "output directory does not exist: " + filepath.Dir(missing) + " (for " + missing + ")"},
		{filepath.Join(exists, "x"), Options{}, ErrNoDir, "output directory " + exists + " is not a directory (for " + filepath.Join(exists, "x") + ")"},
	} {
		_, err := Create(tc.dest, tc.opt)
		if !errors.Is(err, tc.sentinel) || err.Error() != tc.msg {
			t.Errorf("Create(%s): %v, want %q (%v)", tc.dest, err, tc.msg, tc.sentinel)
		}
	}
}
