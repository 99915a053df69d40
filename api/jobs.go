package api

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerJobs(mux *http.ServeMux) {
	base := "/api/v4/projects/{id}/jobs"
	s.route(mux, "GET "+base, nil, s.listJobs)
	s.route(mux, "GET "+base+"/{jid}", nil, s.getJob)
	s.route(mux, "GET "+base+"/{jid}/trace", nil, s.jobTrace)
	s.route(mux, "GET "+base+"/{jid}/artifacts", nil, s.jobArtifacts)
	s.route(mux, "GET "+base+"/{jid}/artifacts/{path...}", nil, s.jobArtifactFile)
	for _, action := range []string{"cancel", "retry", "play", "erase"} {
		s.route(mux, "POST "+base+"/{jid}/"+action, nil, s.jobAction(action))
	}
	s.route(mux, "GET /api/v4/job", nil, s.currentJob)
}

// jobOf finds a job of a project the actor may act on, with its pipeline.
func (s *Server) jobOf(ctx context.Context, c *call, r *http.Request, action auth.Action) (gantry.Job, gantry.Pipeline, forge.ProjectAccess, error) {
	pa, err := s.Forge.Project(ctx, c.actor, r.PathValue("id"), action)
	if err != nil {
		return gantry.Job{}, gantry.Pipeline{}, pa, err
	}
	jid, err := strconv.ParseInt(r.PathValue("jid"), 10, 64)
	if err != nil {
		return gantry.Job{}, gantry.Pipeline{}, pa, errNotFoundf("Job")
	}
	j, err := s.Store.Job(ctx, jid)
	if err != nil || j.ProjectID != pa.Project.ID {
		return gantry.Job{}, gantry.Pipeline{}, pa, errNotFoundf("Job")
	}
	p, err := s.Store.Pipeline(ctx, j.PipelineID)
	return j, p, pa, err
}

// jobJSON converts a job with its artifacts and runner.
func (s *Server) jobJSON(ctx context.Context, j gantry.Job, p gantry.Pipeline, proj gantry.Project) gitlab.Job {
	arts, _ := s.Store.Artifacts(ctx, j.ID)
	var runner *gantry.Runner
	if j.RunnerID != 0 {
		if r, err := s.Store.Runner(ctx, j.RunnerID); err == nil {
			runner = &r
		}
	}
	out := s.job(j, p, proj, arts, runner)
	if u, err := s.Forge.User(ctx, auth.Actor{}, j.UserID); err == nil {
		ub := s.userBasic(u)
		out.User = &ub
	}
	out.Stuck = s.stuck(ctx, j)
	return out
}

// stuck reports a pending job no online, active runner can take.
func (s *Server) stuck(ctx context.Context, j gantry.Job) bool {
	if j.Status != gantry.StatusPending || j.RunnerID != 0 {
		return false
	}
	qj, err := s.Store.QueuedJobByID(ctx, j.ID)
	if err != nil {
		return false
	}
	now := time.Now()
	runners, _, err := s.Store.ListRunners(ctx, store.RunnerFilter{ContactedSince: now.Add(-queue.OnlineWindow)}, store.Page{Size: 10000})
	if err != nil {
		return false
	}
	return queue.Stuck(qj, runners, now)
}

// jobScopes reads scope / scope[] into statuses.
func jobScopes(p *params) []gantry.Status {
	var out []gantry.Status
	for _, sc := range p.list("scope") {
		out = append(out, gantry.Status(sc))
	}
	return out
}

func (s *Server) listJobs(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	s.writeJobs(w, r, c, pa.Project, store.JobFilter{ProjectID: pa.Project.ID, Statuses: jobScopes(c.params)})
}

func (s *Server) pipelineJobs(w http.ResponseWriter, r *http.Request, c *call) {
	p, pa, err := s.pipelineOf(r.Context(), c, r, auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Pipeline")
		return
	}
	s.writeJobs(w, r, c, pa.Project, store.JobFilter{PipelineID: p.ID, Statuses: jobScopes(c.params),
		IncludeRetried: c.params.boolOr("include_retried", false), Ascending: true})
}

