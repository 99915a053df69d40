// Package artifact makes and unpacks the zip archives of job artifacts and
// caches: paths matched with GitLab's glob rules (doublestar), exclude
// patterns and untracked files on the way in, and zip-slip-safe extraction
// on the way out.
package artifact

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"slices"
	"strings"

	"github.com/bmatcuk/doublestar/v4"

	"github.com/gantry-ci/gantry"
)

// Selection says which files of a directory go into an archive.
type Selection struct {
	Paths     []string // globs relative to the root; directories are taken whole
	Exclude   []string // globs of files to leave out
	Untracked bool     // add files git does not track
}

// Match lists the files, directories and symlinks selection picks under
// root, as slash-separated relative paths, sorted (a directory before its
// contents). Patterns that point outside root
// are an error wrapping gantry.ErrInvalid; patterns that match nothing are
// reported in missing.
func Match(ctx context.Context, root string, sel Selection) (files, missing []string, err error) {
	set := map[string]bool{} // path → is a directory
	for _, p := range sel.Paths {
		clean, err := relPattern(p)
		if err != nil {
			return nil, nil, err
		}
		matches, err := doublestar.Glob(os.DirFS(root), clean, doublestar.WithNoFollow())
		if err != nil {
			return nil, nil, fmt.Errorf("%w: artifact path %q: %v", gantry.ErrInvalid, p, err)
		}
		if len(matches) == 0 {
			missing = append(missing, p)
		}
		for _, m := range matches {
			if err := addTree(root, m, set); err != nil {
				return nil, nil, err
			}
		}
	}
	if sel.Untracked {
		out, err := exec.CommandContext(ctx, "git", "-C", root, "ls-files", "-z", "--others", "--exclude-standard").Output()
		if err != nil {
			return nil, nil, fmt.Errorf("list untracked files: %w", err)
		}
		for _, f := range strings.Split(strings.TrimRight(string(out), "\x00"), "\x00") {
			if f != "" {
				set[f] = false
			}
		}
	}
	var excludes []string
	for _, ex := range sel.Exclude {
		clean, err := relPattern(ex)
		if err != nil {
			return nil, nil, err
		}
		excludes = append(excludes, clean)
	}
	for f, isDir := range set {
		for _, ex := range excludes {
			if excluded(ex, f, isDir) {
				delete(set, f)
				break
			}
		}
	}
	files = make([]string, 0, len(set))
	for f := range set {
		files = append(files, f)
	}
	slices.Sort(files)
	return files, missing, nil
}

// excluded reports whether an exclude pattern removes f. "dir/**" removes
// what is below dir but keeps dir itself, as GitLab does.
func excluded(pattern, f string, isDir bool) bool {
	if isDir && strings.HasSuffix(pattern, "/**") && strings.TrimSuffix(pattern, "/**") == f {
		return false
	}
	if ok, _ := doublestar.Match(pattern, f); ok {
		return true
	}
	return underDir(pattern, f)
}

// underDir reports whether f lies below a directory named by pattern.
func underDir(pattern, f string) bool {
	for d := path.Dir(f); d != "." && d != "/"; d = path.Dir(d) {
		if ok, _ := doublestar.Match(pattern, d); ok {
			return true
		}
	}
	return false
}

// relPattern makes a pattern relative and refuses ones that leave the root.
func relPattern(p string) (string, error) {
	p = strings.TrimPrefix(filepath.ToSlash(p), "./")
	if p == "" || path.IsAbs(p) {
		return "", fmt.Errorf("%w: path %q must be relative to the project directory", gantry.ErrInvalid, p)
	}
	for _, part := range strings.Split(p, "/") {
		if part == ".." {
			return "", fmt.Errorf("%w: path %q leaves the project directory", gantry.ErrInvalid, p)
		}
	}
	return strings.TrimSuffix(p, "/"), nil
}

func addTree(root, rel string, set map[string]bool) error {
	return filepath.WalkDir(filepath.Join(root, filepath.FromSlash(rel)), func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == ".git" {
			return filepath.SkipDir
		}
		r, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		if r != "." {
			set[filepath.ToSlash(r)] = d.IsDir()
		}
		return nil
	})
}

// Zip writes files (relative to root) as a zip archive to w.
func Zip(w io.Writer, root string, files []string) error {
	zw := zip.NewWriter(w)
	for _, f := range files {
		if err := addFile(zw, root, f); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("finish zip: %w", err)
	}
	return nil
}

func addFile(zw *zip.Writer, root, rel string) error {
	full := filepath.Join(root, filepath.FromSlash(rel))
	fi, err := os.Lstat(full)
	if err != nil {
		return fmt.Errorf("archive %s: %w", rel, err)
	}
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return fmt.Errorf("archive %s: %w", rel, err)
	}
	h.Name = rel
	h.Method = zip.Deflate
	if fi.Mode()&os.ModeSymlink != 0 {
		h.Method = zip.Store
		target, err := os.Readlink(full)
		if err != nil {
			return fmt.Errorf("archive %s: %w", rel, err)
		}
		zf, err := zw.CreateHeader(h)
		if err != nil {
			return err
		}
		_, err = io.WriteString(zf, target)
		return err
	}
	if fi.IsDir() {
		h.Name = rel + "/"
		h.Method = zip.Store
		_, err := zw.CreateHeader(h)
		return err
	}
	if !fi.Mode().IsRegular() {
		return nil
	}
	zf, err := zw.CreateHeader(h)
	if err != nil {
		return fmt.Errorf("archive %s: %w", rel, err)
	}
	src, err := os.Open(full)
	if err != nil {
		return fmt.Errorf("archive %s: %w", rel, err)
	}
	defer src.Close()
	if _, err := io.Copy(zf, src); err != nil {
		return fmt.Errorf("archive %s: %w", rel, err)
	}
	return nil
}

// Count reports how many of files (as Match returns them) a path pattern
// accounts for: matches of the pattern and everything below them, for the
// "found N matching artifact files and directories" log line.
func Count(files []string, pattern string) int {
	clean, err := relPattern(pattern)
	if err != nil {
		return 0
	}
	n := 0
	for _, f := range files {
		if ok, _ := doublestar.Match(clean, f); ok || underDir(clean, f) {
			n++
		}
	}
	return n
}
