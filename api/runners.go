package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerRunners(mux *http.ServeMux) {
	runnerScopes := []gantry.Scope{gantry.ScopeAPI, gantry.ScopeCreateRunner}
	s.route(mux, "POST /api/v4/user/runners", runnerScopes, s.createRunner)
	s.route(mux, "GET /api/v4/runners", nil, s.listRunners(false))
	s.route(mux, "GET /api/v4/runners/all", nil, s.listRunners(true))
	s.route(mux, "GET /api/v4/runners/{rid}", nil, s.getRunner)
	s.route(mux, "PUT /api/v4/runners/{rid}", nil, s.updateRunner)
	s.route(mux, "DELETE /api/v4/runners/{rid}", nil, s.deleteRunner)
	s.route(mux, "GET /api/v4/runners/{rid}/jobs", nil, s.runnerJobs)
	s.route(mux, "GET /api/v4/runners/{rid}/managers", nil, s.runnerManagers)
	s.route(mux, "POST /api/v4/runners/{rid}/reset_authentication_token", nil, s.resetRunnerToken)
	s.route(mux, "POST /api/v4/runners/reset_registration_token", nil, s.resetRegistrationToken)
	s.route(mux, "GET /api/v4/projects/{id}/runners", nil, s.projectRunners)
}

func runnerID(r *http.Request) (int64, error) {
	id, err := strconv.ParseInt(r.PathValue("rid"), 10, 64)
	if err != nil {
		return 0, errNotFoundf("Runner")
	}
	return id, nil
}

func (s *Server) createRunner(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	nr := forge.NewRunner{Type: gantry.RunnerType(p.strOr("runner_type", "")), GroupID: p.strOr("group_id", ""),
		ProjectID: p.strOr("project_id", ""), Description: p.strOr("description", ""), MaintenanceNote: p.strOr("maintenance_note", ""),
		Tags: p.list("tag_list"), RunUntagged: p.boolOr("run_untagged", true), Locked: p.boolOr("locked", false),
		RefProtectedOnly: p.strOr("access_level", "not_protected") == "ref_protected", Paused: p.boolOr("paused", false),
		MaximumTimeout: int(p.intOr("maximum_timeout", 0)), TokenExpiresAt: p.date("token_expires_at")}
	if al := p.strOr("access_level", "not_protected"); al != "not_protected" && al != "ref_protected" {
		s.failf(w, r, "access_level does not have a valid value")
		return
	}
	if err := p.check("runner_type", "group_id", "project_id", "description", "maintenance_note", "tag_list", "run_untagged",
		"locked", "access_level", "paused", "maximum_timeout", "token_expires_at"); err != nil {
		s.fail(w, r, err, "")
		return
	}
	runner, token, err := s.Forge.CreateRunner(r.Context(), c.actor, nr)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"id": runner.ID, "token": token, "token_expires_at": timePtr(runner.TokenExpiresAt)})
}

func (s *Server) listRunners(all bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		p := c.params
		f := store.RunnerFilter{Type: gantry.RunnerType(p.strOr("type", "")), Paused: p.boolean("paused"), TagList: p.list("tag_list")}
		if err := p.check(); err != nil {
			s.fail(w, r, err, "")
			return
		}
		pg := c.page()
		runners, total, err := s.Forge.ListRunners(r.Context(), c.actor, all, f, pg)
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		s.writePage(w, r, pg, total, s.runnerBasics(runners))
	}
}

func (s *Server) runnerDetail(ctx context.Context, rn gantry.Runner) gitlab.Runner {
	var projects []gantry.Project
	for _, pid := range rn.ProjectIDs {
		if p, err := s.Store.Project(ctx, pid); err == nil {
			projects = append(projects, p)
		}
	}
	managers, _ := s.Store.RunnerManagers(ctx, rn.ID)
	return s.runner(rn, projects, managers)
}

func (s *Server) getRunner(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := runnerID(r)
	var rn gantry.Runner
	if err == nil {
		rn, err = s.Forge.Runner(r.Context(), c.actor, id)
	}
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	writeJSON(w, http.StatusOK, s.runnerDetail(r.Context(), rn))
}

