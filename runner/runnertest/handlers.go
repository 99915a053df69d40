package runnertest

import (
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry/gitlab"
)

func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var req gitlab.VerifyRunnerRequest
	body, err := s.readJSON(r, &req)
	switch {
	case err != nil:
		s.record(r, body, 400)
		message(w, http.StatusBadRequest, err.Error())
	case req.Token != s.Token():
		s.record(r, body, 403)
		message(w, http.StatusForbidden, "403 Forbidden")
	default:
		s.record(r, body, 200)
		writeJSON(w, http.StatusOK, gitlab.RunnerCredentials{ID: 1, Token: req.Token})
	}
}

func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req gitlab.RegisterRunnerRequest
	body, err := s.readJSON(r, &req)
	switch {
	case err != nil:
		s.record(r, body, 400)
		message(w, http.StatusBadRequest, err.Error())
	case req.Token != s.RegistrationToken:
		s.record(r, body, 403)
		message(w, http.StatusForbidden, "403 Forbidden")
	default:
		s.record(r, body, 201)
		writeJSON(w, http.StatusCreated, gitlab.RunnerCredentials{ID: 2, Token: s.Token()})
	}
}

func (s *Server) unregister(w http.ResponseWriter, r *http.Request) {
	var req gitlab.UnregisterRunnerRequest
	body, err := s.readJSON(r, &req)
	if err != nil || req.Token != s.Token() {
		s.record(r, body, 403)
		message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	s.record(r, body, 204)
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) resetToken(w http.ResponseWriter, r *http.Request) {
	var req gitlab.ResetTokenRequest
	body, err := s.readJSON(r, &req)
	if err != nil || req.Token != s.Token() {
		s.record(r, body, 403)
		message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	s.mu.Lock()
	s.RunnerToken = "glrt-reset-" + strconv.Itoa(len(s.exchanges))
	tok := s.RunnerToken
	s.mu.Unlock()
	s.record(r, body, 201)
	writeJSON(w, http.StatusCreated, gitlab.ResetTokenResponse{Token: tok})
}

func (s *Server) resetTokenPAT(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	ok := s.PAT != "" && r.Header.Get("PRIVATE-TOKEN") == s.PAT
	if ok {
		s.RunnerToken = "glrt-pat-reset"
	}
	s.mu.Unlock()
	if !ok {
		s.record(r, nil, 401)
		message(w, http.StatusUnauthorized, "401 Unauthorized")
		return
	}
	s.record(r, nil, 201)
	writeJSON(w, http.StatusCreated, gitlab.ResetTokenResponse{Token: "glrt-pat-reset"})
}

// request hands out queued jobs; with the current last_update it holds the
// request up to LongPoll for a new one, then answers 204.
func (s *Server) request(w http.ResponseWriter, r *http.Request) {
	var req gitlab.JobRequest
	body, err := s.readJSON(r, &req)
	if err != nil {
		s.record(r, body, 400)
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	if req.Token != s.Token() {
		s.record(r, body, 403)
		message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	deadline := time.Now().Add(s.LongPoll)
	for {
		s.mu.Lock()
		version := "v" + strconv.Itoa(s.version)
		if len(s.queue) > 0 {
			j := s.queue[0]
			s.queue = s.queue[1:]
			j.State = "running"
			s.mu.Unlock()
			s.record(r, body, 201)
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusCreated)
			if j.Raw != nil {
				w.Write(j.Raw)
			} else {
				writeBody(w, j.Payload)
			}
			return
		}
		wake := s.wake
		s.mu.Unlock()
		wait := time.Until(deadline)
		if req.LastUpdate != version || wait <= 0 {
			s.record(r, body, 204)
			if s.LongPoll > 0 && req.LastUpdate != "" {
				w.Header().Set("Gitlab-Ci-Builds-Polling", "yes")
			}
			w.Header().Set(gitlab.HeaderLastUpdate, version)
			w.WriteHeader(http.StatusNoContent)
			return
		}
		select {
		case <-wake:
		case <-time.After(wait):
		case <-r.Context().Done():
			return
		}
	}
}

func (s *Server) update(w http.ResponseWriter, r *http.Request) {
	var req gitlab.UpdateJobRequest
	body, err := s.readJSON(r, &req)
	if err != nil {
		s.record(r, body, 400)
		message(w, http.StatusBadRequest, err.Error())
		return
	}
	j, ok := s.jobFor(w, r, req.Token)
	if !ok {
		s.record(r, body, 403)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	j.Updates = append(j.Updates, req)
	code := http.StatusOK
	switch {
	case j.State == "canceled" || j.State == "success" || j.State == "failed":
		code = http.StatusForbidden
	case req.State == "success" || req.State == "failed":
		if s.Final202Once {
			s.Final202Once = false
			code = http.StatusAccepted
			break
		}
		if req.Output.Bytesize != int64(len(j.Trace)) {
			code = http.StatusAccepted // trace not complete yet
			break
		}
		if j.State == "canceling" {
			j.State = "canceled"
		} else {
			j.State = req.State
		}
		s.finishLocked(j)
	}
	s.jobHeaders(w, j)
	s.exchanges = append(s.exchanges, Exchange{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body, Status: code})
	w.WriteHeader(code)
	fmt.Fprint(w, code)
}

func (s *Server) patch(w http.ResponseWriter, r *http.Request) {
	j, ok := s.jobFor(w, r, "")
	if !ok {
		return
	}
	data, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cr := r.Header.Get("Content-Range")
	j.Patches = append(j.Patches, cr)
	s.jobHeaders(w, j)
	s.exchanges = append(s.exchanges, Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone()})
	if j.State != "running" && j.State != "canceling" {
		w.WriteHeader(http.StatusForbidden)
		return
	}
	start, end, ok := parseRange(cr)
	if !ok || end-start+1 != int64(len(data)) || r.Header.Get("Content-Type") != "text/plain" {
		w.WriteHeader(http.StatusBadRequest)
		return
	}
	if s.Fail416Once && start > 0 {
		s.Fail416Once = false
		j.Trace = j.Trace[:0] // the server lost what it had, as in the capture
	}
	if start != int64(len(j.Trace)) {
		w.Header().Set("Range", fmt.Sprintf("0-%d", len(j.Trace)))
		w.WriteHeader(http.StatusRequestedRangeNotSatisfiable)
		return
	}
	j.Trace = append(j.Trace, data...)
	w.Header().Set("Range", fmt.Sprintf("0-%d", len(j.Trace)))
	w.WriteHeader(http.StatusAccepted)
}

func parseRange(v string) (start, end int64, ok bool) {
	a, b, found := strings.Cut(v, "-")
	if !found {
		return 0, 0, false
	}
	start, err1 := strconv.ParseInt(a, 10, 64)
	end, err2 := strconv.ParseInt(b, 10, 64)
	return start, end, err1 == nil && err2 == nil && start >= 0 && end >= start
}

func (s *Server) uploadArtifacts(w http.ResponseWriter, r *http.Request) {
	j, ok := s.jobFor(w, r, "")
	if !ok {
		return
	}
	s.mu.Lock()
	fail := s.ArtifactFailures > 0
	if fail {
		s.ArtifactFailures--
	}
	s.mu.Unlock()
	if fail {
		io.Copy(io.Discard, r.Body)
		s.record(r, nil, 503)
		message(w, http.StatusServiceUnavailable, "503 Service Unavailable")
		return
	}
	if r.ContentLength >= 0 && len(r.TransferEncoding) == 0 {
		message(w, http.StatusBadRequest, "want a chunked upload")
		return
	}
	f, fh, err := r.FormFile("file")
	if err != nil {
		message(w, http.StatusBadRequest, "file is missing: "+err.Error())
		return
	}
	defer f.Close()
	data, _ := io.ReadAll(f)
	q := map[string]string{}
	for k := range r.URL.Query() {
		q[k] = r.URL.Query().Get(k)
	}
	s.mu.Lock()
	j.Artifacts = append(j.Artifacts, Artifact{Query: q, Filename: fh.Filename, Data: data})
	s.exchanges = append(s.exchanges, Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone(), Status: 201})
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, map[string]any{})
}

// downloadArtifacts serves a job's first archive-type artifact to any
// running job's token.
func (s *Server) downloadArtifacts(w http.ResponseWriter, r *http.Request) {
	id, _ := strconv.ParseInt(r.PathValue("id"), 10, 64)
	tok := r.Header.Get("JOB-TOKEN")
	s.mu.Lock()
	defer s.mu.Unlock()
	s.exchanges = append(s.exchanges, Exchange{Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery, Header: r.Header.Clone()})
	if !s.validJobTokenLocked(tok) {
		message(w, http.StatusForbidden, "403 Forbidden")
		return
	}
	j := s.jobs[id]
	if j == nil {
		message(w, http.StatusNotFound, "404 Not Found")
		return
	}
	for _, a := range j.Artifacts {
		if a.Query["artifact_type"] == "" || a.Query["artifact_type"] == "archive" {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Header().Set("Content-Disposition", "attachment; filename="+a.Filename)
			w.Write(a.Data)
			return
		}
	}
	message(w, http.StatusNotFound, "404 Not Found")
}

// SetArtifact stores an archive for job id as if it had been uploaded (for
// dependency tests with crafted archives); it creates the job if needed.
func (s *Server) SetArtifact(id int64, filename string, data []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	j := s.jobs[id]
	if j == nil {
		j = &Job{Payload: &gitlab.JobPayload{ID: id}, State: "success", done: make(chan struct{})}
		close(j.done)
		s.jobs[id] = j
	}
	j.Artifacts = append(j.Artifacts, Artifact{Query: map[string]string{"artifact_type": "archive"}, Filename: filename, Data: data})
}

func (s *Server) validJobTokenLocked(tok string) bool {
	for _, j := range s.jobs {
		if tok != "" && j.Payload.Token == tok && (j.State == "running" || j.State == "canceling") {
			return true
		}
	}
	return false
}
