package artifact

import (
	"archive/zip"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path"
	"path/filepath"
	"strings"

	"github.com/gantry-ci/gantry"
)

// Extract unpacks the zip archive r (of size bytes) into dest. An entry
// whose name is absolute, contains "..", or would be written through a
// symlink that leaves dest is refused with an error wrapping
// gantry.ErrInvalid before anything of it is written; symlinks whose
// target leaves dest are refused too.
func Extract(r io.ReaderAt, size int64, dest string) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%w: open zip: %v", gantry.ErrInvalid, err)
	}
	dest, err = filepath.Abs(dest)
	if err != nil {
		return err
	}
	for _, f := range zr.File {
		if err := checkName(f.Name); err != nil {
			return err
		}
	}
	for _, f := range zr.File {
		if err := extractOne(f, dest); err != nil {
			return err
		}
	}
	return nil
}

func checkName(name string) error {
	n := strings.ReplaceAll(name, `\`, "/")
	if n == "" || path.IsAbs(n) || (len(n) > 1 && n[1] == ':') {
		return fmt.Errorf("%w: zip entry %q has an absolute path", gantry.ErrInvalid, name)
	}
	for _, part := range strings.Split(n, "/") {
		if part == ".." {
			return fmt.Errorf("%w: zip entry %q leaves the target directory", gantry.ErrInvalid, name)
		}
	}
	return nil
}

func extractOne(f *zip.File, dest string) error {
	target := filepath.Join(dest, filepath.FromSlash(strings.ReplaceAll(f.Name, `\`, "/")))
	if err := insideReal(dest, filepath.Dir(target)); err != nil {
		return fmt.Errorf("zip entry %q: %w", f.Name, err)
	}
	mode := f.Mode()
	switch {
	case mode.IsDir():
		return os.MkdirAll(target, 0o755)
	case mode&os.ModeSymlink != 0:
		rc, err := f.Open()
		if err != nil {
			return err
		}
		link, err := io.ReadAll(io.LimitReader(rc, 4096))
		rc.Close()
		if err != nil {
			return err
		}
		resolved := string(link)
		if !filepath.IsAbs(resolved) {
			resolved = filepath.Join(filepath.Dir(target), resolved)
		}
		if !within(dest, filepath.Clean(resolved)) {
			return fmt.Errorf("%w: zip entry %q links outside the target directory", gantry.ErrInvalid, f.Name)
		}
		if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
			return err
		}
		_ = os.Remove(target)
		return os.Symlink(string(link), target)
	}
	if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
		return err
	}
	rc, err := f.Open()
	if err != nil {
		return fmt.Errorf("zip entry %q: %w", f.Name, err)
	}
	defer rc.Close()
	_ = os.Remove(target) // never write through an existing symlink
	out, err := os.OpenFile(target, os.O_WRONLY|os.O_CREATE|os.O_TRUNC|os.O_EXCL, mode.Perm()|0o200)
	if err != nil {
		return fmt.Errorf("zip entry %q: %w", f.Name, err)
	}
	if _, err := io.Copy(out, rc); err != nil {
		out.Close()
		return fmt.Errorf("zip entry %q: %w", f.Name, err)
	}
	if err := out.Close(); err != nil {
		return err
	}
	return os.Chtimes(target, f.Modified, f.Modified)
}

// insideReal checks that dir, with symlinks resolved as far as it exists,
// is within dest.
func insideReal(dest, dir string) error {
	realDest, err := filepath.EvalSymlinks(dest)
	if err != nil {
		if os.IsNotExist(err) {
			return nil
		}
		return err
	}
	p := dir
	for {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			if !within(realDest, real) {
				return fmt.Errorf("%w: path escapes the target directory through a symlink", gantry.ErrInvalid)
			}
			return nil
		}
		parent := filepath.Dir(p)
		if parent == p {
			return nil
		}
		p = parent
	}
}

func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}

// Gzip writes the regular files of a zip archive as one gzip member each,
// concatenated (GitLab's gzip artifact format).
func Gzip(w io.Writer, r io.ReaderAt, size int64) error {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		return fmt.Errorf("%w: open zip: %v", gantry.ErrInvalid, err)
	}
	for _, f := range zr.File {
		if !f.Mode().IsRegular() {
			continue
		}
		rc, err := f.Open()
		if err != nil {
			return err
		}
		gw := gzip.NewWriter(w)
		gw.Name = f.Name
		_, err = io.Copy(gw, rc)
		rc.Close()
		if err == nil {
			err = gw.Close()
		}
		if err != nil {
			return err
		}
	}
	return nil
}