func (s *Server) updateRunner(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := runnerID(r)
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	p := c.params
	u := forge.RunnerUpdate{Description: p.str("description"), MaintenanceNote: p.str("maintenance_note"), RunUntagged: p.boolean("run_untagged"),
		Locked: p.boolean("locked"), Paused: p.boolean("paused")}
	if p.has("tag_list") {
		tags := p.list("tag_list")
		u.Tags = &tags
	}
	if mt := p.int("maximum_timeout"); mt != nil {
		v := int(*mt)
		u.MaximumTimeout = &v
	}
	if al := p.str("access_level"); al != nil {
		if *al != "not_protected" && *al != "ref_protected" {
			s.failf(w, r, "access_level does not have a valid value")
			return
		}
		v := *al == "ref_protected"
		u.RefProtectedOnly = &v
	}
	if active := p.boolean("active"); active != nil && u.Paused == nil {
		paused := !*active
		u.Paused = &paused
	}
	if err := p.check("description", "maintenance_note", "tag_list", "run_untagged", "locked", "paused", "active",
		"maximum_timeout", "access_level"); err != nil {
		s.fail(w, r, err, "")
		return
	}
	rn, err := s.Forge.UpdateRunner(r.Context(), c.actor, id, u)
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	s.Queue.Notify() // waiting runners see the new settings at their next poll
	writeJSON(w, http.StatusOK, s.runnerDetail(r.Context(), rn))
}

func (s *Server) deleteRunner(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := runnerID(r)
	if err == nil {
		err = s.Forge.DeleteRunner(r.Context(), c.actor, id)
	}
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) runnerJobs(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := runnerID(r)
	if err == nil {
		_, err = s.Forge.RunnerAccess(r.Context(), c.actor, id, false)
	}
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	var statuses []gantry.Status
	if st := c.params.strOr("status", ""); st != "" {
		statuses = []gantry.Status{gantry.Status(st)}
	}
	pg := c.page()
	jobs, total, err := s.Store.ListJobs(r.Context(), store.JobFilter{RunnerID: id, Statuses: statuses, IncludeRetried: true}, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]gitlab.Job, 0, len(jobs))
	for _, j := range jobs {
		p, perr := s.Store.Pipeline(r.Context(), j.PipelineID)
		proj, jerr := s.Store.Project(r.Context(), j.ProjectID)
		if perr == nil && jerr == nil {
			out = append(out, s.jobJSON(r.Context(), j, p, proj))
		}
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) runnerManagers(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := runnerID(r)
	if err == nil {
		_, err = s.Forge.Runner(r.Context(), c.actor, id)
	}
	var managers []gantry.RunnerManager
	if err == nil {
		managers, err = s.Store.RunnerManagers(r.Context(), id)
	}
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	out := []gitlab.RunnerManager{}
	for _, m := range managers {
		out = append(out, gitlab.RunnerManager{ID: m.ID, SystemID: m.SystemID, Version: m.Version, Revision: m.Revision,
			Platform: m.Platform, Architecture: m.Architecture, CreatedAt: timePtr(m.CreatedAt), ContactedAt: timePtr(m.ContactedAt),
			IPAddress: m.IPAddress, Status: "online"})
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) resetRunnerToken(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := runnerID(r)
	var rn gantry.Runner
	var token string
	if err == nil {
		rn, token, err = s.Forge.ResetRunnerToken(r.Context(), c.actor, id)
	}
	if err != nil {
		s.fail(w, r, err, "Runner")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "token_expires_at": timePtr(rn.TokenExpiresAt)})
}

// resetRegistrationToken makes a new instance registration token; an admin
// enables legacy registration with it by passing allow=true.
func (s *Server) resetRegistrationToken(w http.ResponseWriter, r *http.Request, c *call) {
	token, err := s.Forge.ResetRegistrationToken(r.Context(), c.actor, c.params.boolOr("allow", true))
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]any{"token": token, "token_expires_at": nil})
}

func (s *Server) projectRunners(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ManageProject)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	pg := c.page()
	runners, total, err := s.Store.ListRunners(r.Context(), store.RunnerFilter{ProjectID: pa.Project.ID}, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	s.writePage(w, r, pg, total, s.runnerBasics(runners))
}
