package api

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"mime"
	"net/http"
	"os"
	"path"
	"strings"
)

// maxExtractions bounds how many artifact archives are opened at once to
// serve one of their files. Opening reads the archive's central
// directory into memory, a few hundred bytes a file: for a hostile
// archive of the largest size made of empty files, hundreds of MiB.
// Streaming the file afterwards keeps neither the directory nor a slot.
const maxExtractions = 4

// jobArtifactFile serves one file out of a job's zip archive. The archive
// is read with random access, never whole into memory (see
// artifactEntry).
func (s *Server) jobArtifactFile(w http.ResponseWriter, r *http.Request, c *call) {
	j, err := s.artifactsOf(r.Context(), c, r)
	if err != nil {
		s.fail(w, r, err, "Job")
		return
	}
	want := path.Clean("/" + r.PathValue("path"))[1:]
	a, err := s.Store.Artifact(r.Context(), j.ID, "archive")
	if err != nil || a.Format != "zip" {
		s.fail(w, r, errNotFoundf("Artifacts"), "")
		return
	}
	rc, err := s.artifactEntry(r.Context(), a.BlobKey, want)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": path.Base(want)}))
	io.Copy(w, rc)
}

// artifactEntry opens the file named want (a leading "./" in the archive
// is ignored) in the zip archive stored at key and returns its contents,
// decompressed and checked against its CRC-32 as they are read. Close
// releases the archive. A missing file is gantry.ErrNotFound, an archive
// that is no zip gantry.ErrInvalid.
func (s *Server) artifactEntry(ctx context.Context, key, want string) (io.ReadCloser, error) {
	release, err := s.acquireExtraction(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	ra, size, closeArchive, err := s.randomAccess(ctx, key)
	if err != nil {
		return nil, err
	}
	f, err := findEntry(ra, size, want)
	var rc io.ReadCloser
	if err == nil {
		rc, err = f.Open()
	}
	if err != nil {
		closeArchive()
		return nil, err
	}
	return &entryReader{ReadCloser: rc, closeArchive: closeArchive}, nil
}

// findEntry finds the file named want in the archive. The archive's
// directory is dropped before it returns (the entry only keeps a pointer
// to the zip.Reader, whose File list is cleared), so that while the file
// is streamed the other entries can be collected.
func findEntry(ra io.ReaderAt, size int64, want string) (*zip.File, error) {
	zr, err := zip.NewReader(ra, size)
	if err != nil {
		return nil, errInvalidf("the artifacts archive is not a zip file")
	}
	defer func() { zr.File = nil }()
	for _, f := range zr.File {
		if strings.TrimPrefix(f.Name, "./") == want && !f.FileInfo().IsDir() {
			return f, nil
		}
	}
	return nil, errNotFoundf("File")
}

// randomAccess opens the object at key as an io.ReaderAt: directly when
// the backend's reader is one (blob/fs returns the *os.File), otherwise
// through a temporary file the object is copied to. done closes (and
// removes) what was opened. The size comes from Stat: artifact keys are
// never rewritten (each upload has its own), so it is the size of the
// object opened.
func (s *Server) randomAccess(ctx context.Context, key string) (ra io.ReaderAt, size int64, done func(), err error) {
	rc, err := s.Blobs.Get(ctx, key)
	if err != nil {
		return nil, 0, nil, err
	}
	if ra, ok := rc.(io.ReaderAt); ok {
		size, err := s.Blobs.Stat(ctx, key)
		if err != nil {
			rc.Close()
			return nil, 0, nil, err
		}
		return ra, size, func() { rc.Close() }, nil
	}
	defer rc.Close()
	tmp, err := os.CreateTemp("", "gantry-artifacts-*.zip")
	if err != nil {
		return nil, 0, nil, fmt.Errorf("spool %s: %w", key, err)
	}
	done = func() {
		tmp.Close()
		os.Remove(tmp.Name())
	}
	if size, err = io.Copy(tmp, rc); err != nil {
		done()
		return nil, 0, nil, fmt.Errorf("spool %s: %w", key, err)
	}
	return tmp, size, done, nil
}

// acquireExtraction waits for one of maxExtractions slots (or the end of
// ctx) and returns the function that frees it.
func (s *Server) acquireExtraction(ctx context.Context) (release func(), err error) {
	s.extractOnce.Do(func() { s.extractions = make(chan struct{}, maxExtractions) })
	select {
	case s.extractions <- struct{}{}:
		return func() { <-s.extractions }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// entryReader is a file of an archive; closing it closes the archive.
type entryReader struct {
	io.ReadCloser
	closeArchive func()
}

func (e *entryReader) Close() error {
	err := e.ReadCloser.Close()
	e.closeArchive()
	return err
}
