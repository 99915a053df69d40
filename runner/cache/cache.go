// Package cache stores and fetches job caches (cache.zip per key): in a
// local directory, or in S3 through pre-signed URLs the runner makes with
// its own credentials, as GitLab Runner does. The server is not involved.
package cache

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/runner/config"
)

// CheckKey refuses cache keys that could leave the cache directory or
// address another object: empty, absolute, with "..", "." or "\" parts.
// A "/" inside a key is only accepted in the default key
// (<job name>/<ref>), which the runner builds itself; user keys with "/" are
// refused like GitLab does.
func CheckKey(key string, userKey bool) error {
	switch {
	case strings.TrimSpace(key) == "":
		return fmt.Errorf("%w: cache key is empty", gantry.ErrInvalid)
	case userKey && (strings.Contains(key, "/") || strings.Contains(strings.ToLower(key), "%2f")):
		return fmt.Errorf("%w: cache key %q must not contain \"/\"", gantry.ErrInvalid, key)
	case strings.HasPrefix(key, "/") || strings.Contains(key, `\`) || strings.ContainsRune(key, 0):
		return fmt.Errorf("%w: cache key %q is not a relative name", gantry.ErrInvalid, key)
	}
	for _, part := range strings.Split(key, "/") {
		if part == "" || strings.Trim(part, ".") == "" || strings.EqualFold(strings.ReplaceAll(part, "%2e", "."), "..") {
			return fmt.Errorf("%w: cache key %q must not contain \"..\", \".\" or empty parts", gantry.ErrInvalid, key)
		}
	}
	return nil
}

// Store fetches and saves cache archives by key.
type Store interface {
	// Get copies the archive of key into w; gantry.ErrNotFound if none.
	Get(ctx context.Context, key string, w io.Writer) error
	// Put stores the archive read from r under key.
	Put(ctx context.Context, key string, r io.Reader, size int64) error
	// Where describes the location of key for the job log.
	Where(key string) string
}

// Local keeps caches under Dir/<key>/cache.zip (Dir already includes the
// project path).
type Local struct{ Dir string }

func (l Local) file(key string) string {
	return filepath.Join(l.Dir, filepath.FromSlash(key), "cache.zip")
}

// Where implements Store.
func (l Local) Where(key string) string { return l.file(key) }

// Get implements Store.
func (l Local) Get(_ context.Context, key string, w io.Writer) error {
	f, err := os.Open(l.file(key))
	if os.IsNotExist(err) {
		return fmt.Errorf("cache %q: %w", key, gantry.ErrNotFound)
	}
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = io.Copy(w, f)
	return err
}

// Put implements Store: write to a temp file, then rename, so a reader never
// sees half an archive.
func (l Local) Put(_ context.Context, key string, r io.Reader, _ int64) error {
	p := l.file(key)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".cache-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := io.Copy(tmp, r); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), p)
}

// S3 keeps caches in a bucket, moved with pre-signed URLs.
type S3 struct {
	client *minio.Client
	bucket string
	prefix string // <Path>/[runner/<token>/]project/<id>
	http   *http.Client
}

// NewS3 builds the S3 store for one job's project.
func NewS3(c *config.Cache, runnerToken string, projectID int64) (*S3, error) {
	s := c.S3
	if s == nil || s.BucketName == "" {
		return nil, fmt.Errorf("%w: [runners.cache.s3] BucketName is required", gantry.ErrInvalid)
	}
	endpoint := s.ServerAddress
	if endpoint == "" {
		endpoint = "s3.amazonaws.com"
	}
	creds := credentials.NewStaticV4(s.AccessKey, s.SecretKey, s.SessionToken)
	if strings.EqualFold(s.AuthenticationType, "iam") {
		creds = credentials.NewIAM("")
	}
	mc, err := minio.New(endpoint, &minio.Options{Creds: creds, Secure: !s.Insecure, Region: s.BucketLocation, BucketLookup: minio.BucketLookupPath})
	if err != nil {
		return nil, fmt.Errorf("s3 cache: %w", err)
	}
	prefix := strings.Trim(c.Path, "/")
	if !c.Shared {
		prefix = path.Join(prefix, "runner", runnerToken)
	}
	prefix = path.Join(prefix, "project", fmt.Sprint(projectID))
	return &S3{client: mc, bucket: s.BucketName, prefix: prefix, http: &http.Client{Timeout: time.Hour}}, nil
}

func (s *S3) object(key string) string { return path.Join(s.prefix, key) }

// Where implements Store.
func (s *S3) Where(key string) string { return "s3://" + s.bucket + "/" + s.object(key) }

// Get implements Store.
func (s *S3) Get(ctx context.Context, key string, w io.Writer) error {
	u, err := s.client.PresignedGetObject(ctx, s.bucket, s.object(key), time.Hour, url.Values{})
	if err != nil {
		return fmt.Errorf("presign cache download: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return err
	}
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("download cache: %w", err)
	}
	defer resp.Body.Close()
	switch resp.StatusCode {
	case http.StatusOK:
	case http.StatusNotFound:
		return fmt.Errorf("cache %q: %w", key, gantry.ErrNotFound)
	default:
		return fmt.Errorf("download cache: %s", resp.Status)
	}
	_, err = io.Copy(w, resp.Body)
	return err
}

// Put implements Store.
func (s *S3) Put(ctx context.Context, key string, r io.Reader, size int64) error {
	u, err := s.client.PresignedPutObject(ctx, s.bucket, s.object(key), time.Hour)
	if err != nil {
		return fmt.Errorf("presign cache upload: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, u.String(), r)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "application/zip")
	resp, err := s.http.Do(req)
	if err != nil {
		return fmt.Errorf("upload cache: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("upload cache: %s", resp.Status)
	}
	return nil
}
