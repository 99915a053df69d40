// Package blob stores opaque objects by key: job artifacts, finished job
// logs and backups. Backends live in subpackages (blob/fs for a local
// folder, later blob/s3); blob/blobtest is the contract suite every backend
// runs, so callers may treat them as interchangeable.
//
// Keys are slash-separated paths such as "artifacts/17/3" or
// "traces/17.log". CheckKey states the rules; every backend enforces them
// the same way, so a key that works on one works on all.
package blob

import (
	"context"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/gantry-ci/gantry"
)

// Store is an object store. Implementations are safe for concurrent use.
//
// Objects are written whole: a reader sees either the previous object or
// the new one, never a partial write, and a failed or cancelled Put leaves
// the previous object (or its absence) untouched. Objects are streamed in
// both directions; a backend must not buffer a whole object in memory.
//
// Every method returns an error wrapping gantry.ErrInvalid for a key
// CheckKey refuses.
type Store interface {
	// Put stores the bytes read from r under key, replacing any object
	// there, and returns how many it stored. A key that clashes with the
	// backend's layout (a folder-based backend asked for "a" while "a/b"
	// exists) is gantry.ErrConflict.
	Put(ctx context.Context, key string, r io.Reader) (size int64, err error)
	// Get opens the object at key; the caller closes it. A missing object
	// is gantry.ErrNotFound.
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	// Stat returns the size of the object at key, or gantry.ErrNotFound.
	Stat(ctx context.Context, key string) (size int64, err error)
	// Delete removes the object at key. A missing object is not an error,
	// so that deleting is safe to retry.
	Delete(ctx context.Context, key string) error
}

// MaxKeyLen is the longest key accepted, in bytes (S3's limit).
const MaxKeyLen = 1024

// CheckKey reports whether key is a valid object key: 1 to MaxKeyLen bytes
// of UTF-8 without control characters or backslashes, made of non-empty
// segments separated by single slashes, none starting with "." (which
// rules out "." and ".." and leaves dot-names to backends for their own
// bookkeeping, such as temporary files). The error wraps gantry.ErrInvalid.
func CheckKey(key string) error {
	if err := checkKey(key); err != nil {
		return fmt.Errorf("blob key %q: %s: %w", key, err, gantry.ErrInvalid)
	}
	return nil
}

func checkKey(key string) error {
	switch {
	case key == "":
		return fmt.Errorf("empty")
	case len(key) > MaxKeyLen:
		return fmt.Errorf("longer than %d bytes", MaxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("not UTF-8")
	case strings.ContainsRune(key, '\\'):
		return fmt.Errorf("contains a backslash")
	}
	for _, r := range key {
		if r < 0x20 || r == 0x7f {
			return fmt.Errorf("contains control character %#x", r)
		}
	}
	for seg := range strings.SplitSeq(key, "/") {
		switch {
		case seg == "":
			return fmt.Errorf("empty path segment")
		case seg[0] == '.':
			return fmt.Errorf("segment %q starts with a dot", seg)
		}
	}
	return nil
}
