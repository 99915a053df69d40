package trace

import (
	"os"
	"path/filepath"
	"testing"
)

// readShared reads a file of ../shared (beside the repository root).
func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatal("no go.mod above the test directory")
		}
		dir = parent
	}
	p := filepath.Join(dir, "..", "shared", rel)
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatalf("shared/ must sit beside the repository (CI copies it there): %v", err)
	}
	return b
}
