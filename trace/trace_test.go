package trace

import (
	"bytes"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/blob/blobtest"
	blobfs "github.com/gantry-ci/gantry/blob/fs"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
	"github.com/gantry-ci/gantry/store/storetest"
)

// env is a Service over a real SQLite store and a real blob folder, both
// in one temporary data folder.
type env struct {
	*Service
	store   *store.Store
	objects *blobfs.Store
	dir     string
}

func newEnv(tb testing.TB, maxSize int64) *env {
	tb.Helper()
	dir := tb.TempDir()
	st, err := sqlite.Open(tb.Context(), filepath.Join(dir, "gantry.db"))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	// The store keeps logs of jobs that exist only: jobs 1 to 10 do.
	owner := storetest.MustUser(tb, st, "owner", false)
	g := storetest.MustGroup(tb, st, "g", nil, gantry.Private, owner.ID)
	jobs := make([]*gantry.Job, 10)
	for i := range jobs {
		jobs[i] = &gantry.Job{}
	}
	storetest.MustPipeline(tb, st, storetest.MustProject(tb, st, g, "app", gantry.Private), jobs...)
	objects, err := blobfs.New(filepath.Join(dir, "objects"))
	if err != nil {
		tb.Fatal(err)
	}
	e := &env{store: st, objects: objects, dir: dir}
	e.Service = e.restart(maxSize)
	return e
}

// restart returns a new Service over the same data: what a server
// process sees after a crash.
func (e *env) restart(maxSize int64) *Service {
	return New(Config{Chunks: e.store, Objects: e.objects, MaxSize: maxSize})
}

func mustAppend(tb testing.TB, s *Service, job, offset int64, data string, secrets ...string) int64 {
	tb.Helper()
	n, err := s.Append(tb.Context(), job, offset, []byte(data), secrets)
	if err != nil {
		tb.Fatalf("Append(%d, %d, %q): %v", job, offset, data, err)
	}
	if want := offset + int64(len(data)); n != want {
		tb.Fatalf("Append returned length %d, want %d", n, want)
	}
	return n
}

func readLog(tb testing.TB, s *Service, job, offset int64) string {
	tb.Helper()
	r, err := s.Reader(tb.Context(), job, offset)
	if err != nil {
		tb.Fatalf("Reader(%d, %d): %v", job, offset, err)
	}
	defer r.Close()
	b, err := io.ReadAll(r)
	if err != nil {
		tb.Fatalf("read log of job %d: %v", job, err)
	}
	return string(b)
}

func TestAppendOffsets(t *testing.T) {
	e := newEnv(t, 0)
	ctx := t.Context()
	if n, err := e.Length(ctx, 1); err != nil || n != 0 {
		t.Fatalf("Length of a new log = %d, %v", n, err)
	}
	mustAppend(t, e.Service, 1, 0, "hello ")
	for _, offset := range []int64{0, 3, 7, 100} {
		n, err := e.Append(ctx, 1, offset, []byte("again"), nil)
		var re *RangeError
		if !errors.As(err, &re) || re.Length != 6 || re.Offset != offset || n != 6 {
			t.Errorf("Append at %d = %d, %v; want *RangeError{Length: 6}", offset, n, err)
		}
	}
	if n, err := e.Append(ctx, 1, 6, nil, nil); err != nil || n != 6 {
		t.Errorf("empty Append = %d, %v", n, err)
	}
	mustAppend(t, e.Service, 1, 6, "world\n")
	if got := readLog(t, e.Service, 1, 0); got != "hello world\n" {
		t.Errorf("log = %q", got)
	}
	if got := readLog(t, e.Service, 1, 6); got != "world\n" {
		t.Errorf("log from 6 = %q", got)
	}
	if got := readLog(t, e.Service, 1, 50); got != "" {
		t.Errorf("log past the end = %q", got)
	}
	if _, err := e.Reader(ctx, 1, -1); !errors.Is(err, gantry.ErrInvalid) {
		t.Errorf("Reader at -1 = %v, want ErrInvalid", err)
	}
}

func TestAppendLimit(t *testing.T) {
	e := newEnv(t, 10)
	mustAppend(t, e.Service, 1, 0, "12345678")
	if n, err := e.Append(t.Context(), 1, 8, []byte("abc"), nil); !errors.Is(err, ErrTooLarge) || n != 8 {
		t.Errorf("Append over the limit = %d, %v; want ErrTooLarge", n, err)
	}
	mustAppend(t, e.Service, 1, 8, "ab") // exactly at the limit
	if got := readLog(t, e.Service, 1, 0); got != "12345678ab" {
		t.Errorf("log = %q", got)
	}
	if New(Config{}).maxSize != DefaultMaxSize {
		t.Error("zero MaxSize does not mean DefaultMaxSize")
	}
}

