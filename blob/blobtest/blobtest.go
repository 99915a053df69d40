// Package blobtest is the contract suite every blob.Store backend runs: a
// backend's test calls Run with a function returning a fresh, empty store.
package blobtest

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/blob"
)

// Run runs the whole suite; open must return a fresh, empty store for each
// call.
func Run(t *testing.T, open func(testing.TB) blob.Store) {
	t.Run("RoundTrip", func(t *testing.T) { t.Parallel(); testRoundTrip(t, open(t)) })
	t.Run("Missing", func(t *testing.T) { t.Parallel(); testMissing(t, open(t)) })
	t.Run("InvalidKeys", func(t *testing.T) { t.Parallel(); testInvalidKeys(t, open(t)) })
	t.Run("Nested", func(t *testing.T) { t.Parallel(); testNested(t, open(t)) })
	t.Run("FailedPut", func(t *testing.T) { t.Parallel(); testFailedPut(t, open(t)) })
	t.Run("Concurrent", func(t *testing.T) { t.Parallel(); testConcurrent(t, open(t)) })
	// Not parallel: it measures the heap, which other tests would disturb.
	t.Run("Large", func(t *testing.T) { testLarge(t, open(t)) })
}

// MustPut stores data under key or fails the test.
func MustPut(tb testing.TB, s blob.Store, key string, data []byte) {
	tb.Helper()
	n, err := s.Put(tb.Context(), key, bytes.NewReader(data))
	if err != nil {
		tb.Fatalf("Put(%q): %v", key, err)
	}
	if n != int64(len(data)) {
		tb.Fatalf("Put(%q) = %d bytes, want %d", key, n, len(data))
	}
}

// MustGet reads the object at key or fails the test.
func MustGet(tb testing.TB, s blob.Store, key string) []byte {
	tb.Helper()
	rc, err := s.Get(tb.Context(), key)
	if err != nil {
		tb.Fatalf("Get(%q): %v", key, err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		tb.Fatalf("read %q: %v", key, err)
	}
	return data
}

func testRoundTrip(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, c := range []struct{ key, data string }{
		{"traces/1.log", "hello\n"},
		{"empty", ""},
		{"artifacts/7/1", strings.Repeat("\x00\xff binary ", 1000)},
		{"unicode/ünï/cödé", "x"},
	} {
		MustPut(t, s, c.key, []byte(c.data))
		if got := MustGet(t, s, c.key); string(got) != c.data {
			t.Errorf("Get(%q) = %d bytes, want %d", c.key, len(got), len(c.data))
		}
		if size, err := s.Stat(ctx, c.key); err != nil || size != int64(len(c.data)) {
			t.Errorf("Stat(%q) = %d, %v; want %d", c.key, size, err, len(c.data))
		}
	}
	MustPut(t, s, "traces/1.log", []byte("replaced"))
	if got := MustGet(t, s, "traces/1.log"); string(got) != "replaced" {
		t.Errorf("after overwrite Get = %q", got)
	}
	if err := s.Delete(ctx, "traces/1.log"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, err := s.Get(ctx, "traces/1.log"); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("Get after Delete: %v, want ErrNotFound", err)
	}
}

func testMissing(t *testing.T, s blob.Store) {
	ctx := t.Context()
	MustPut(t, s, "a/b/c", []byte("x"))
	for _, key := range []string{"nope", "a/b/nope", "a/b", "a", "a/b/c/d"} {
		if rc, err := s.Get(ctx, key); !errors.Is(err, gantry.ErrNotFound) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrNotFound", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, gantry.ErrNotFound) {
			t.Errorf("Stat(%q) = %v, want ErrNotFound", key, err)
		}
		if err := s.Delete(ctx, key); err != nil {
			t.Errorf("Delete(%q) of a missing object = %v, want nil", key, err)
		}
	}
	if got := MustGet(t, s, "a/b/c"); string(got) != "x" {
		t.Errorf("a/b/c harmed by deletes of its parents: %q", got)
	}
}

// InvalidKeys are keys every backend must refuse with gantry.ErrInvalid.
var InvalidKeys = []string{
	"", "/etc/passwd", "../x", "a/../../x", "..", ".", "a/..", "a/./b",
	"a//b", "a/", "./a", ".hidden", "a/.tmp/b", `a\b`, `..\..\x`,
	"a\x00b", "a\nb", "\x7f", "\xff\xfe", strings.Repeat("k", blob.MaxKeyLen+1),
}

func testInvalidKeys(t *testing.T, s blob.Store) {
	ctx := t.Context()
	for _, key := range InvalidKeys {
		if _, err := s.Put(ctx, key, strings.NewReader("evil")); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("Put(%q) = %v, want ErrInvalid", key, err)
		}
		if rc, err := s.Get(ctx, key); !errors.Is(err, gantry.ErrInvalid) {
			if err == nil {
				rc.Close()
			}
			t.Errorf("Get(%q) = %v, want ErrInvalid", key, err)
		}
		if _, err := s.Stat(ctx, key); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("Stat(%q) = %v, want ErrInvalid", key, err)
		}
		if err := s.Delete(ctx, key); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("Delete(%q) = %v, want ErrInvalid", key, err)
		}
	}
	if err := blob.CheckKey(strings.Repeat("k", blob.MaxKeyLen)); err != nil {
		t.Errorf("CheckKey of a key of MaxKeyLen bytes: %v", err)
	}
}

