package trace

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry/internal/corpus"
)

// readShared reads a file of ../shared (beside the repository root).
func readShared(t *testing.T, rel string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(corpus.SharedDir(t), rel))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
