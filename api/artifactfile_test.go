package api

import (
	"archive/zip"
	"context"
	"crypto/sha256"
	"errors"
	"hash"
	"io"
	"runtime"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/blob/fs"
)

// bigEntrySize is the size of the file the memory test reads out of an
// archive of about that size.
const bigEntrySize = 50 << 20

// pattern is an endless reader of incompressible-looking bytes.
type pattern struct {
	state uint64
	left  int64
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	b = b[:min(int64(len(b)), p.left)]
	for i := range b {
		p.state ^= p.state << 13
		p.state ^= p.state >> 7
		p.state ^= p.state << 17
		b[i] = byte(p.state >> 32)
	}
	p.left -= int64(len(b))
	return len(b), nil
}

// plainReads hides that the backend's readers are files: a backend without
// random access (an object store), which artifactEntry must spool.
type plainReads struct{ BlobStore }

func (p plainReads) Get(ctx context.Context, key string) (io.ReadCloser, error) {
	rc, err := p.BlobStore.Get(ctx, key)
	if err != nil {
		return nil, err
	}
	return struct{ io.ReadCloser }{rc}, nil
}

// putArchive stores a zip archive holding small.txt (deflated) and
// dir/big.bin (bigEntrySize bytes, stored) and returns big.bin's SHA-256.
func putArchive(t *testing.T, bs *fs.Store, key string) []byte {
	t.Helper()
	sum := sha256.New()
	pr, pw := io.Pipe()
	go func() {
		zw := zip.NewWriter(pw)
		w, err := zw.Create("./small.txt")
		if err == nil {
			_, err = io.WriteString(w, "small\n")
		}
		if err == nil {
			w, err = zw.CreateHeader(&zip.FileHeader{Name: "dir/big.bin", Method: zip.Store})
		}
		if err == nil {
			_, err = io.Copy(io.MultiWriter(w, sum), &pattern{state: 7, left: bigEntrySize})
		}
		if err == nil {
			err = zw.Close()
		}
		pw.CloseWithError(err)
	}()
	if _, err := bs.Put(t.Context(), key, pr); err != nil {
		t.Fatal(err)
	}
	return sum.Sum(nil)
}

// TestArtifactEntryStreams: a file is read out of an archive without the
// archive (or the file) ever being in memory, from a backend with random
// access and from one without, and comes out whole.
func TestArtifactEntryStreams(t *testing.T) {
	store, err := fs.New(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	want := putArchive(t, store, "artifacts/1/archive")
	for name, bs := range map[string]BlobStore{"random access": store, "spooled": plainReads{store}} {
		t.Run(name, func(t *testing.T) {
			s := &Server{Blobs: bs}
			var sum hash.Hash
			allocated := allocatedBy(func() {
				rc, err := s.artifactEntry(t.Context(), "artifacts/1/archive", "dir/big.bin")
				if err != nil {
					t.Fatal(err)
				}
				defer rc.Close()
				sum = sha256.New()
				if _, err := io.Copy(sum, rc); err != nil {
					t.Fatal(err)
				}
			})
			if string(sum.Sum(nil)) != string(want) {
				t.Errorf("dir/big.bin came out different")
			}
			if allocated > bigEntrySize/16 {
				t.Errorf("reading a %d MiB file out of an archive allocated %d KiB", bigEntrySize>>20, allocated>>10)
			}
			t.Logf("allocated %d KiB", allocated>>10)

			rc, err := s.artifactEntry(t.Context(), "artifacts/1/archive", "small.txt")
			if err != nil {
				t.Fatal(err)
			}
			small, err := io.ReadAll(rc)
			rc.Close()
			if err != nil || string(small) != "small\n" {
				t.Errorf("small.txt = %q, %v", small, err)
			}
			for _, missing := range []string{"nothing", "dir", "small.txt/x"} {
				if _, err := s.artifactEntry(t.Context(), "artifacts/1/archive", missing); !errors.Is(err, gantry.ErrNotFound) {
					t.Errorf("%s: %v, want not found", missing, err)
				}
			}
		})
	}
}

// TestExtractionsAreCapped: at most maxExtractions archives are opened at
// once; one more waits for a slot, or for its request to end.
func TestExtractionsAreCapped(t *testing.T) {
	s := &Server{}
	var releases []func()
	for range maxExtractions {
		release, err := s.acquireExtraction(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, release)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.acquireExtraction(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("extraction %d: %v, want to wait until the request ends", maxExtractions+1, err)
	}
	releases[0]()
	release, err := s.acquireExtraction(t.Context())
	if err != nil {
		t.Fatalf("after a release: %v", err)
	}
	release()
}

// allocatedBy returns how many bytes fn allocated on the heap.
func allocatedBy(fn func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	fn()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}