func TestChecksumCoversRawBytes(t *testing.T) {
	e := newEnv(t, 0)
	const secret = "hunter2hunter2"
	raw := "login with " + secret + "\nok\n"
	mustAppend(t, e.Service, 3, 0, raw[:15], secret)
	mustAppend(t, e.Service, 3, 15, raw[15:], secret)
	crc, size, err := e.Checksum(t.Context(), 3)
	if err != nil || crc != crc32.ChecksumIEEE([]byte(raw)) || size != int64(len(raw)) {
		t.Errorf("Checksum = %08x, %d, %v; want %08x, %d", crc, size, err, crc32.ChecksumIEEE([]byte(raw)), len(raw))
	}
	if got := readLog(t, e.Service, 3, 0); got != "login with [MASKED]xxxxxx\nok\n" {
		t.Errorf("log = %q", got)
	}
}

// dataOnDisk concatenates every file under dir: database, WAL, objects.
func dataOnDisk(tb testing.TB, dir string) []byte {
	tb.Helper()
	var all []byte
	err := filepath.Walk(dir, func(path string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		all = append(all, b...)
		return err
	})
	if err != nil {
		tb.Fatal(err)
	}
	return all
}

// TestSecretNeverOnDisk splits a secret over three appends and looks for
// it, and for the part held back, in every byte Gantry wrote.
func TestSecretNeverOnDisk(t *testing.T) {
	e := newEnv(t, 0)
	const secret = "Zq7pL0vX9mR4tW2s" // appears nowhere else
	pieces := []string{"$ echo $TOKEN\nZq7p", "L0vX9", "mR4tW2s\nZq7pL0", "vX\n"}
	var off int64
	for i, p := range pieces {
		off = mustAppend(t, e.Service, 9, off, p, secret)
		if i == 2 {
			if got := readLog(t, e.Service, 9, 0); got != "$ echo $TOKEN\n[MASKED]xxxxxxxx\n" {
				t.Errorf("readable while Zq7pL0 is held back = %q", got)
			}
		}
		disk := dataOnDisk(t, e.dir)
		leaks := []string{secret, "L0vX9", "mR4tW2s"}
		if i < len(pieces)-1 {
			leaks = append(leaks, "Zq7p") // then refuted by "vX\n", and readable
		}
		for _, leak := range leaks {
			if bytes.Contains(disk, []byte(leak)) {
				t.Fatalf("after append %d the data folder contains %q", i, leak)
			}
		}
	}
	want := "$ echo $TOKEN\n[MASKED]xxxxxxxx\nZq7pL0vX\n" // a refuted prefix is no secret
	if got := readLog(t, e.Service, 9, 0); got != want {
		t.Errorf("log = %q, want %q", got, want)
	}
	if err := e.Archive(t.Context(), 9, []string{secret}); err != nil {
		t.Fatal(err)
	}
	if got := readLog(t, e.Service, 9, 0); got != want {
		t.Errorf("archived log = %q, want %q", got, want)
	}
	if bytes.Contains(dataOnDisk(t, e.dir), []byte(secret)) {
		t.Error("the data folder contains the secret after archiving")
	}
}

// TestHeldBack: what becomes of a held-back secret prefix depends only on
// the secrets the next call brings, never on whether this process saw the
// bytes arrive: in the same process and after a restart alike, bytes that
// can't be checked against the secret they began are stored as 'x's.
func TestHeldBack(t *testing.T) {
	const secret = "glcbt-s3cr3tt0k3n"
	archive := func(secrets ...string) func(*testing.T, *Service) {
		return func(t *testing.T, s *Service) {
			if err := s.Archive(t.Context(), 5, secrets); err != nil {
				t.Fatal(err)
			}
		}
	}
	for _, c := range []struct {
		name    string
		then    func(t *testing.T, s *Service)
		wantLog string
	}{
		{"next append completes the secret", func(t *testing.T, s *Service) {
			mustAppend(t, s, 5, 16, "3cr3tt0k3n done\n", secret)
			archive()(t, s)
		}, "token is [MASKED]xxxxxxxxx done\n"},
		{"next append without the secret", func(t *testing.T, s *Service) {
			mustAppend(t, s, 5, 16, " done\n")
			archive()(t, s)
		}, "token is xxxxxxx done\n"},
		{"archive with the secrets", archive(secret), "token is glcbt-s"},
		{"archive without the secrets", archive(), "token is xxxxxxx"},
		{"archive with other secrets", archive("glcbt-other-token"), "token is xxxxxxx"},
	} {
		for _, restart := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/restart=%v", c.name, restart), func(t *testing.T) {
				e := newEnv(t, 0)
				mustAppend(t, e.Service, 5, 0, "token is g", secret)
				mustAppend(t, e.Service, 5, 10, "lcbt-s", secret)
				if got := readLog(t, e.Service, 5, 0); got != "token is " {
					t.Errorf("readable = %q, want the part before the held-back prefix", got)
				}
				s := e.Service
				if restart {
					s = e.restart(0)
				}
				if n, err := s.Length(t.Context(), 5); err != nil || n != 16 {
					t.Errorf("Length = %d, %v; want 16 (held-back bytes count)", n, err)
				}
				c.then(t, s)
				if got := readLog(t, s, 5, 0); got != c.wantLog {
					t.Errorf("log = %q, want %q", got, c.wantLog)
				}
				if got := string(blobtest.MustGet(t, e.objects, ObjectKey(5))); got != c.wantLog {
					t.Errorf("archived object = %q, want %q", got, c.wantLog)
				}
			})
		}
	}
}
