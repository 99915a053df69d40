package artifact

import (
	"archive/zip"
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
)

func write(t *testing.T, root string, files map[string]string) {
	t.Helper()
	for name, content := range files {
		p := filepath.Join(root, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func TestMatch(t *testing.T) {
	root := t.TempDir()
	write(t, root, map[string]string{"a.txt": "a", "dist/b.bin": "b", "dist/sub/c.log": "c", "dist/sub/d.bin": "d", "other/e.txt": "e", ".git/config": "x"})
	tests := []struct {
		name    string
		sel     Selection
		want    []string
		missing []string
	}{
		{"file", Selection{Paths: []string{"a.txt"}}, []string{"a.txt"}, nil},
		{"dir", Selection{Paths: []string{"dist/"}}, []string{"dist", "dist/b.bin", "dist/sub", "dist/sub/c.log", "dist/sub/d.bin"}, nil},
		{"doublestar", Selection{Paths: []string{"**/*.bin"}}, []string{"dist/b.bin", "dist/sub/d.bin"}, nil},
		{"exclude", Selection{Paths: []string{"dist"}, Exclude: []string{"dist/**/*.log"}}, []string{"dist", "dist/b.bin", "dist/sub", "dist/sub/d.bin"}, nil},
		{"exclude dir", Selection{Paths: []string{"dist"}, Exclude: []string{"dist/sub"}}, []string{"dist", "dist/b.bin"}, nil},
		{"exclude contents keeps dir", Selection{Paths: []string{"dist"}, Exclude: []string{"dist/sub/**"}}, []string{"dist", "dist/b.bin", "dist/sub"}, nil},
		{"missing", Selection{Paths: []string{"nope/*"}}, []string{}, []string{"nope/*"}},
		{"dot slash", Selection{Paths: []string{"./a.txt"}}, []string{"a.txt"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, missing, err := Match(t.Context(), root, tt.sel)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("files (-want +got):\n%s", diff)
			}
			if diff := cmp.Diff(tt.missing, missing); diff != "" {
				t.Errorf("missing (-want +got):\n%s", diff)
			}
		})
	}
	all, _, _ := Match(t.Context(), root, Selection{Paths: []string{"dist", "a.txt"}})
	if n := Count(all, "dist"); n != 5 {
		t.Errorf("Count(dist) = %d, want 5", n)
	}
	if n := Count(all, "*.txt"); n != 1 {
		t.Errorf("Count(*.txt) = %d, want 1", n)
	}
	for _, bad := range []string{"../x", "/etc/passwd", "a/../../x"} {
		if _, _, err := Match(t.Context(), root, Selection{Paths: []string{bad}}); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("Match(%q) = %v, want ErrInvalid", bad, err)
		}
	}
}

func TestZipRoundTrip(t *testing.T) {
	src, dst := t.TempDir(), t.TempDir()
	write(t, src, map[string]string{"x/y.txt": "hello", "z": "zz"})
	os.Symlink("y.txt", filepath.Join(src, "x", "link"))
	var buf bytes.Buffer
	if err := Zip(&buf, src, []string{"x/link", "x/y.txt", "z"}); err != nil {
		t.Fatal(err)
	}
	if err := Extract(bytes.NewReader(buf.Bytes()), int64(buf.Len()), dst); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "x", "link")); string(b) != "hello" {
		t.Errorf("symlink content %q", b)
	}
	if b, _ := os.ReadFile(filepath.Join(dst, "z")); string(b) != "zz" {
		t.Errorf("z = %q", b)
	}
}

func zipOf(t *testing.T, entries ...func(*zip.Writer)) []byte {
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, e := range entries {
		e(zw)
	}
	zw.Close()
	return buf.Bytes()
}

func file(name, content string) func(*zip.Writer) {
	return func(zw *zip.Writer) {
		w, _ := zw.Create(name)
		w.Write([]byte(content))
	}
}

func link(name, target string) func(*zip.Writer) {
	return func(zw *zip.Writer) {
		h := &zip.FileHeader{Name: name}
		h.SetMode(os.ModeSymlink | 0o777)
		w, _ := zw.CreateHeader(h)
		w.Write([]byte(target))
	}
}

func TestExtractRejects(t *testing.T) {
	tests := map[string][]byte{
		"dotdot":          zipOf(t, file("ok.txt", "ok"), file("../evil", "x")),
		"nested dotdot":   zipOf(t, file("a/../../evil", "x")),
		"absolute":        zipOf(t, file("/tmp/evil", "x")),
		"backslash":       zipOf(t, file(`..\evil`, "x")),
		"symlink out":     zipOf(t, link("l", "../../etc")),
		"symlink abs":     zipOf(t, link("l", "/etc")),
		"through symlink": zipOf(t, link("d", "."), file("d/../../evil", "x")),
		"not a zip":       []byte("PK garbage"),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			parent := t.TempDir()
			dst := filepath.Join(parent, "dst")
			os.Mkdir(dst, 0o755)
			err := Extract(bytes.NewReader(data), int64(len(data)), dst)
			if !errors.Is(err, gantry.ErrInvalid) {
				t.Fatalf("Extract = %v, want ErrInvalid", err)
			}
			entries, _ := os.ReadDir(parent)
			if len(entries) != 1 {
				t.Errorf("something was written beside dst: %v", entries)
			}
		})
	}
	// A pre-existing symlink in the destination cannot be used to escape.
	parent := t.TempDir()
	dst := filepath.Join(parent, "dst")
	os.Mkdir(dst, 0o755)
	outside := t.TempDir()
	os.Symlink(outside, filepath.Join(dst, "out"))
	data := zipOf(t, file("out/evil", "x"))
	if err := Extract(bytes.NewReader(data), int64(len(data)), dst); !errors.Is(err, gantry.ErrInvalid) {
		t.Errorf("write through existing symlink: %v", err)
	}
	if _, err := os.Stat(filepath.Join(outside, "evil")); err == nil {
		t.Error("wrote through a symlink")
	}
}

func FuzzExtract(f *testing.F) {
	f.Add(zipOf(nil, file("a/b.txt", "x")))
	f.Add(zipOf(nil, file("../x", "x")))
	f.Fuzz(func(t *testing.T, data []byte) {
		parent := t.TempDir()
		dst := filepath.Join(parent, "dst")
		os.Mkdir(dst, 0o755)
		_ = Extract(bytes.NewReader(data), int64(len(data)), dst)
		entries, _ := os.ReadDir(parent)
		if len(entries) != 1 {
			t.Fatalf("wrote outside dst: %v", entries)
		}
	})
}
