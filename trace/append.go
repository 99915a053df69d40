package trace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"hash/crc32"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// Append adds data, which the runner sent for offset, to job's log,
// masking every occurrence of each secret (see the package doc), and
// returns the log's new length. The append is durable when Append
// returns. Pass the same secrets to every call for a job: the masked
// CI/CD variable values and the job token.
//
// Errors: *RangeError when offset is not the log's length (nothing is
// stored); an error wrapping ErrTooLarge when the log would exceed its
// limit (nothing is stored); one wrapping gantry.ErrConflict once the log
// is archived. Empty data stores nothing and returns the length.
func (s *Service) Append(ctx context.Context, jobID, offset int64, data []byte, secrets []string) (int64, error) {
	mu := s.lock(jobID)
	mu.Lock()
	defer mu.Unlock()
	st, err := s.state(ctx, jobID)
	if err != nil {
		return 0, fmt.Errorf("append to log of job %d: %w", jobID, err)
	}
	if err := s.checkAppend(st, offset, len(data)); err != nil || len(data) == 0 {
		return st.Size, err
	}
	next, err := s.write(ctx, st, newSecretSet(secrets), data, false)
	if errors.Is(err, gantry.ErrConflict) {
		// Another server process appended or archived in between: answer
		// as if its write had come first.
		if now, serr := s.state(ctx, jobID); serr == nil {
			if cerr := s.checkAppend(now, offset, len(data)); cerr != nil {
				return now.Size, cerr
			}
		}
	}
	if err != nil {
		return 0, fmt.Errorf("append %d bytes to log of job %d at %d: %w", len(data), jobID, offset, err)
	}
	return next.Size, nil
}

func (s *Service) checkAppend(st store.Trace, offset int64, n int) error {
	switch {
	case st.Archived:
		return fmt.Errorf("append to log of job %d: log is archived: %w", st.JobID, gantry.ErrConflict)
	case offset != st.Size:
		return &RangeError{Offset: offset, Length: st.Size}
	case st.Size+int64(n) > s.maxSize:
		return fmt.Errorf("append %d bytes to log of job %d at %d: %w (%d bytes)", n, st.JobID, offset, ErrTooLarge, s.maxSize)
	}
	return nil
}

// write masks data after st's held-back tail and stores the outcome in
// one store transaction; final releases the tail. The caller holds the
// job's lock.
func (s *Service) write(ctx context.Context, st store.Trace, set *secretSet, data []byte, final bool) (store.Trace, error) {
	out, tl, by := set.step(s.heldTail(st, set), data, final)
	next := st
	next.Size += int64(len(data))
	next.Stored += int64(len(out))
	next.CRC32 = crc32.Update(st.CRC32, crc32.IEEETable, data)
	next.HeldMAC, next.HeldMask = nil, tl.overlay
	if by >= 0 {
		next.HeldMAC = heldMAC(set.secrets[by], st.JobID, len(tl.raw))
	}
	if err := s.chunks.AppendTrace(ctx, st, next, out); err != nil {
		return st, err
	}
	return next, nil
}

// heldTail returns st's held-back bytes, rebuilt from the secret they
// began (recognised by the stored HMAC), or as many 'x's when set does not
// hold that secret. There is deliberately no copy of the raw bytes in
// memory: bytes that can't be checked against their secret are never
// released in clear, whatever process holds them.
func (s *Service) heldTail(st store.Trace, set *secretSet) tail {
	t := tail{overlay: st.HeldMask}
	n := int(st.Size - st.Stored)
	if n == 0 {
		return t
	}
	if raw, ok := set.rebuild(st.HeldMAC, st.JobID, n); ok {
		t.raw = raw
		return t
	}
	s.log.Warn("held-back log bytes cannot be checked without their secret; storing them masked", "job", st.JobID, "bytes", n)
	t.raw = bytes.Repeat([]byte{'x'}, n)
	return t
}
