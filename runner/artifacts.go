package runner

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/artifact"
	"github.com/gantry-ci/gantry/runner/cache"
	"github.com/gantry-ci/gantry/runner/client"
)

// The cache and artifact stages run in the runner process against
// the host view of the build directory; every executor exposes one.

func (j *job) out(msg string)  { j.log.Infoln(msg) }
func (j *job) warn(msg string) { j.log.Warningln(msg) }

func (j *job) hasCachePull() bool {
	for _, c := range j.p.Cache {
		if c.Policy != gitlab.CachePolicyPush {
			return true
		}
	}
	return false
}

func (j *job) hasCachePush(success bool) bool {
	for _, c := range j.p.Cache {
		if c.Policy != gitlab.CachePolicyPull && whenMatches(c.When, success) && (len(c.Paths) > 0 || c.Untracked) {
			return true
		}
	}
	return false
}

func (j *job) hasDependencies() bool {
	for _, d := range j.p.Dependencies {
		if d.ArtifactsFile.Filename != "" {
			return true
		}
	}
	return false
}

func (j *job) hasArtifacts(success bool) bool {
	for _, a := range j.p.Artifacts {
		if whenMatches(a.When, success) && (len(a.Paths) > 0 || a.Untracked) {
			return true
		}
	}
	return false
}

// cacheKey expands a cache key; an empty one defaults to <job>/<ref>.
func (j *job) cacheKey(raw string) (string, error) {
	if raw == "" {
		key := j.p.JobInfo.Name + "/" + j.p.GitInfo.Ref
		return key, cache.CheckKey(key, false)
	}
	key := j.vars.ExpandString(raw)
	return key, cache.CheckKey(key, true)
}

func (j *job) cacheStore() (cache.Store, error) {
	c := j.entry.Cache
	if c != nil && c.Type == "s3" {
		return cache.NewS3(c, j.entry.ShortToken(), j.p.JobInfo.ProjectID)
	}
	dir := j.entry.CacheDir
	if dir == "" {
		dir = filepath.Join(j.rn.opts.WorkDir, "cache")
	}
	return cache.Local{Dir: filepath.Join(dir, filepath.FromSlash(projectPath(j.p)))}, nil
}

// restoreCache extracts the first cache found among key and fallback keys.
// A missing cache is a warning, never a failure, as in GitLab.
func (j *job) restoreCache(ctx context.Context) error {
	store, err := j.cacheStore()
	if err != nil {
		j.warn(err.Error())
		return nil
	}
	for _, c := range j.p.Cache {
		if c.Policy == gitlab.CachePolicyPush {
			continue
		}
		keys := append([]string{c.Key}, c.FallbackKeys...)
		restored := false
		for i, raw := range keys {
			if i > 0 && raw == "" {
				continue
			}
			key, err := j.cacheKey(raw)
			if err != nil {
				j.warn(err.Error())
				continue
			}
			j.out(fmt.Sprintf("Checking cache for %s...", key))
			if err := j.fetchCache(ctx, store, key); err != nil {
				if errors.Is(err, gantry.ErrNotFound) {
					j.warn(fmt.Sprintf("%s: not found", store.Where(key)))
				} else {
					j.warn(fmt.Sprintf("Failed to extract cache: %v", err))
				}
				continue
			}
			j.out("Successfully extracted cache")
			restored = true
			break
		}
		if !restored {
			j.warn("Cache could not be restored; the job continues without it")
		}
	}
	return nil
}

