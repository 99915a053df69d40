package fs_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/blob"
	"github.com/gantry-ci/gantry/blob/blobtest"
	"github.com/gantry-ci/gantry/blob/fs"
)

func mustNew(tb testing.TB, root string) *fs.Store {
	tb.Helper()
	s, err := fs.New(root)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(tb testing.TB) blob.Store { return mustNew(tb, tb.TempDir()) })
}

// TestNoEscape checks that refused keys leave no file anywhere near the
// root, not only that they return an error.
func TestNoEscape(t *testing.T) {
	outer := t.TempDir()
	root := filepath.Join(outer, "objects")
	s := mustNew(t, root)
	for _, key := range blobtest.InvalidKeys {
		s.Put(t.Context(), key, strings.NewReader("evil"))
	}
	var files []string
	filepath.Walk(outer, func(path string, info os.FileInfo, err error) error {
		if err == nil && !info.IsDir() {
			files = append(files, path)
		}
		return nil
	})
	if len(files) != 0 {
		t.Errorf("refused keys left files: %v", files)
	}
}

func TestLayoutAndTemporaryFiles(t *testing.T) {
	root := t.TempDir()
	s := mustNew(t, root)
	blobtest.MustPut(t, s, "traces/42.log", []byte("log"))
	data, err := os.ReadFile(filepath.Join(root, "traces", "42.log"))
	if err != nil || string(data) != "log" {
		t.Fatalf("object file = %q, %v", data, err)
	}
	tmp := filepath.Join(root, ".tmp")
	if entries, _ := os.ReadDir(tmp); len(entries) != 0 {
		t.Errorf("temporary files left after Put: %v", entries)
	}
	stale, fresh := filepath.Join(tmp, "put-stale"), filepath.Join(tmp, "put-fresh")
	for _, p := range []string{stale, fresh} {
		if err := os.WriteFile(p, []byte("partial"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	old := time.Now().Add(-2 * time.Hour)
	if err := os.Chtimes(stale, old, old); err != nil {
		t.Fatal(err)
	}
	mustNew(t, root) // a restart after a crash
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("stale temporary file kept: %v", err)
	}
	if _, err := os.Stat(fresh); err != nil {
		t.Errorf("a live writer's temporary file was removed: %v", err)
	}
	if err := s.Delete(t.Context(), "traces/42.log"); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "traces")); !os.IsNotExist(err) {
		t.Errorf("emptied folder kept after Delete: %v", err)
	}
}
