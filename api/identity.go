package api

import (
	"net/http"
	"strconv"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerIdentity(mux *http.ServeMux) {
	userScopes := []gantry.Scope{gantry.ScopeAPI, gantry.ScopeReadAPI, gantry.ScopeReadUser}
	s.route(mux, "GET /api/v4/version", nil, s.handleVersion)
	s.route(mux, "GET /api/v4/user", userScopes, s.currentUser)
	s.route(mux, "GET /api/v4/users", userScopes, s.listUsers)
	s.route(mux, "POST /api/v4/users", nil, s.createUser)
	s.route(mux, "GET /api/v4/users/{id}", userScopes, s.getUser)
	s.route(mux, "GET /api/v4/personal_access_tokens", nil, s.listTokens)
	s.route(mux, "POST /api/v4/personal_access_tokens", nil, s.createOwnToken)
	s.route(mux, "POST /api/v4/user/personal_access_tokens", nil, s.createOwnToken)
	s.route(mux, "GET /api/v4/personal_access_tokens/self", nil, s.selfToken)
	s.route(mux, "GET /api/v4/personal_access_tokens/{id}", nil, s.getToken)
	s.route(mux, "DELETE /api/v4/personal_access_tokens/self", nil, s.revokeSelfToken)
	s.route(mux, "DELETE /api/v4/personal_access_tokens/{id}", nil, s.revokeToken)
	s.route(mux, "POST /api/v4/users/{id}/personal_access_tokens", nil, s.createUserToken)
}

func (s *Server) currentUser(w http.ResponseWriter, r *http.Request, c *call) {
	if err := requireUser(c); err != nil {
		s.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusOK, s.user(c.actor.User, c.actor))
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c *call) {
	f := store.UserFilter{Username: c.params.strOr("username", ""), Search: c.params.strOr("search", ""),
		Active: c.params.boolOr("active", false), Blocked: c.params.boolOr("blocked", false)}
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	users, total, err := s.Forge.ListUsers(r.Context(), c.actor, f, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]gitlab.User, len(users))
	for i, u := range users {
		out[i] = s.user(u, c.actor)
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, gantry.ErrNotFound, "User")
		return
	}
	u, err := s.Forge.User(r.Context(), c.actor, id)
	if err != nil {
		s.fail(w, r, err, "User")
		return
	}
	writeJSON(w, http.StatusOK, s.user(u, c.actor))
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	nu := forge.NewUser{Username: p.strOr("username", ""), Name: p.strOr("name", ""), Email: p.strOr("email", ""),
		Password: p.strOr("password", ""), Admin: p.boolOr("admin", false)}
	if err := p.check("username", "name", "email", "password", "admin", "skip_confirmation", "reset_password", "force_random_password", "can_create_group", "projects_limit", "external", "bio"); err != nil {
		s.fail(w, r, err, "")
		return
	}
	if p.boolOr("force_random_password", false) {
		nu.Password = ""
	}
	u, err := s.Forge.CreateUser(r.Context(), c.actor, nu)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, s.user(u, c.actor))
}

func (s *Server) listTokens(w http.ResponseWriter, r *http.Request, c *call) {
	if err := requireUser(c); err != nil {
		s.fail(w, r, err, "")
		return
	}
	userID := c.params.intOr("user_id", c.actor.User.ID)
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	tokens, total, err := s.Forge.ListTokens(r.Context(), c.actor, userID, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	now := time.Now()
	out := make([]gitlab.PersonalAccessToken, len(tokens))
	for i, k := range tokens {
		out[i] = s.token(k, now)
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) createOwnToken(w http.ResponseWriter, r *http.Request, c *call) {
	s.createToken(w, r, c, c.actor.User.ID)
}

func (s *Server) createUserToken(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil {
		s.fail(w, r, gantry.ErrNotFound, "User")
		return
	}
	s.createToken(w, r, c, id)
}

func (s *Server) createToken(w http.ResponseWriter, r *http.Request, c *call, userID int64) {
	if err := requireUser(c); err != nil {
		s.fail(w, r, err, "")
		return
	}
	p := c.params
	nt := forge.NewToken{UserID: userID, Name: p.strOr("name", ""), ExpiresAt: p.date("expires_at")}
	for _, sc := range p.list("scopes") {
		nt.Scopes = append(nt.Scopes, gantry.Scope(sc))
	}
	if err := p.check("name", "scopes", "expires_at", "description", "user_id"); err != nil {
		s.fail(w, r, err, "")
		return
	}
	k, secret, err := s.Forge.CreateToken(r.Context(), c.actor, nt)
	if err != nil {
		s.fail(w, r, err, "User")
		return
	}
	out := s.token(k, time.Now())
	out.Token = secret
	writeJSON(w, http.StatusCreated, out)
}

func (s *Server) getToken(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = requireUser(c)
	}
	var k gantry.Token
	if err == nil {
		k, err = s.Forge.Token(r.Context(), c.actor, id)
	}
	if err != nil {
		s.fail(w, r, err, "Token")
		return
	}
	writeJSON(w, http.StatusOK, s.token(k, time.Now()))
}

func (s *Server) selfToken(w http.ResponseWriter, r *http.Request, c *call) {
	if c.actor.TokenID == 0 {
		s.fail(w, r, gantry.ErrUnauthorized, "")
		return
	}
	k, err := s.Forge.Token(r.Context(), c.actor, c.actor.TokenID)
	if err != nil {
		s.fail(w, r, err, "Token")
		return
	}
	writeJSON(w, http.StatusOK, s.token(k, time.Now()))
}

func (s *Server) revokeToken(w http.ResponseWriter, r *http.Request, c *call) {
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err == nil {
		err = requireUser(c)
	}
	if err == nil {
		err = s.Forge.RevokeToken(r.Context(), c.actor, id)
	}
	if err != nil {
		s.fail(w, r, err, "Token")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *Server) revokeSelfToken(w http.ResponseWriter, r *http.Request, c *call) {
	if c.actor.TokenID == 0 {
		s.fail(w, r, gantry.ErrUnauthorized, "")
		return
	}
	if err := s.Forge.RevokeToken(r.Context(), c.actor, c.actor.TokenID); err != nil {
		s.fail(w, r, err, "Token")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
