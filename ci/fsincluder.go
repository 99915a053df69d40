package ci

import (
	"context"
	"errors"
	"fmt"
	"io/fs"

	"github.com/gantry-ci/gantry"
)

// FSIncluder resolves local includes from a file tree (os.DirFS for
// `gantry ci lint`, fstest.MapFS in tests) and reports project, template
// and remote includes as not available offline.
type FSIncluder struct {
	FS fs.FS
	// MaxFiles bounds the file listing; default 100,000.
	MaxFiles int
}

var _ Includer = (*FSIncluder)(nil)

// Local reads path from the tree.
func (f *FSIncluder) Local(_ context.Context, path string) ([]byte, error) {
	b, err := fs.ReadFile(f.FS, path)
	if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrInvalid) {
		return nil, fmt.Errorf("read %s: %w", path, gantry.ErrNotFound)
	}
	return b, err
}

// Files lists every regular file, skipping .git.
func (f *FSIncluder) Files(ctx context.Context) ([]string, error) {
	max := f.MaxFiles
	if max <= 0 {
		max = 100_000
	}
	var out []string
	err := fs.WalkDir(f.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return fs.SkipDir
		}
		if d.Type().IsRegular() {
			if len(out) >= max {
				return fmt.Errorf("more than %d files in the repository", max)
			}
			out = append(out, p)
		}
		return ctx.Err()
	})
	return out, err
}

// Project is not available offline.
func (f *FSIncluder) Project(_ context.Context, project, ref, path string) ([]byte, error) {
	return nil, fmt.Errorf("include:project %s is not available offline: %w", project, gantry.ErrNotImplemented)
}

// Template is not available offline.
func (f *FSIncluder) Template(_ context.Context, name string) ([]byte, error) {
	return nil, fmt.Errorf("include:template %s is not available offline: %w", name, gantry.ErrNotImplemented)
}

// Remote is not available offline.
func (f *FSIncluder) Remote(_ context.Context, url string) ([]byte, error) {
	return nil, fmt.Errorf("include:remote %s is not available offline: %w", url, gantry.ErrNotImplemented)
}