func (s *Server) writeJobs(w http.ResponseWriter, r *http.Request, c *call, proj gantry.Project, f store.JobFilter) {
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	jobs, total, err := s.Store.ListJobs(r.Context(), f, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	pipes := map[int64]gantry.Pipeline{}
	out := make([]gitlab.Job, 0, len(jobs))
	for _, j := range jobs {
		p, ok := pipes[j.PipelineID]
		if !ok {
			if p, err = s.Store.Pipeline(r.Context(), j.PipelineID); err != nil {
				s.fail(w, r, err, "")
				return
			}
			pipes[j.PipelineID] = p
		}
		out = append(out, s.jobJSON(r.Context(), j, p, proj))
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) getJob(w http.ResponseWriter, r *http.Request, c *call) {
	j, p, pa, err := s.jobOf(r.Context(), c, r, auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Job")
		return
	}
	writeJSON(w, http.StatusOK, s.jobJSON(r.Context(), j, p, pa.Project))
}

// currentJob answers GET /job for a job token: the job it belongs to.
// Other credentials have no job (404, as GitLab says).
func (s *Server) currentJob(w http.ResponseWriter, r *http.Request, c *call) {
	if c.actor.Job == nil {
		s.fail(w, r, errNotFoundf("Job"), "Job")
		return
	}
	j, err := s.Store.Job(r.Context(), c.actor.Job.JobID)
	if err != nil {
		s.fail(w, r, err, "Job")
		return
	}
	p, err := s.Store.Pipeline(r.Context(), j.PipelineID)
	if err == nil {
		var proj gantry.Project
		if proj, err = s.Store.Project(r.Context(), j.ProjectID); err == nil {
			writeJSON(w, http.StatusOK, s.jobJSON(r.Context(), j, p, proj))
			return
		}
	}
	s.fail(w, r, err, "Job")
}

func (s *Server) jobTrace(w http.ResponseWriter, r *http.Request, c *call) {
	j, _, _, err := s.jobOf(r.Context(), c, r, auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Job")
		return
	}
	rc, err := s.Traces.Reader(r.Context(), j.ID, 0)
	if err != nil {
		s.fail(w, r, err, "Job")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	io.Copy(w, rc)
}

func (s *Server) jobAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		need := auth.PushCode
		if action == "erase" || (action == "cancel" && c.params.boolOr("force", false)) {
			need = auth.ManageProject // GitLab: force-canceling needs maintainer access
		}
		j, p, pa, err := s.jobOf(r.Context(), c, r, need)
		if err == nil && action != "erase" {
			err = s.mayRunFor(r.Context(), c.actor, pa, p.Ref, p.Tag)
		}
		if err != nil {
			s.fail(w, r, err, "Job")
			return
		}
		ctx := r.Context()
		switch action {
		case "cancel":
			j, err = s.Pipelines.CancelJob(ctx, j.ID, c.params.boolOr("force", false))
		case "retry":
			j, err = s.Pipelines.Retry(ctx, j.ID, c.actor.User.ID)
		case "play":
			j, err = s.Pipelines.Play(ctx, j.ID, c.actor.User.ID)
		case "erase":
			j, err = s.erase(ctx, j)
		}
		if err != nil {
			s.fail(w, r, err, "Job")
			return
		}
		p, err = s.Store.Pipeline(ctx, j.PipelineID)
		if err != nil {
			s.fail(w, r, err, "Job")
			return
		}
		code := http.StatusCreated
		if action == "play" {
			code = http.StatusOK // as GitLab answers a play
		}
		writeJSON(w, code, s.jobJSON(ctx, j, p, pa.Project))
	}
}

// erase deletes a finished job's log and artifacts.
func (s *Server) erase(ctx context.Context, j gantry.Job) (gantry.Job, error) {
	if !j.Status.Completed() {
		return gantry.Job{}, errInvalidf("job is not finished")
	}
	keys, err := s.Store.DeleteArtifacts(ctx, j.ID)
	if err != nil {
		return gantry.Job{}, err
	}
	for _, k := range keys {
		s.Blobs.Delete(ctx, k)
	}
	if err := s.Traces.Delete(ctx, j.ID); err != nil {
		return gantry.Job{}, err
	}
	return s.Pipelines.MarkErased(ctx, j.ID)
}

// mayDownloadArtifacts applies the job's artifacts:access (or public:) to
// a download through the API, as GitLab does: developer and maintainer
// need that role in the project (admins pass), none refuses everyone.
// Refusal is gantry.ErrForbidden (GitLab's 403). Jobs that need the
// artifacts get them through the runner API, which does not ask.
func mayDownloadArtifacts(actor auth.Actor, pa forge.ProjectAccess, j gantry.Job) error {
	var spec ci.Job
	if len(j.Spec) > 0 {
		if err := json.Unmarshal(j.Spec, &spec); err != nil {
			return fmt.Errorf("job %d: read its spec: %w", j.ID, err)
		}
	}
	need, ok := spec.Artifacts.DownloadLevel()
	if !ok || need > gantry.NoAccess && pa.Level < need && !actor.Admin() {
		return fmt.Errorf("artifacts of job %d: %w", j.ID, gantry.ErrForbidden)
	}
	return nil
}

// artifactsOf finds a job the actor may download the artifacts of.
func (s *Server) artifactsOf(ctx context.Context, c *call, r *http.Request) (gantry.Job, error) {
	j, _, pa, err := s.jobOf(ctx, c, r, auth.ReadCode)
	if err == nil {
		err = mayDownloadArtifacts(c.actor, pa, j)
	}
	return j, err
}

// jobArtifacts downloads a job's artifacts archive.
func (s *Server) jobArtifacts(w http.ResponseWriter, r *http.Request, c *call) {
	j, err := s.artifactsOf(r.Context(), c, r)
	if err != nil {
		s.fail(w, r, err, "Job")
		return
	}
	a, err := s.Store.Artifact(r.Context(), j.ID, "archive")
	if err != nil {
		s.fail(w, r, errNotFoundf("Artifacts"), "")
		return
	}
	rc, err := s.Blobs.Get(r.Context(), a.BlobKey)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	defer rc.Close()
	w.Header().Set("Content-Type", "application/octet-stream")
	w.Header().Set("Content-Length", strconv.FormatInt(a.Size, 10))
	w.Header().Set("Content-Disposition", mime.FormatMediaType("attachment", map[string]string{"filename": a.Filename}))
	io.Copy(w, rc)
}
