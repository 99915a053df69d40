// Package trace keeps job logs: the runner appends them in pieces while
// a job runs (PATCH /api/v4/jobs/:id/trace), users read them live, and
// when the job ends the whole log moves to the blob store.
//
// # Offsets
//
// A log's length counts the bytes the runner sent. An append must start
// exactly there (else *RangeError, which the API answers with 416 and
// "Range: 0-<length>"), so a retried or duplicated patch is never stored
// twice. Checksum returns the IEEE CRC32 and size of the bytes as sent,
// to compare with the runner's final "crc32:%08x" and bytesize.
//
// # Masking
//
// Every occurrence of every secret passed to Append is replaced by Mask of
// its length ("[MASKED]xxx…"), so offsets in the stored log equal the
// runner's. Occurrences may overlap and may straddle appends.
//
// The guarantee: for secrets passed to every Append (and Archive) of a
// log, no byte of an occurrence is ever written anywhere in clear — not
// in the database, not in the blob store, not for a moment. To hold it
// when a secret is split across appends, an append holds back the
// longest tail of the log that is a proper prefix of a secret: those bytes
// count towards the length (the runner has sent them) but are not stored
// and not yet readable. The next append completes or refutes them; Archive
// releases them. Nothing keeps them, not even memory: the database keeps
// only an HMAC keyed with the whole secret, and every call rebuilds the
// tail from the secrets it brings, so a process that restarted in between
// behaves as one that did not, while the HMAC reveals nothing to someone
// who does not know the secret already. If the tail cannot be rebuilt
// (the call does not bring the secret it began, e.g. Archive without
// secrets), those few bytes are stored as 'x's: the log keeps its length
// and errs on the side of hiding. A prefix released with its secret at
// hand is stored as it was sent: it never became the secret.
//
// Bytes that appear only after masking (a secret that happens to read
// "[MASKED]", or a secret formed by mask bytes and their neighbours) are
// not secrets from the log and are left alone.
//
// # Storage
//
// While a job runs its log lives in the SQL store as chunks (package
// store; one transaction per append, compare-and-set on the length, so two
// server processes cannot interleave). Archive writes it to the blob store
// at "traces/<job id>.log" and then drops the chunks; Reader reads from
// wherever the log is, also while it moves.
package trace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// DefaultMaxSize is the default limit of a log's length (GitLab's
// default maximum job log size is 100 MiB too).
const DefaultMaxSize = 100 << 20

// ErrTooLarge is returned by Append when the log would exceed its limit.
// GitLab answers it with 403, which makes the runner stop the job.
var ErrTooLarge = errors.New("job log exceeds its size limit")

// RangeError is returned by Append when offset is not the log's length.
// The API answers 416 with "Range: 0-<Length>".
type RangeError struct {
	Offset int64 // where the refused append wanted to start
	Length int64 // the log's length: where the next append must start
}

func (e *RangeError) Error() string {
	return fmt.Sprintf("append at offset %d, but the log has %d bytes", e.Offset, e.Length)
}

// Chunks is the persistence a Service needs; *store.Store implements it.
type Chunks interface {
	Trace(ctx context.Context, jobID int64) (store.Trace, error)
	AppendTrace(ctx context.Context, prev, next store.Trace, data []byte) error
	TraceBytes(ctx context.Context, jobID, offset int64, limit int) ([]byte, error)
	ArchiveTrace(ctx context.Context, jobID int64) error
	DeleteTrace(ctx context.Context, jobID int64) error
}

// Objects is the part of a blob.Store a Service uses.
type Objects interface {
	Put(ctx context.Context, key string, r io.Reader) (int64, error)
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Delete(ctx context.Context, key string) error
}

var _ Chunks = (*store.Store)(nil)

// Config holds a Service's dependencies.
type Config struct {
	Chunks  Chunks
	Objects Objects
	Log     *slog.Logger
	// MaxSize limits each log's length; 0 means DefaultMaxSize.
	MaxSize int64
}

// Service appends to, reads, archives and deletes job logs. It is safe
// for concurrent use; calls for one job are serialised.
type Service struct {
	chunks  Chunks
	objects Objects
	log     *slog.Logger
	maxSize int64

	locks [64]sync.Mutex // by job id modulo 64
}

// New returns a Service.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.MaxSize <= 0 {
		c.MaxSize = DefaultMaxSize
	}
	return &Service{chunks: c.Chunks, objects: c.Objects, log: c.Log, maxSize: c.MaxSize}
}

// ObjectKey is where the archived log of a job lives in the blob store.
func ObjectKey(jobID int64) string { return fmt.Sprintf("traces/%d.log", jobID) }

func (s *Service) lock(jobID int64) *sync.Mutex {
	return &s.locks[uint64(jobID)%uint64(len(s.locks))]
}

// state returns the stored state of job's log; a log never appended to is
// an empty one.
func (s *Service) state(ctx context.Context, jobID int64) (store.Trace, error) {
	st, err := s.chunks.Trace(ctx, jobID)
	if errors.Is(err, gantry.ErrNotFound) {
		return store.Trace{JobID: jobID}, nil
	}
	return st, err
}

// Length returns how many bytes of job's log the runner has sent: the
// offset the next append must start at (0 for a log never written).
func (s *Service) Length(ctx context.Context, jobID int64) (int64, error) {
	st, err := s.state(ctx, jobID)
	if err != nil {
		return 0, err
	}
	return st.Size, nil
}

// Checksum returns the IEEE CRC32 and the size of the bytes the runner
// sent for job's log, before masking.
func (s *Service) Checksum(ctx context.Context, jobID int64) (crc uint32, size int64, err error) {
	st, err := s.state(ctx, jobID)
	if err != nil {
		return 0, 0, err
	}
	return st.CRC32, st.Size, nil
}
