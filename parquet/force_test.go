package parquet_test

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gapan/gapan/join"
	"github.com/gapan/gapan/parquet"
)

// TestForceReplacesOnlyOwnDatasets: --force replaces a dataset gapan
// wrote, and nothing else: not a folder with the user's files in it, not
// a dataset that holds an input (a --sidecar inside it), not a dataset
// with a file added, not a symbolic link.
func TestForceReplacesOnlyOwnDatasets(t *testing.T) {
	capture := corpus + "zeek-pppoe-over-qinq.pcap"
	t.Run("a folder of notes", func(t *testing.T) {
		v := filepath.Join(t.TempDir(), "v")
		os.MkdirAll(filepath.Join(v, "sub"), 0o755)
		os.WriteFile(filepath.Join(v, "notes.txt"), []byte("x"), 0o644)
		_, err := parquet.WriteDataset(v, []string{capture}, parquet.Options{Force: true})
		if !errors.Is(err, parquet.ErrNotDataset) {
			t.Fatalf("err = %v, want ErrNotDataset", err)
		}
		if b, err := os.ReadFile(filepath.Join(v, "notes.txt")); err != nil || string(b) != "x" {
			t.Fatalf("notes.txt: %q %v", b, err)
		}
		if _, err := os.Stat(filepath.Join(v, "sub")); err != nil {
			t.Fatal("sub-folder gone")
		}
	})
	t.Run("its own dataset, then a file added", func(t *testing.T) {
		ds := filepath.Join(t.TempDir(), "ds")
		if _, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{}); err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(ds, parquet.ManifestFile)); err != nil {
			t.Fatalf("no manifest: %v", err)
		}
		if _, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{Force: true}); err != nil {
			t.Fatalf("replacing its own dataset: %v", err)
		}
		extra := filepath.Join(ds, "frames", "mine.csv")
		os.WriteFile(extra, []byte("y"), 0o644)
		_, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{Force: true})
		if !errors.Is(err, parquet.ErrNotDataset) || !strings.Contains(err.Error(), extra) {
			t.Fatalf("err = %v, want ErrNotDataset naming %s", err, extra)
		}
		if _, err := os.Stat(extra); err != nil {
			t.Fatal("the added file is gone")
		}
	})
	t.Run("the sidecar inside it", func(t *testing.T) {
		ds := filepath.Join(t.TempDir(), "ds")
		if _, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{}); err != nil {
			t.Fatal(err)
		}
		sc := filepath.Join(ds, "frames", "my.gaps")
		if err := os.WriteFile(sc, []byte("# gapan-sidecar-text 1\n# frame gap\n3 1\n# frames 86\n"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{Force: true, Join: join.Options{Sidecars: []string{sc}, AllowMismatch: true}})
		if !errors.Is(err, parquet.ErrInputInside) {
			t.Fatalf("err = %v, want ErrInputInside", err)
		}
		if _, err := os.Stat(sc); err != nil {
			t.Fatal("the input sidecar is gone")
		}
	})
	t.Run("a symbolic link", func(t *testing.T) {
		dir := t.TempDir()
		ds := filepath.Join(dir, "ds")
		if _, err := parquet.WriteDataset(ds, []string{capture}, parquet.Options{}); err != nil {
			t.Fatal(err)
		}
		link := filepath.Join(dir, "link")
		os.Symlink("ds", link)
		if _, err := parquet.WriteDataset(link, []string{capture}, parquet.Options{Force: true}); !errors.Is(err, parquet.ErrNotDataset) {
			t.Fatalf("err = %v, want ErrNotDataset", err)
		}
		if st, err := os.Lstat(link); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Fatal("the link was replaced")
		}
	})
	t.Run("a missing parent directory", func(t *testing.T) {
		missing := filepath.Join(t.TempDir(), "no", "such")
		_, err := parquet.WriteDataset(filepath.Join(missing, "ds"), []string{capture}, parquet.Options{})
		if err == nil || !strings.Contains(err.Error(), missing+",") {
			t.Fatalf("err = %v, want one naming %s", err, missing)
		}
	})
}
