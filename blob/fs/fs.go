// Package fs keeps blobs as files under a local folder: the default object
// store of a single-node Gantry (<data-dir>/objects).
//
// An object "a/b/c" is the file <root>/a/b/c. Put writes a temporary file
// in <root>/.tmp, fsyncs it, renames it into place and fsyncs the folder,
// so readers see whole objects only and a crash leaves either the old
// object or the new one. Keys never reach the file system before
// blob.CheckKey accepted them, so no key can name a path outside the root.
package fs

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/blob"
)

// tmpDir holds objects being written. Keys cannot start with a dot, so it
// never clashes with an object.
const tmpDir = ".tmp"

// staleAfter is how old an abandoned temporary file must be before New
// removes it. Writers touch their file as they go, so a live one is newer.
const staleAfter = time.Hour

// Store is a blob.Store over a folder. It is safe for concurrent use,
// also by several processes sharing the folder.
type Store struct {
	root string
	tmp  string
}

var _ blob.Store = (*Store)(nil)

// New returns a Store rooted at root, creating the folder if needed and
// removing temporary files a crashed writer left behind.
func New(root string) (*Store, error) {
	abs, err := filepath.Abs(root)
	if err != nil {
		return nil, fmt.Errorf("blob folder %s: %w", root, err)
	}
	s := &Store{root: abs, tmp: filepath.Join(abs, tmpDir)}
	if err := os.MkdirAll(s.tmp, 0o750); err != nil {
		return nil, fmt.Errorf("blob folder %s: %w", root, err)
	}
	if err := s.removeStale(time.Now().Add(-staleAfter)); err != nil {
		return nil, fmt.Errorf("blob folder %s: %w", root, err)
	}
	return s, nil
}

func (s *Store) removeStale(before time.Time) error {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return err
	}
	for _, e := range entries {
		info, err := e.Info()
		if err == nil && info.ModTime().Before(before) {
			_ = os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
	return nil
}

// path maps a key to its file, refusing keys blob.CheckKey refuses.
func (s *Store) path(key string) (string, error) {
	if err := blob.CheckKey(key); err != nil {
		return "", err
	}
	p := filepath.Join(s.root, filepath.FromSlash(key))
	if !strings.HasPrefix(p, s.root+string(filepath.Separator)) {
		// Unreachable after CheckKey; kept as a second lock on the door.
		return "", fmt.Errorf("blob key %q escapes the root: %w", key, gantry.ErrInvalid)
	}
	return p, nil
}

// Put implements blob.Store.
func (s *Store) Put(ctx context.Context, key string, r io.Reader) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	if err := ctx.Err(); err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	placed := false
	defer func() {
		if !placed {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	n, err := io.Copy(f, ctxReader{ctx, r})
	if err == nil {
		err = f.Sync()
	}
	if err == nil {
		err = f.Close()
	}
	if err == nil {
		err = s.place(f.Name(), p)
	}
	if err != nil {
		return 0, fmt.Errorf("put %s: %w", key, err)
	}
	placed = true
	return n, nil
}

// place renames the finished temporary file to dst. A concurrent Delete
// may remove the empty parent folder between creating it and renaming, so
// it tries a few times.
func (s *Store) place(tmp, dst string) error {
	var err error
	for range 5 {
		if err = s.mkdirs(filepath.Dir(dst)); err != nil {
			break
		}
		if err = os.Rename(tmp, dst); !errors.Is(err, syscall.ENOENT) {
			break
		}
	}
	switch {
	case err == nil:
		return syncDir(filepath.Dir(dst))
	case isClash(err):
		return fmt.Errorf("%w: %w", gantry.ErrConflict, err)
	}
	return err
}

// mkdirs creates dir and its missing parents below the root, fsyncing the
// folder that holds each new one so that the object's path survives a
// crash, not just its bytes.
func (s *Store) mkdirs(dir string) error {
	if dir == s.root {
		return nil
	}
	if info, err := os.Stat(dir); err == nil {
		if !info.IsDir() {
			return &os.PathError{Op: "mkdir", Path: dir, Err: syscall.ENOTDIR}
		}
		return nil
	}
	if err := s.mkdirs(filepath.Dir(dir)); err != nil {
		return err
	}
	if err := os.Mkdir(dir, 0o750); err != nil && !errors.Is(err, os.ErrExist) {
		return err
	}
	return syncDir(filepath.Dir(dir))
}

// Get implements blob.Store. The returned file also implements io.Seeker
// and io.ReaderAt.
func (s *Store) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	p, err := s.path(key)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("get %s: %w", key, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("get %s: %w", key, notFound(err))
	}
	if info, err := f.Stat(); err != nil || info.IsDir() {
		f.Close()
		return nil, fmt.Errorf("get %s: %w", key, gantry.ErrNotFound)
	}
	return f, nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (int64, error) {
	p, err := s.path(key)
	if err != nil {
		return 0, err
	}
	info, err := os.Stat(p)
	switch {
	case err != nil:
		return 0, fmt.Errorf("stat %s: %w", key, notFound(err))
	case info.IsDir():
		return 0, fmt.Errorf("stat %s: %w", key, gantry.ErrNotFound)
	}
	return info.Size(), nil
}

// Delete implements blob.Store. It also removes the folders the object
// leaves empty, so that artifacts/<job>/ does not outlive its files.
func (s *Store) Delete(ctx context.Context, key string) error {
	p, err := s.path(key)
	if err != nil {
		return err
	}
	info, err := os.Lstat(p)
	if err != nil || info.IsDir() {
		return nil // missing, or a folder other keys live in: no object here
	}
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("delete %s: %w", key, err)
	}
	for dir := filepath.Dir(p); dir != s.root; dir = filepath.Dir(dir) {
		if os.Remove(dir) != nil {
			break // not empty (or gone): stop climbing
		}
	}
	return nil
}

func notFound(err error) error {
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ENOTDIR) {
		return fmt.Errorf("%w: %w", gantry.ErrNotFound, err)
	}
	return err
}

func isClash(err error) bool {
	for _, e := range []error{syscall.ENOTDIR, syscall.EISDIR, syscall.EEXIST, syscall.ENOTEMPTY} {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// ctxReader stops a copy when its context ends.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
