package trace

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/gantry-ci/gantry"
)

// readPage is how many bytes a reader fetches from the store at a time.
const readPage = 256 << 10

// Reader returns job's log from offset on, as stored (masked). While the
// job runs it ends at the bytes stored so far (held-back bytes are not
// readable yet); read again from where it stopped to follow the log. It
// reads from the chunks or the archived object, whichever holds the log,
// and keeps reading correctly if the log is archived meanwhile. A log
// never written reads as empty. ctx bounds the reader's life; Close it.
func (s *Service) Reader(ctx context.Context, jobID, offset int64) (io.ReadCloser, error) {
	if offset < 0 {
		return nil, fmt.Errorf("read log of job %d at %d: %w", jobID, offset, gantry.ErrInvalid)
	}
	r := &logReader{s: s, chunkReader: chunkReader{ctx: ctx, chunks: s.chunks, jobID: jobID, off: offset, end: -1}}
	st, err := s.state(ctx, jobID)
	if err != nil {
		return nil, fmt.Errorf("read log of job %d: %w", jobID, err)
	}
	if st.Archived {
		if err := r.openObject(); err != nil {
			return nil, err
		}
	}
	return r, nil
}

// chunkReader reads a log's chunks from off, up to end if end >= 0. With
// an end, running out early is io.ErrUnexpectedEOF.
type chunkReader struct {
	ctx    context.Context
	chunks Chunks
	jobID  int64
	off    int64
	end    int64
	buf    []byte
}

func (r *chunkReader) Read(p []byte) (int, error) {
	if len(r.buf) == 0 {
		limit := readPage
		if r.end >= 0 {
			limit = int(min(int64(limit), r.end-r.off))
			if limit == 0 {
				return 0, io.EOF
			}
		}
		data, err := r.chunks.TraceBytes(r.ctx, r.jobID, r.off, limit)
		switch {
		case err != nil:
			return 0, err
		case len(data) == 0 && r.end >= 0:
			return 0, fmt.Errorf("log of job %d ends at %d, want %d: %w", r.jobID, r.off, r.end, io.ErrUnexpectedEOF)
		case len(data) == 0:
			return 0, io.EOF
		}
		r.buf = data
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	r.off += int64(n)
	return n, nil
}

// logReader reads chunks until the log turns out to be archived, then the
// object.
type logReader struct {
	s *Service
	chunkReader
	object io.ReadCloser
}

func (r *logReader) Read(p []byte) (int, error) {
	if r.object != nil {
		return r.object.Read(p)
	}
	n, err := r.chunkReader.Read(p)
	if err != io.EOF {
		return n, err
	}
	// The end of the chunks: the end of the log so far, or the chunks
	// were just archived and dropped.
	st, serr := r.s.state(r.ctx, r.jobID)
	switch {
	case serr != nil:
		return 0, serr
	case !st.Archived:
		return 0, io.EOF
	}
	if err := r.openObject(); err != nil {
		return 0, err
	}
	return r.object.Read(p)
}

// openObject opens the archived log at the reader's offset.
func (r *logReader) openObject() error {
	obj, err := r.s.objects.Get(r.ctx, ObjectKey(r.jobID))
	if err != nil {
		return fmt.Errorf("read archived log of job %d: %w", r.jobID, err)
	}
	if sk, ok := obj.(io.Seeker); ok {
		_, err = sk.Seek(r.off, io.SeekStart)
	} else if _, err = io.CopyN(io.Discard, obj, r.off); errors.Is(err, io.EOF) {
		err = nil // offset past the end: reads as empty
	}
	if err != nil {
		obj.Close()
		return fmt.Errorf("read archived log of job %d at %d: %w", r.jobID, r.off, err)
	}
	r.object = obj
	return nil
}

func (r *logReader) Close() error {
	if r.object != nil {
		return r.object.Close()
	}
	return nil
}
