package runnerapi

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/store"
)

// Dotenv report limits, GitLab's defaults.
const (
	maxDotenvSize      = 5 << 10
	maxDotenvVariables = 20
)

func (s *Server) maxArtifactSize() int64 {
	if s.MaxArtifactSize == 0 {
		return 100 << 20
	}
	return s.MaxArtifactSize
}

// uploadArtifact answers POST /jobs/:id/artifacts: one streamed multipart
// part "file", stored in the blob store without holding it in memory. A
// dotenv report's variables are read now, for the jobs that depend on it.
func (s *Server) uploadArtifact(w http.ResponseWriter, r *http.Request) {
	j, _, ok := s.jobFor(w, r, "")
	if !ok {
		return
	}
	q := r.URL.Query()
	a := store.Artifact{JobID: j.ID, FileType: orDefault(q.Get("artifact_type"), "archive"), Format: orDefault(q.Get("artifact_format"), "zip")}
	if !validArtifactType.MatchString(a.FileType) || (a.Format != "zip" && a.Format != "gzip" && a.Format != "raw") {
		message(w, http.StatusBadRequest, "400 Bad request - artifact_type or artifact_format is invalid")
		return
	}
	if exp := q.Get("expire_in"); exp != "" && exp != "never" {
		d, err := gantry.ParseDuration(exp)
		if err != nil {
			message(w, http.StatusBadRequest, "400 Bad request - expire_in is invalid")
			return
		}
		a.ExpireAt = time.Now().Add(d)
	}
	part, err := filePart(r)
	if err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
		return
	}
	a.Filename = orDefault(part.FileName(), "artifacts.zip")
	a.BlobKey = fmt.Sprintf("artifacts/%d/%s-%d", j.ID, a.FileType, time.Now().UnixNano())
	limited := &limitReader{r: part, n: s.maxArtifactSize()}
	size, err := s.Blobs.Put(r.Context(), a.BlobKey, limited)
	if limited.over {
		s.Blobs.Delete(context.WithoutCancel(r.Context()), a.BlobKey)
		message(w, http.StatusRequestEntityTooLarge, "413 Request Entity Too Large")
		return
	}
	if err != nil {
		s.fail(w, r, fmt.Errorf("store artifact: %w", err))
		return
	}
	a.Size = size
	if a.FileType == "dotenv" {
		if err := s.readDotenv(r.Context(), a); err != nil {
			s.Blobs.Delete(context.WithoutCancel(r.Context()), a.BlobKey)
			message(w, http.StatusBadRequest, "400 Bad request - dotenv report: "+err.Error())
			return
		}
	}
	old, err := s.Store.PutArtifact(r.Context(), &a)
	if err != nil {
		// e.g. the pipeline was deleted while the upload ran: nothing
		// would ever refer to the file, or delete it later.
		s.Blobs.Delete(context.WithoutCancel(r.Context()), a.BlobKey)
		s.fail(w, r, err)
		return
	}
	if old != "" {
		s.Blobs.Delete(context.WithoutCancel(r.Context()), old)
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": j.ID, "artifact_type": a.FileType, "size": a.Size})
}

var validArtifactType = regexp.MustCompile(`^[a-z_]{1,64}$`)

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}

// filePart returns the multipart part named "file", streaming.
func filePart(r *http.Request) (*multipart.Part, error) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/form-data" {
		return nil, errors.New("the body must be multipart/form-data")
	}
	mr, err := r.MultipartReader()
	if err != nil {
		return nil, err
	}
	for {
		p, err := mr.NextPart()
		if err != nil {
			return nil, errors.New("file is missing")
		}
		if p.FormName() == "file" {
			return p, nil
		}
	}
}

// limitReader reads at most n bytes and remembers whether there was more.
type limitReader struct {
	r    io.Reader
	n    int64
	over bool
}

func (l *limitReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		var one [1]byte
		if k, _ := l.r.Read(one[:]); k > 0 {
			l.over = true
			return 0, errors.New("artifact too large")
		}
		return 0, io.EOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	return k, err
}

var dotenvKey = regexp.MustCompile(`^[a-zA-Z_][a-zA-Z0-9_]*$`)

// readDotenv parses a dotenv report (KEY=VALUE lines) and stores its
// variables on the job.
func (s *Server) readDotenv(ctx context.Context, a store.Artifact) error {
	rc, err := s.Blobs.Get(ctx, a.BlobKey)
	if err != nil {
		return err
	}
	defer rc.Close()
	var in io.Reader = rc
	if a.Format == "gzip" {
		zr, err := gzip.NewReader(rc)
		if err != nil {
			return errors.New("not gzip")
		}
		in = zr
	}
	raw, err := io.ReadAll(io.LimitReader(in, maxDotenvSize+1))
	if err != nil {
		return err
	}
	if len(raw) > maxDotenvSize {
		return fmt.Errorf("larger than %d bytes", maxDotenvSize)
	}
	vars, err := parseDotenv(raw)
	if err != nil {
		return err
	}
	return s.Store.SetJobDotenv(ctx, a.JobID, vars)
}

func parseDotenv(raw []byte) ([]gantry.PipelineVariable, error) {
	var vars []gantry.PipelineVariable
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, ok := strings.Cut(line, "=")
		key = strings.TrimSpace(strings.TrimPrefix(key, "export "))
		if !ok || !dotenvKey.MatchString(key) {
			return nil, fmt.Errorf("line %d is not KEY=VALUE", n)
		}
		if len(val) >= 2 && (val[0] == '"' || val[0] == '\'') && val[len(val)-1] == val[0] {
			val = val[1 : len(val)-1]
		}
		vars = append(vars, gantry.PipelineVariable{Key: key, Value: val})
	}
	if len(vars) > maxDotenvVariables {
		return nil, fmt.Errorf("more than %d variables", maxDotenvVariables)
	}
	return vars, nil
}

// downloadArtifact answers GET /jobs/:id/artifacts for a runner: the job
// token of a running job of the same project may fetch another job's
// archive (its dependency's). As GitLab: 401 without a live job token,
// 403 for a job that token may not read (or that does not exist).
func (s *Server) downloadArtifact(w http.ResponseWriter, r *http.Request) {
	_, tokenJob, err := s.Forge.JobTokenActor(r.Context(), tokenOf(r))
	if err != nil {
		message(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	var dep gantry.Job
	if err == nil {
		dep, err = s.Store.Job(r.Context(), id)
	}
	if err != nil || dep.ProjectID != tokenJob.ProjectID {
		message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	s.serveArtifact(w, r, dep.ID, "archive")
}

// serveArtifact streams one artifact file.
func (s *Server) serveArtifact(w http.ResponseWriter, r *http.Request, jobID int64, fileType string) {
	a, err := s.Store.Artifact(r.Context(), jobID, fileType)
	if err != nil {
		message(w, http.StatusNotFound, "404 Not Found")
		return
	}
	rc, err := s.Blobs.Get(r.Context(), a.BlobKey)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(a.Size, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	io.Copy(w, rc)
}

// tokenOf reads a job token from the header, or the job_token parameter.
func tokenOf(r *http.Request) string {
	if t := r.Header.Get(gitlab.HeaderJobToken); t != "" {
		return t
	}
	return r.URL.Query().Get("job_token")
}