func testNested(t *testing.T, s blob.Store) {
	ctx := t.Context()
	MustPut(t, s, "artifacts/1/1", []byte("one"))
	MustPut(t, s, "artifacts/1/2", []byte("two"))
	MustPut(t, s, "artifacts/2/1", []byte("three"))
	if err := s.Delete(ctx, "artifacts/1/1"); err != nil {
		t.Fatal(err)
	}
	if got := MustGet(t, s, "artifacts/1/2"); string(got) != "two" {
		t.Errorf("sibling after delete = %q", got)
	}
	if err := s.Delete(ctx, "artifacts/1/2"); err != nil {
		t.Fatal(err)
	}
	MustPut(t, s, "artifacts/1/3", []byte("four")) // folder emptied and refilled
	if got := MustGet(t, s, "artifacts/1/3"); string(got) != "four" {
		t.Errorf("object in refilled prefix = %q", got)
	}
	// A key that is a prefix of another may be refused by folder-based
	// backends, but only with ErrConflict and without harming the other.
	if _, err := s.Put(ctx, "artifacts/2", strings.NewReader("clash")); err != nil && !errors.Is(err, gantry.ErrConflict) {
		t.Errorf("Put over a prefix = %v, want nil or ErrConflict", err)
	}
	if _, err := s.Put(ctx, "artifacts/2/1/deeper", strings.NewReader("clash")); err != nil && !errors.Is(err, gantry.ErrConflict) {
		t.Errorf("Put below an object = %v, want nil or ErrConflict", err)
	}
	if got := MustGet(t, s, "artifacts/2/1"); string(got) != "three" {
		t.Errorf("object after clashing puts = %q", got)
	}
}

// failingReader yields n bytes, then err.
type failingReader struct {
	n   int
	err error
}

func (f *failingReader) Read(p []byte) (int, error) {
	if f.n == 0 {
		return 0, f.err
	}
	k := min(len(p), f.n)
	clear(p[:k])
	f.n -= k
	return k, nil
}

func testFailedPut(t *testing.T, s blob.Store) {
	ctx := t.Context()
	MustPut(t, s, "kept", []byte("old"))
	boom := errors.New("boom")
	if _, err := s.Put(ctx, "kept", &failingReader{n: 1 << 20, err: boom}); !errors.Is(err, boom) {
		t.Errorf("Put with a failing reader = %v, want the reader's error", err)
	}
	if got := MustGet(t, s, "kept"); string(got) != "old" {
		t.Errorf("object after failed Put = %d bytes, want the old one", len(got))
	}
	if _, err := s.Put(ctx, "fresh", &failingReader{n: 1000, err: boom}); err == nil {
		t.Error("Put with a failing reader succeeded")
	}
	if _, err := s.Stat(ctx, "fresh"); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("Stat after failed Put of a new key = %v, want ErrNotFound", err)
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, "cancelled", strings.NewReader("x")); !errors.Is(err, context.Canceled) {
		t.Errorf("Put with a cancelled context = %v, want context.Canceled", err)
	}
	if _, err := s.Stat(ctx, "cancelled"); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("Stat after cancelled Put = %v, want ErrNotFound", err)
	}
}

// payload is a self-checking object: a SHA-256 of the rest, then the rest.
func payload(writer, round int) []byte {
	body := bytes.Repeat(fmt.Appendf(nil, "writer %d round %d;", writer, round), 500+writer*300+round*7)
	sum := sha256.Sum256(body)
	return append(sum[:], body...)
}

func checkPayload(data []byte) error {
	if len(data) < sha256.Size {
		return fmt.Errorf("object of %d bytes is torn", len(data))
	}
	if sum := sha256.Sum256(data[sha256.Size:]); !bytes.Equal(sum[:], data[:sha256.Size]) {
		return fmt.Errorf("object of %d bytes is torn or mixed", len(data))
	}
	return nil
}

func testConcurrent(t *testing.T, s blob.Store) {
	ctx := t.Context()
	const writers, rounds, readers = 4, 10, 4
	var wg, rg sync.WaitGroup
	done := make(chan struct{})
	for w := range writers {
		wg.Go(func() {
			for r := range rounds {
				if _, err := s.Put(ctx, "shared/object", bytes.NewReader(payload(w, r))); err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
				key := fmt.Sprintf("fresh/%d/%d", w, r) // folders created concurrently
				if _, err := s.Put(ctx, key, bytes.NewReader(payload(w, r))); err != nil {
					t.Errorf("writer %d: %v", w, err)
				}
			}
		})
	}
	for range readers {
		rg.Go(func() {
			for {
				select {
				case <-done:
					return
				default:
				}
				if err := readShared(ctx, s); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(done)
	rg.Wait()
	for w := range writers {
		for r := range rounds {
			key := fmt.Sprintf("fresh/%d/%d", w, r)
			if !bytes.Equal(payload(w, r), MustGet(t, s, key)) {
				t.Fatalf("%s differs from what was put", key)
			}
		}
	}
	if err := checkPayload(MustGet(t, s, "shared/object")); err != nil {
		t.Error(err)
	}
}

func readShared(ctx context.Context, s blob.Store) error {
	rc, err := s.Get(ctx, "shared/object")
	if errors.Is(err, gantry.ErrNotFound) {
		return nil // no writer finished yet
	}
	if err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return fmt.Errorf("reader: %w", err)
	}
	return checkPayload(data)
}
