package api

import (
	"net/http"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
)

// registerCICD adds the CI/CD settings routes: variables at the three
// levels, protected branches and protected tags.
func (s *Server) registerCICD(mux *http.ServeMux) {
	for level, base := range map[gantry.VariableLevel]string{
		gantry.ProjectLevel:  "/api/v4/projects/{id}/variables",
		gantry.GroupLevel:    "/api/v4/groups/{id}/variables",
		gantry.InstanceLevel: "/api/v4/admin/ci/variables",
	} {
		s.route(mux, "GET "+base, nil, s.listVariables(level))
		s.route(mux, "POST "+base, nil, s.createVariable(level))
		s.route(mux, "GET "+base+"/{key}", nil, s.getVariable(level))
		s.route(mux, "PUT "+base+"/{key}", nil, s.updateVariable(level))
		s.route(mux, "DELETE "+base+"/{key}", nil, s.deleteVariable(level))
	}
	s.registerProtected(mux)
}

func variableTarget(level gantry.VariableLevel, r *http.Request) forge.VariableTarget {
	return forge.VariableTarget{Level: level, IDOrPath: r.PathValue("id")}
}

// ownerNoun names the owner in 404 messages.
func ownerNoun(level gantry.VariableLevel) string {
	if level == gantry.GroupLevel {
		return "Group"
	}
	return "Project"
}

func (s *Server) listVariables(level gantry.VariableLevel) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		if err := c.params.check(); err != nil {
			s.fail(w, r, err, "")
			return
		}
		pg := c.page()
		vars, total, err := s.Forge.ListVariables(r.Context(), c.actor, variableTarget(level, r), pg)
		if err != nil {
			s.fail(w, r, err, ownerNoun(level))
			return
		}
		out := make([]gitlab.Variable, len(vars))
		for i, v := range vars {
			out[i] = variable(v)
		}
		s.writePage(w, r, pg, total, out)
	}
}

func (s *Server) getVariable(level gantry.VariableLevel) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		scope := scopeFilter(c.params)
		if err := c.params.check("filter", "filter[environment_scope]"); err != nil {
			s.fail(w, r, err, "")
			return
		}
		v, err := s.Forge.Variable(r.Context(), c.actor, variableTarget(level, r), r.PathValue("key"), scope)
		if err != nil {
			s.fail(w, r, err, "Variable")
			return
		}
		writeJSON(w, http.StatusOK, variable(v))
	}
}

// variableParams are what GitLab accepts when creating a variable at each
// level; updates take the same but the key, and a filter.
var variableParams = map[gantry.VariableLevel][]string{
	gantry.ProjectLevel:  {"key", "value", "variable_type", "protected", "masked", "masked_and_hidden", "raw", "environment_scope", "description"},
	gantry.GroupLevel:    {"key", "value", "variable_type", "protected", "masked", "masked_and_hidden", "raw", "environment_scope", "description"},
	gantry.InstanceLevel: {"key", "value", "variable_type", "protected", "masked", "raw", "description"},
}

func (s *Server) createVariable(level gantry.VariableLevel) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		p := c.params
		v := gantry.CIVariable{Key: p.strOr("key", ""), Value: p.strOr("value", ""), Protected: p.boolOr("protected", false),
			Masked: p.boolOr("masked", false), Hidden: p.boolOr("masked_and_hidden", false), Raw: p.boolOr("raw", false),
			EnvironmentScope: p.strOr("environment_scope", "*"), Description: p.strOr("description", "")}
		file, err := variableType(p)
		if err == nil {
			err = p.check(variableParams[level]...)
		}
		for _, required := range []string{"key", "value"} {
			if err == nil && !p.has(required) {
				s.failf(w, r, "%s is missing", required)
				return
			}
		}
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		v.File = file != nil && *file
		created, err := s.Forge.CreateVariable(r.Context(), c.actor, variableTarget(level, r), v)
		if err != nil {
			s.fail(w, r, err, ownerNoun(level))
			return
		}
		writeJSON(w, http.StatusCreated, variable(created))
	}
}

func (s *Server) updateVariable(level gantry.VariableLevel) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		p := c.params
		u := forge.VariableUpdate{Value: p.str("value"), Protected: p.boolean("protected"), Masked: p.boolean("masked"),
			Raw: p.boolean("raw"), EnvironmentScope: p.str("environment_scope"), Description: p.str("description")}
		scope := scopeFilter(p)
		file, err := variableType(p)
		if err == nil {
			err = p.check(append(variableParams[level], "filter", "filter[environment_scope]")...)
		}
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		u.File = file
		v, err := s.Forge.UpdateVariable(r.Context(), c.actor, variableTarget(level, r), r.PathValue("key"), scope, u)
		if err != nil {
			s.fail(w, r, err, "Variable")
			return
		}
		writeJSON(w, http.StatusOK, variable(v))
	}
}

func (s *Server) deleteVariable(level gantry.VariableLevel) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		scope := scopeFilter(c.params)
		if err := c.params.check("filter", "filter[environment_scope]"); err != nil {
			s.fail(w, r, err, "")
			return
		}
		if err := s.Forge.DeleteVariable(r.Context(), c.actor, variableTarget(level, r), r.PathValue("key"), scope); err != nil {
			s.fail(w, r, err, "Variable")
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}
}

// variableType reads variable_type: nil when absent, true for "file".
func variableType(p *params) (*bool, error) {
	t := p.str("variable_type")
	if t == nil {
		return nil, nil
	}
	file := *t == "file"
	if !file && *t != "env_var" {
		return nil, errInvalidf("variable_type does not have a valid value")
	}
	return &file, nil
}

// scopeFilter reads filter[environment_scope], which arrives as a query
// or form key or, in JSON bodies, as {"filter": {"environment_scope": …}}.
func scopeFilter(p *params) string {
	if v := p.str("filter[environment_scope]"); v != nil {
		return *v
	}
	raw, ok := p.values["filter"]
	if !ok {
		return ""
	}
	if obj, isObj := raw.(map[string]any); isObj {
		if v, isStr := obj["environment_scope"].(string); isStr {
			return v
		}
	}
	p.fail("filter")
	return ""
}

// variable converts a variable to GitLab's shape: hidden values are null;
// instance variables have no environment scope or hidden flag.
func variable(v gantry.CIVariable) gitlab.Variable {
	out := gitlab.Variable{VariableType: "env_var", Key: v.Key, Protected: v.Protected, Masked: v.Masked, Raw: v.Raw}
	if v.File {
		out.VariableType = "file"
	}
	if !v.Hidden {
		out.Value = &v.Value
	}
	if v.Description != "" {
		out.Description = &v.Description
	}
	if v.Level != gantry.InstanceLevel {
		out.Hidden, out.EnvironmentScope = &v.Hidden, &v.EnvironmentScope
	}
	return out
}
