package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerPipelines(mux *http.ServeMux) {
	base := "/api/v4/projects/{id}/pipelines"
	s.route(mux, "GET "+base, nil, s.listPipelines)
	s.route(mux, "GET "+base+"/latest", nil, s.latestPipeline)
	s.route(mux, "GET "+base+"/{pid}", nil, s.getPipeline)
	s.route(mux, "GET "+base+"/{pid}/variables", nil, s.pipelineVariables)
	s.route(mux, "GET "+base+"/{pid}/jobs", nil, s.pipelineJobs)
	s.route(mux, "POST "+base+"/{pid}/cancel", nil, s.pipelineAction("cancel"))
	s.route(mux, "POST "+base+"/{pid}/retry", nil, s.pipelineAction("retry"))
	s.route(mux, "DELETE "+base+"/{pid}", nil, s.deletePipeline)
	s.route(mux, "POST /api/v4/projects/{id}/pipeline", nil, s.createPipeline)
	s.route(mux, "POST /api/v4/projects/{id}/trigger/pipeline", nil, s.triggerPipeline)
	s.route(mux, "GET /api/v4/projects/{id}/triggers", nil, s.listTriggers)
	s.route(mux, "POST /api/v4/projects/{id}/triggers", nil, s.createTrigger)
	s.route(mux, "DELETE /api/v4/projects/{id}/triggers/{tid}", nil, s.deleteTrigger)
	s.route(mux, "GET /api/v4/projects/{id}/repository/commits/{sha}/statuses", nil, s.commitStatuses)
	s.route(mux, "POST /api/v4/projects/{id}/ci/lint", nil, s.lint)
	s.route(mux, "GET /api/v4/projects/{id}/ci/lint", nil, s.lint)
}

// pipelineOf finds a pipeline of a project the actor may act on.
func (s *Server) pipelineOf(ctx context.Context, c *call, r *http.Request, action auth.Action) (gantry.Pipeline, forge.ProjectAccess, error) {
	pa, err := s.Forge.Project(ctx, c.actor, r.PathValue("id"), action)
	if err != nil {
		return gantry.Pipeline{}, pa, err
	}
	pid, err := strconv.ParseInt(r.PathValue("pid"), 10, 64)
	if err != nil {
		return gantry.Pipeline{}, pa, errNotFoundf("Pipeline")
	}
	p, err := s.Store.Pipeline(ctx, pid)
	if err != nil || p.ProjectID != pa.Project.ID {
		return gantry.Pipeline{}, pa, errNotFoundf("Pipeline")
	}
	return p, pa, nil
}

func (s *Server) writePipeline(w http.ResponseWriter, r *http.Request, code int, p gantry.Pipeline, proj gantry.Project) {
	var user *gantry.User
	if u, err := s.Forge.User(r.Context(), auth.Actor{}, p.UserID); err == nil {
		user = &u
	}
	writeJSON(w, code, s.pipeline(p, proj, user))
}

func (s *Server) listPipelines(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	p := c.params
	f := store.PipelineFilter{ProjectID: pa.Project.ID, Ref: p.strOr("ref", ""), SHA: p.strOr("sha", ""),
		Status: p.strOr("status", ""), Source: p.strOr("source", ""), OrderBy: p.strOr("order_by", "id"),
		Ascending: p.strOr("sort", "desc") == "asc"}
	switch p.strOr("scope", "") {
	case "running":
		f.Statuses = []gantry.Status{gantry.StatusRunning}
	case "pending":
		f.Statuses = []gantry.Status{gantry.StatusPending}
	case "finished":
		f.Statuses = []gantry.Status{gantry.StatusSuccess, gantry.StatusFailed, gantry.StatusCanceled, gantry.StatusSkipped}
	}
	if err := p.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	list, total, err := s.Store.ListPipelines(r.Context(), f, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]gitlab.PipelineBasic, len(list))
	for i, pl := range list {
		out[i] = s.pipelineBasic(pl, pa.Project)
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) getPipeline(w http.ResponseWriter, r *http.Request, c *call) {
	p, pa, err := s.pipelineOf(r.Context(), c, r, auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Pipeline")
		return
	}
	s.writePipeline(w, r, http.StatusOK, p, pa.Project)
}

