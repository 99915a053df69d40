package api

import (
	"net/http"
	"strconv"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerEnvironments(mux *http.ServeMux) {
	base := "/api/v4/projects/{id}/environments"
	s.route(mux, "GET "+base, nil, s.listEnvironments)
	s.route(mux, "GET "+base+"/{eid}", nil, s.getEnvironment)
}

func environmentJSON(e gantry.Environment) gitlab.Environment {
	out := gitlab.Environment{ID: e.ID, Name: e.Name, Slug: e.Slug, State: e.State, Tier: e.Tier,
		CreatedAt: timePtr(e.CreatedAt), UpdatedAt: timePtr(e.UpdatedAt)}
	if e.ExternalURL != "" {
		out.ExternalURL = &e.ExternalURL
	}
	return out
}

func (s *Server) listEnvironments(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadCode)
	p := c.params
	f := store.EnvironmentFilter{Name: p.strOr("name", ""), Search: p.strOr("search", ""), State: p.strOr("states", "")}
	if err == nil {
		err = p.check("name", "search", "states")
	}
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	pg := c.page()
	list, total, err := s.Store.Environments(r.Context(), pa.Project.ID, f, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]gitlab.Environment, len(list))
	for i, e := range list {
		out[i] = environmentJSON(e)
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) getEnvironment(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadCode)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	eid, err := strconv.ParseInt(r.PathValue("eid"), 10, 64)
	if err != nil {
		s.fail(w, r, errNotFoundf("Environment"), "Environment")
		return
	}
	e, err := s.Store.Environment(r.Context(), pa.Project.ID, eid)
	if err != nil {
		s.fail(w, r, err, "Environment")
		return
	}
	writeJSON(w, http.StatusOK, environmentJSON(e))
}
