package cache

import (
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/runner/config"
)

func TestCheckKey(t *testing.T) {
	for _, tc := range []struct {
		key  string
		user bool
		ok   bool
	}{
		{"deps-main", true, true}, {"build/main", false, true}, {"a/b", true, false}, {"a%2Fb", true, false},
		{"..", true, false}, {"../x", false, false}, {"x/../y", false, false}, {"/abs", false, false},
		{"", true, false}, {".", true, false}, {`a\b`, true, false}, {"a//b", false, false}, {"v1.2", true, true},
	} {
		err := CheckKey(tc.key, tc.user)
		if (err == nil) != tc.ok {
			t.Errorf("CheckKey(%q, %v) = %v", tc.key, tc.user, err)
		}
		if err != nil && !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("CheckKey(%q) error %v is not ErrInvalid", tc.key, err)
		}
	}
}

func TestLocal(t *testing.T) {
	l := Local{Dir: t.TempDir()}
	ctx := t.Context()
	if err := l.Get(ctx, "k", io.Discard); !errors.Is(err, gantry.ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	if err := l.Put(ctx, "k", strings.NewReader("zipdata"), 7); err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := l.Get(ctx, "k", &b); err != nil || b.String() != "zipdata" {
		t.Fatalf("Get = %q, %v", b.String(), err)
	}
}

// fakeS3 accepts pre-signed PUT/GET and records paths and signatures.
type fakeS3 struct {
	mu      sync.Mutex
	objects map[string][]byte
	signed  []string
}

func (f *fakeS3) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.signed = append(f.signed, r.URL.Query().Get("X-Amz-Signature"))
	switch r.Method {
	case http.MethodPut:
		b, _ := io.ReadAll(r.Body)
		f.objects[r.URL.Path] = b
	case http.MethodGet:
		b, ok := f.objects[r.URL.Path]
		if !ok {
			http.Error(w, "<Error><Code>NoSuchKey</Code></Error>", http.StatusNotFound)
			return
		}
		w.Write(b)
	}
}

func TestS3PresignedURLs(t *testing.T) {
	fs := &fakeS3{objects: map[string][]byte{}}
	srv := httptest.NewServer(fs)
	defer srv.Close()
	c := &config.Cache{Type: "s3", Path: "runner-cache", S3: &config.CacheS3{
		ServerAddress: strings.TrimPrefix(srv.URL, "http://"), AccessKey: "AK", SecretKey: "SK", BucketName: "bucket", BucketLocation: "us-east-1", Insecure: true,
	}}
	s, err := NewS3(c, "abcd1234", 42)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	if err := s.Get(ctx, "key", io.Discard); !errors.Is(err, gantry.ErrNotFound) {
		t.Fatalf("Get missing = %v", err)
	}
	if err := s.Put(ctx, "key", strings.NewReader("zip!"), 4); err != nil {
		t.Fatal(err)
	}
	want := "/bucket/runner-cache/runner/abcd1234/project/42/key"
	if _, ok := fs.objects[want]; !ok {
		t.Fatalf("objects = %v, want %s", fs.objects, want)
	}
	var b bytes.Buffer
	if err := s.Get(ctx, "key", &b); err != nil || b.String() != "zip!" {
		t.Fatalf("Get = %q, %v", b.String(), err)
	}
	for _, sig := range fs.signed {
		if sig == "" {
			t.Error("request was not pre-signed")
		}
	}
	c.Shared = true
	s2, _ := NewS3(c, "abcd1234", 42)
	if got := s2.Where("k"); got != "s3://bucket/runner-cache/project/42/k" {
		t.Errorf("shared Where = %s", got)
	}
}