func (s *Server) latestPipeline(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	ref := c.params.strOr("ref", pa.Project.DefaultBranch)
	list, _, err := s.Store.ListPipelines(r.Context(), store.PipelineFilter{ProjectID: pa.Project.ID, Ref: ref}, store.Page{Size: 1})
	if err != nil || len(list) == 0 {
		s.fail(w, r, errNotFoundf("Pipeline"), "Pipeline")
		return
	}
	s.writePipeline(w, r, http.StatusOK, list[0], pa.Project)
}

func (s *Server) pipelineVariables(w http.ResponseWriter, r *http.Request, c *call) {
	p, _, err := s.pipelineOf(r.Context(), c, r, auth.ManageProject)
	if err != nil {
		s.fail(w, r, err, "Pipeline")
		return
	}
	out := []gitlab.PipelineVariable{}
	for _, v := range p.Variables {
		typ := "env_var"
		if v.File {
			typ = "file"
		}
		out = append(out, gitlab.PipelineVariable{Key: v.Key, Value: v.Value, VariableType: typ})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) pipelineAction(action string) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		p, pa, err := s.pipelineOf(r.Context(), c, r, auth.PushCode)
		if err == nil {
			err = s.mayRunFor(r.Context(), c.actor, pa, p.Ref, p.Tag)
		}
		if err == nil {
			if action == "cancel" {
				err = s.Pipelines.CancelPipeline(r.Context(), p.ID)
			} else {
				err = s.Pipelines.RetryPipeline(r.Context(), p.ID, c.actor.User.ID)
			}
		}
		if err != nil {
			s.fail(w, r, err, "Pipeline")
			return
		}
		p, err = s.Store.Pipeline(r.Context(), p.ID)
		if err != nil {
			s.fail(w, r, err, "Pipeline")
			return
		}
		code := http.StatusCreated
		if action == "cancel" {
			code = http.StatusOK // as GitLab answers a cancel
		}
		s.writePipeline(w, r, code, p, pa.Project)
	}
}

func (s *Server) deletePipeline(w http.ResponseWriter, r *http.Request, c *call) {
	p, _, err := s.pipelineOf(r.Context(), c, r, auth.OwnProject)
	if err == nil {
		err = s.Pipelines.Delete(r.Context(), p.ID)
	}
	if err != nil {
		s.fail(w, r, err, "Pipeline")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// pipelineVars reads variables as GitLab's create endpoints take them: a
// list of {key, value, variable_type}, or (triggers) variables[KEY]=value.
func pipelineVars(p *params) ([]gantry.PipelineVariable, error) {
	var out []gantry.PipelineVariable
	if list, ok := p.values["variables"].([]any); ok {
		for _, item := range list {
			m, ok := item.(map[string]any)
			if !ok {
				return nil, errInvalidf("variables must be a list of {key, value}")
			}
			key, _ := m["key"].(string) // checked by pipeline.Create, as GitLab does
			val, _ := m["value"].(string)
			typ, _ := m["variable_type"].(string)
			out = append(out, gantry.PipelineVariable{Key: key, Value: val, File: typ == "file"})
		}
	}
	if m, ok := p.values["variables"].(map[string]any); ok {
		for k, v := range m {
			val, _ := v.(string)
			out = append(out, gantry.PipelineVariable{Key: k, Value: val})
		}
	}
	for k, v := range p.values {
		if name, ok := strings.CutPrefix(k, "variables["); ok && strings.HasSuffix(name, "]") {
			val, _ := v.(string)
			out = append(out, gantry.PipelineVariable{Key: strings.TrimSuffix(name, "]"), Value: val})
		}
	}
	return out, nil
}

func (s *Server) createPipeline(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.PushCode)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	ref := c.params.strOr("ref", "")
	vars, err := pipelineVars(c.params)
	if err == nil && ref == "" {
		err = errInvalidf("ref is missing")
	}
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	source := "api"
	if c.actor.Scopes == nil {
		source = "web"
	}
	if !s.mayCreateFor(w, r, c.actor, pa, ref) {
		return
	}
	s.runPipeline(w, r, pipeline.CreateRequest{Project: pa.Project, Ref: ref, Source: source, User: c.actor.User, Variables: vars})
}

// mayRunFor fails with gantry.ErrForbidden when ref is protected against
// the actor (see forge.Service.MayRunFor).
func (s *Server) mayRunFor(ctx context.Context, actor auth.Actor, pa forge.ProjectAccess, ref string, tag bool) error {
	ok, err := s.Forge.MayRunFor(ctx, actor, pa, ref, tag)
	if err == nil && !ok {
		err = fmt.Errorf("%w: %s is protected", gantry.ErrForbidden, ref)
	}
	return err
}

// mayCreateFor checks that the actor may create a pipeline for ref (a
// branch or a tag, see pipeline.Service.ResolveRef); if not it answers as
// GitLab does, with the reason under "base", and returns false.
func (s *Server) mayCreateFor(w http.ResponseWriter, r *http.Request, actor auth.Actor, pa forge.ProjectAccess, ref string) bool {
	name, tag, err := s.Pipelines.ResolveRef(r.Context(), pa.Project.ID, ref)
	if err == nil {
		err = s.mayRunFor(r.Context(), actor, pa, name, tag)
	}
	switch {
	case errors.Is(err, gantry.ErrForbidden):
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{
			"Insufficient permissions for protected ref '" + ref + "'"}}})
	case errors.Is(err, gantry.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{detailOf(err)}}})
	case err != nil:
		s.fail(w, r, err, "Project")
	}
	return err == nil
}