func (j *job) fetchCache(ctx context.Context, store cache.Store, key string) error {
	f, err := os.CreateTemp("", "gantry-cache-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := store.Get(ctx, key, f); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return artifact.Extract(f, fi.Size(), j.dirs.HostProjectDir)
}

// saveCache archives each cache entry whose policy and when allow it.
func (j *job) saveCache(ctx context.Context, success bool) error {
	store, err := j.cacheStore()
	if err != nil {
		j.warn(err.Error())
		return nil
	}
	for _, c := range j.p.Cache {
		if c.Policy == gitlab.CachePolicyPull || !whenMatches(c.When, success) {
			continue
		}
		key, err := j.cacheKey(c.Key)
		if err != nil {
			j.warn(err.Error())
			continue
		}
		j.out(fmt.Sprintf("Creating cache %s...", key))
		n, err := j.pack(ctx, artifact.Selection{Paths: j.expandPaths(c.Paths), Untracked: c.Untracked}, func(f *os.File, size int64) error {
			return store.Put(ctx, key, f, size)
		})
		switch {
		case err != nil:
			j.warn(fmt.Sprintf("Failed to create cache: %v", err))
		case n == 0:
			j.warn("No files to cache; cache not saved")
		default:
			j.out(fmt.Sprintf("Created cache at %s", store.Where(key)))
		}
	}
	return nil
}

// expandPaths expands variables in artifacts and cache paths, as GitLab
// Runner does, and turns an absolute path inside the project folder (as
// the job sees it, e.g. $CI_PROJECT_DIR/dist) into the relative one.
// Other absolute paths stay as they are and are refused by artifact.Match.
func (j *job) expandPaths(paths []string) []string {
	out := make([]string, 0, len(paths))
	project := strings.TrimRight(j.dirs.ProjectDir, "/") + "/"
	for _, p := range paths {
		p = j.vars.ExpandString(p)
		if rel, ok := strings.CutPrefix(p, project); ok && rel != "" {
			p = rel
		}
		out = append(out, p)
	}
	return out
}

// pack zips the selection into a temp file and hands it to put; it
// reports how many files went in (0: put is not called).
func (j *job) pack(ctx context.Context, sel artifact.Selection, put func(*os.File, int64) error) (int, error) {
	files, missing, err := artifact.Match(ctx, j.dirs.HostProjectDir, sel)
	if err != nil {
		return 0, err
	}
	for _, m := range missing {
		j.warn(fmt.Sprintf("%s: no matching files. Ensure that the artifact path is relative to the working directory (%s)", m, j.dirs.ProjectDir))
	}
	for _, p := range sel.Paths {
		if n := artifact.Count(files, p); n > 0 {
			j.log.Println(fmt.Sprintf("%s: found %d matching artifact files and directories", p, n))
		}
	}
	if len(files) == 0 {
		return 0, nil
	}
	f, err := os.CreateTemp("", "gantry-archive-*")
	if err != nil {
		return 0, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	if err := artifact.Zip(f, j.dirs.HostProjectDir, files); err != nil {
		return 0, err
	}
	size, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return 0, err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return 0, err
	}
	return len(files), put(f, size)
}

// downloadArtifacts fetches and extracts the dependencies' archives.
func (j *job) downloadArtifacts(ctx context.Context) error {
	for _, d := range j.p.Dependencies {
		if d.ArtifactsFile.Filename == "" {
			continue
		}
		j.out(fmt.Sprintf("Downloading artifacts for %s (%d)...", d.Name, d.ID))
		if err := j.downloadOne(ctx, d); err != nil {
			j.log.Errorln(fmt.Sprintf("Downloading artifacts from coordinator... %v", err))
			return fmt.Errorf("download artifacts of %s (%d): %w", d.Name, d.ID, err)
		}
		j.log.Println(fmt.Sprintf("Downloading artifacts from coordinator... ok  id=%d", d.ID))
	}
	return nil
}

func (j *job) downloadOne(ctx context.Context, d gitlab.JobDependency) error {
	f, err := os.CreateTemp("", "gantry-artifacts-*.zip")
	if err != nil {
		return err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	token := d.Token
	if token == "" {
		token = j.p.Token
	}
	if err := j.api.client.DownloadArtifact(ctx, d.ID, token, f); err != nil {
		return err
	}
	fi, err := f.Stat()
	if err != nil {
		return err
	}
	return artifact.Extract(f, fi.Size(), j.dirs.HostProjectDir)
}

// uploadArtifacts sends one archive per matching artifacts entry.
func (j *job) uploadArtifacts(ctx context.Context, success bool) error {
	var errs []error
	for _, a := range j.p.Artifacts {
		if !whenMatches(a.When, success) || (len(a.Paths) == 0 && !a.Untracked) {
			continue
		}
		if err := j.uploadOne(ctx, a); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

func (j *job) uploadOne(ctx context.Context, a gitlab.JobArtifact) error {
	j.out("Uploading artifacts...")
	typ := a.ArtifactType
	if typ == "" {
		typ = "archive"
	}
	up := client.ArtifactUpload{Name: artifactName(a), Type: a.ArtifactType, Format: a.ArtifactFormat, ExpireIn: a.ExpireIn}
	n, err := j.pack(ctx, artifact.Selection{Paths: j.expandPaths(a.Paths), Exclude: j.expandPaths(a.Exclude), Untracked: a.Untracked}, func(f *os.File, _ int64) error {
		return j.upload(ctx, up, f, a.ArtifactFormat == "gzip")
	})
	switch {
	case err != nil:
		j.log.Errorln(fmt.Sprintf("Uploading artifacts as %q to coordinator... %v", typ, err))
		return fmt.Errorf("upload artifacts %q: %w", up.Name, err)
	case n == 0:
		j.log.Errorln("No files to upload")
		return nil
	}
	j.log.Println(fmt.Sprintf("Uploading artifacts as %q to coordinator... 201 Created  id=%d", typ, j.p.ID))
	return nil
}

// upload sends one archive, retrying transient failures as GitLab Runner
// does (3 tries; 6 for 503); 403 and 413 are final.
func (j *job) upload(ctx context.Context, up client.ArtifactUpload, f *os.File, gz bool) error {
	var err error
	for attempt := 1; ; attempt++ {
		if _, serr := f.Seek(0, io.SeekStart); serr != nil {
			return serr
		}
		var body io.Reader = f
		if gz {
			body = gzipZipped(f)
		}
		err = j.api.client.UploadArtifact(ctx, j.p.ID, j.p.Token, up, body)
		var se *client.StatusError
		limit := 3
		if errors.As(err, &se) && se.Code == 503 {
			limit = 6
		}
		if err == nil || attempt >= limit || !client.IsTransient(err) || ctx.Err() != nil {
			return err
		}
		j.warn(fmt.Sprintf("Uploading artifacts to coordinator... %v; retrying", err))
		if !sleep(ctx, time.Duration(attempt)*j.send.backoff) {
			return ctx.Err()
		}
	}
}

// artifactName is the multipart file name GitLab expects per format.
func artifactName(a gitlab.JobArtifact) string {
	name := a.Name
	if name == "" {
		name = "artifacts"
	}
	switch a.ArtifactFormat {
	case "gzip":
		return name + ".gz"
	case "raw":
		return name
	case "tarzstd":
		return name + ".tar.zst"
	}
	return name + ".zip"
}

// gzipZipped re-encodes the files of a zip as one gzip stream, GitLab's
// format for reports (junit…).
func gzipZipped(f *os.File) io.Reader {
	pr, pw := io.Pipe()
	go func() {
		fi, err := f.Stat()
		if err != nil {
			pw.CloseWithError(err)
			return
		}
		pw.CloseWithError(artifact.Gzip(pw, f, fi.Size()))
	}()
	return pr
}
