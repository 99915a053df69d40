package blobtest

import (
	"crypto/sha256"
	"io"
	"runtime"
	"testing"

	"github.com/gantry-ci/gantry/blob"
)

// LargeSize is the object testLarge streams through the store.
const LargeSize = 64 << 20

// maxAlloc bounds what a Put or Get of a LargeSize object may allocate: a
// backend that buffers the object allocates at least LargeSize.
const maxAlloc = LargeSize / 8

// pattern is an endless reader of non-repeating-looking bytes (a
// xorshift stream), so that compressing or deduplicating stores gain
// nothing and torn copies do not compare equal by chance.
type pattern struct {
	state uint64
	left  int64
}

func (p *pattern) Read(b []byte) (int, error) {
	if p.left == 0 {
		return 0, io.EOF
	}
	if int64(len(b)) > p.left {
		b = b[:p.left]
	}
	for i := range b {
		p.state ^= p.state << 13
		p.state ^= p.state >> 7
		p.state ^= p.state << 17
		b[i] = byte(p.state >> 32)
	}
	p.left -= int64(len(b))
	return len(b), nil
}

func allocated() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.TotalAlloc
}

func testLarge(t *testing.T, s blob.Store) {
	ctx := t.Context()
	want := sha256.New()
	if _, err := io.Copy(want, &pattern{state: 88172645463325252, left: LargeSize}); err != nil {
		t.Fatal(err)
	}
	before := allocated()
	n, err := s.Put(ctx, "large/object", &pattern{state: 88172645463325252, left: LargeSize})
	if err != nil || n != LargeSize {
		t.Fatalf("Put of %d bytes = %d, %v", LargeSize, n, err)
	}
	if a := allocated() - before; a > maxAlloc {
		t.Errorf("Put of %d MiB allocated %d MiB: the object is buffered in memory", LargeSize>>20, a>>20)
	}
	if size, err := s.Stat(ctx, "large/object"); err != nil || size != LargeSize {
		t.Errorf("Stat = %d, %v; want %d", size, err, LargeSize)
	}
	before = allocated()
	rc, err := s.Get(ctx, "large/object")
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	got := sha256.New()
	if _, err := io.CopyBuffer(got, rc, make([]byte, 64<<10)); err != nil {
		t.Fatal(err)
	}
	if a := allocated() - before; a > maxAlloc {
		t.Errorf("Get of %d MiB allocated %d MiB: the object is buffered in memory", LargeSize>>20, a>>20)
	}
	if string(got.Sum(nil)) != string(want.Sum(nil)) {
		t.Error("large object read back differs from what was put")
	}
}