// runPipeline creates a pipeline and answers as GitLab does, errors
// under "base".
func (s *Server) runPipeline(w http.ResponseWriter, r *http.Request, req pipeline.CreateRequest) {
	p, err := s.Pipelines.Create(r.Context(), req)
	var ve *pipeline.VariablesError
	switch {
	case errors.As(err, &ve): // as Rails reports the pipeline's invalid variables
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{
			"variables.key": ve.KeyErrors, "base": []string{ve.Error()}}})
	case errors.Is(err, pipeline.ErrFilteredByWorkflow):
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{ci.FilteredByWorkflow}}})
	case errors.Is(err, pipeline.ErrFiltered):
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{
			"Pipeline will not run for the selected trigger. The rules configuration prevented any jobs from being added to the pipeline."}}})
	case errors.Is(err, gantry.ErrInvalid):
		writeJSON(w, http.StatusBadRequest, map[string]any{"message": map[string]any{"base": []string{detailOf(err)}}})
	case err != nil:
		s.fail(w, r, err, "Project")
	default:
		s.writePipeline(w, r, http.StatusCreated, p, req.Project)
	}
}

func (s *Server) commitStatuses(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	pipes, _, err := s.Store.ListPipelines(r.Context(), store.PipelineFilter{ProjectID: pa.Project.ID, SHA: r.PathValue("sha"),
		Ref: c.params.strOr("ref", "")}, store.Page{Size: 100})
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := []gitlab.CommitStatus{}
	for _, p := range pipes {
		jobs, _, err := s.Store.ListJobs(r.Context(), store.JobFilter{PipelineID: p.ID, IncludeRetried: c.params.boolOr("all", false)}, store.Page{Size: 10000})
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		for _, j := range jobs {
			out = append(out, gitlab.CommitStatus{ID: j.ID, SHA: p.SHA, Ref: p.Ref, Status: string(j.Status), Name: j.Name,
				TargetURL: s.url("/" + pa.Project.FullPath() + "/-/jobs/" + itoa(j.ID)), CreatedAt: timePtr(j.CreatedAt),
				StartedAt: timePtr(j.StartedAt), FinishedAt: timePtr(j.FinishedAt), AllowFailure: j.AllowFailure,
				Coverage: j.Coverage, PipelineID: p.ID})
		}
	}
	pg := c.page()
	s.writePage(w, r, pg, len(out), pageOf(out, pg))
}

// lint answers the CI Lint API: content given (POST, which GitLab lets
// only those who may create pipelines call) or the project's
// configuration at a ref (GET, for those who may read the code).
func (s *Server) lint(w http.ResponseWriter, r *http.Request, c *call) {
	need := auth.ReadCode
	if r.Method == http.MethodPost {
		need = auth.PushCode
	}
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), need)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	content := c.params.strOr("content", "")
	ref := c.params.strOr("ref", pa.Project.DefaultBranch)
	res, err := s.Pipelines.Lint(r.Context(), pa.Project, c.actor.User, ref, content, r.Method == http.MethodGet)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	writeJSON(w, http.StatusOK, lintJSON(res, c.params.boolOr("include_jobs", false) || r.Method == http.MethodPost))
}

func lintJSON(res *ci.LintResult, jobs bool) map[string]any {
	out := map[string]any{"valid": res.Valid, "errors": res.Errors, "warnings": res.Warnings,
		"merged_yaml": res.MergedYAML, "includes": []any{}}
	if jobs {
		out["jobs"] = res.Jobs
	}
	return out
}
