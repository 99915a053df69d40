package runnerapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/trace"
)

// maxPatch bounds one trace PATCH; the runner sends at most 1 MiB.
const maxPatch = 4 << 20

// traceInterval is how often runners send trace updates (seconds).
const traceInterval = "3"

// patchTrace answers PATCH /jobs/:id/trace: append the bytes at the
// Content-Range offset (202 with the new Range), or 416 with the stored
// length when the runner's offset is off.
func (s *Server) patchTrace(w http.ResponseWriter, r *http.Request) {
	j, token, ok := s.jobFor(w, r, "")
	if !ok {
		return
	}
	start, end, err := contentRange(r.Header.Get("Content-Range"))
	if err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - "+err.Error())
		return
	}
	body, err := readBody(r, maxPatch)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	if len(body) > maxPatch || (end >= start && int64(len(body)) != end-start+1) {
		message(w, http.StatusBadRequest, "400 Bad request - body does not match Content-Range")
		return
	}
	ctx := r.Context()
	secrets, err := s.secretsFor(ctx, j, token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	length, err := s.Traces.Append(ctx, j.ID, start, body, secrets)
	var re *trace.RangeError
	switch {
	case errors.As(err, &re):
		w.Header().Set("Range", "0-"+strconv.FormatInt(re.Length, 10))
		w.Header().Set(gitlab.HeaderJobStatus, string(j.Status))
		message(w, http.StatusRequestedRangeNotSatisfiable, "416 Range Not Satisfiable")
		return
	case errors.Is(err, trace.ErrTooLarge):
		s.log().Warn("job log over the size limit; failing the job", "job", j.ID)
		s.Pipelines.Finish(ctx, j.ID, pipelineFailure("trace_size_exceeded"))
		w.Header().Set(gitlab.HeaderJobStatus, string(gantry.StatusFailed))
		message(w, http.StatusForbidden, "403 Forbidden - job log is too large")
		return
	case err != nil:
		s.fail(w, r, err)
		return
	}
	// The append recorded the runner's contact with the job.
	w.Header().Set("Range", "0-"+strconv.FormatInt(length, 10))
	w.Header().Set(gitlab.HeaderJobStatus, string(j.Status))
	w.Header().Set(gitlab.HeaderTraceUpdateInterval, traceInterval)
	w.WriteHeader(http.StatusAccepted)
}

// readBody reads r's body, at most limit+1 bytes of it: at once into a
// buffer of its Content-Length when the client sent one (net/http ends
// the body there), since growing a buffer to a 1 MiB patch copies it
// several times.
func readBody(r *http.Request, limit int64) ([]byte, error) {
	if n := r.ContentLength; n >= 0 && n <= limit {
		b := make([]byte, n)
		_, err := io.ReadFull(r.Body, b)
		return b, err
	}
	return io.ReadAll(io.LimitReader(r.Body, limit+1))
}

// contentRange parses the runner's "start-end" (inclusive end, no unit).
func contentRange(h string) (int64, int64, error) {
	h = strings.TrimPrefix(strings.TrimSpace(h), "bytes ")
	a, b, ok := strings.Cut(h, "-")
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(strings.Split(b, "/")[0], 10, 64)
	if !ok || err1 != nil || err2 != nil || start < 0 || end < start-1 {
		return 0, 0, fmt.Errorf("Content-Range %q is invalid", h)
	}
	return start, end, nil
}

// secretsFor returns the values to mask in a job's log: the job token the
// request authenticated with, and the masked CI/CD variables the job was
// handed, as recorded when it was claimed (so a variable rotated since
// stays masked, with or without a restart in between). Jobs claimed by a
// release that recorded nothing fall back to the variables as they are now.
func (s *Server) secretsFor(ctx context.Context, j gantry.Job, token string) ([]string, error) {
	masks, recorded, err := s.Store.JobMasks(ctx, j.ID)
	if err != nil {
		return nil, err
	}
	if !recorded && s.Variables != nil {
		p, err := s.Store.Project(ctx, j.ProjectID)
		if err != nil {
			return nil, err
		}
		vars, err := s.Variables.CIVariables(ctx, p, j.Protected)
		if err != nil {
			return nil, err
		}
		var spec ci.Job
		_ = json.Unmarshal(j.Spec, &spec)
		env := ""
		if spec.Environment != nil {
			env = spec.Environment.Name
		}
		masks = maskedValues(gantry.ForEnvironment(vars, env))
	}
	return append([]string{token}, masks...), nil
}
