// Package api serves GitLab's REST API v4 (the subset Gantry implements)
// with GitLab's JSON shapes, pagination headers, authentication headers and
// error bodies, so that glab, python-gitlab and GitLab's Go client work
// unchanged. Handlers parse and format; the forge package decides.
package api

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"log/slog"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// Server holds the API's dependencies. Register its routes on a mux.
type Server struct {
	Forge       *forge.Service
	Pipelines   *pipeline.Service
	Store       *store.Store // read-only queries of pipelines, jobs and runners
	Traces      TraceReader
	Blobs       BlobStore
	Queue       *queue.Queue // told when runners change
	ExternalURL *url.URL     // every URL in responses is built from it
	Log         *slog.Logger

	extractOnce sync.Once
	extractions chan struct{} // see acquireExtraction
}

// TraceReader reads job logs (package trace).
type TraceReader interface {
	Reader(ctx context.Context, jobID, offset int64) (io.ReadCloser, error)
	Delete(ctx context.Context, jobID int64) error
}

// BlobStore reads and deletes artifact files (package blob).
type BlobStore interface {
	Get(ctx context.Context, key string) (io.ReadCloser, error)
	Stat(ctx context.Context, key string) (size int64, err error)
	Delete(ctx context.Context, key string) error
}

// call is what a handler gets besides the response writer and request.
type call struct {
	actor  auth.Actor
	params *params
}

type handlerFunc func(w http.ResponseWriter, r *http.Request, c *call)

// Register adds every API route to mux.
func (s *Server) Register(mux *http.ServeMux) {
	s.registerIdentity(mux)
	s.registerProjects(mux)
	s.registerRepository(mux)
	s.registerCICD(mux)
	s.registerPipelines(mux)
	s.registerJobs(mux)
	s.registerEnvironments(mux)
	s.registerRunners(mux)
}

// readScopes and writeScopes are what tokens need by default: any GET with
// read_api or api, anything else with api only.
var (
	readScopes  = []gantry.Scope{gantry.ScopeAPI, gantry.ScopeReadAPI}
	writeScopes = []gantry.Scope{gantry.ScopeAPI}
)

// route registers h for pattern ("GET /api/v4/…"). scopes overrides the
// token scopes the route accepts (nil: by method).
func (s *Server) route(mux *http.ServeMux, pattern string, scopes []gantry.Scope, h handlerFunc) {
	if scopes == nil {
		scopes = writeScopes
		if strings.HasPrefix(pattern, "GET ") || strings.HasPrefix(pattern, "HEAD ") {
			scopes = readScopes
		}
	}
	jobTokens, mustAuthenticate := jobTokenRoutes[pattern], authenticated(pattern)
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		actor, err := s.authenticate(r, jobTokens)
		if err == nil && mustAuthenticate && actor.Anonymous() {
			err = fmt.Errorf("%w: this endpoint needs credentials", gantry.ErrUnauthorized)
		}
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		if !actor.Anonymous() && !actor.HasScope(scopes...) {
			writeJSON(w, http.StatusForbidden, map[string]any{
				"error":             "insufficient_scope",
				"error_description": "The request requires higher privileges than provided by the access token.",
				"scope":             scopeNames(scopes),
			})
			return
		}
		p, err := readParams(r)
		if err != nil {
			s.fail(w, r, err, "")
			return
		}
		h(w, r, &call{actor: actor, params: p})
	})
}

func scopeNames(scopes []gantry.Scope) string {
	names := make([]string, len(scopes))
	for i, sc := range scopes {
		names[i] = string(sc)
	}
	return strings.Join(names, " ")
}

// jobTokenRoutes are the endpoints a CI_JOB_TOKEN may call, as in GitLab.
// Elsewhere a job token is ignored, as GitLab does: the call is anonymous.
var jobTokenRoutes = map[string]bool{
	"GET /api/v4/job":                                          true,
	"GET /api/v4/projects/{id}":                                true,
	"GET /api/v4/projects/{id}/jobs":                           true,
	"GET /api/v4/projects/{id}/pipelines/{pid}/jobs":           true,
	"GET /api/v4/projects/{id}/jobs/{jid}/artifacts":           true,
	"GET /api/v4/projects/{id}/jobs/{jid}/artifacts/{path...}": true,
}

// authenticatedAPIs are the API families where GitLab authenticates
// before anything else (its authenticate!), so that an anonymous call is
// 401 even for a GET or a public project.
var authenticatedAPIs = []string{"/api/v4/projects/{id}/jobs", "/api/v4/job", "/api/v4/runners", "/api/v4/user/runners",
	"/api/v4/projects/{id}/runners", "/api/v4/projects/{id}/triggers", "/api/v4/projects/{id}/repository/commits/{sha}/statuses",
	"/api/v4/projects/{id}/variables", "/api/v4/groups/{id}/variables", "/api/v4/admin/ci/variables"}

// authenticated reports whether an anonymous call of pattern is 401: the
// families above, and the writes of the pipelines API (GitLab's
// authenticate_non_get!). Elsewhere an anonymous caller gets what the
// public may see, and 404 for the rest.
func authenticated(pattern string) bool {
	method, path, _ := strings.Cut(pattern, " ")
	if method != "GET" && method != "HEAD" && strings.HasPrefix(path, "/api/v4/projects/{id}/pipeline") {
		return true
	}
	for _, api := range authenticatedAPIs {
		if path == api || strings.HasPrefix(path, api+"/") {
			return true
		}
	}
	return false
}

// authenticate reads a personal access token from PRIVATE-TOKEN,
// Authorization: Bearer, or the private_token/access_token query
// parameters, or, where jobTokens allows, a job token from JOB-TOKEN or
// job_token. No token is the anonymous actor; a bad one is an error.
func (s *Server) authenticate(r *http.Request, jobTokens bool) (auth.Actor, error) {
	if jt := r.Header.Get("Job-Token"); jobTokens && (jt != "" || r.URL.Query().Get("job_token") != "") {
		if jt == "" {
			jt = r.URL.Query().Get("job_token")
		}
		actor, _, err := s.Forge.JobTokenActor(r.Context(), jt)
		return actor, err
	}
	token := r.Header.Get("Private-Token")
	if token == "" {
		if v, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
			token = strings.TrimSpace(v)
		}
	}
	if token == "" {
		token = r.URL.Query().Get("private_token")
	}
	if token == "" {
		token = r.URL.Query().Get("access_token")
	}
	if token == "" {
		return auth.Actor{}, nil
	}
	return s.Forge.Authenticator().Token(r.Context(), token)
}

// requireUser fails anonymous calls with 401.
func requireUser(c *call) error {
	if c.actor.Anonymous() {
		return gantry.ErrUnauthorized
	}
	return nil
}

// url joins path onto the external URL.
func (s *Server) url(path string) string {
	return strings.TrimSuffix(s.ExternalURL.String(), "/") + path
}

func (s *Server) handleVersion(w http.ResponseWriter, r *http.Request, c *call) {
	if err := requireUser(c); err != nil {
		s.fail(w, r, err, "")
		return
	}
	v := map[string]any{
		"version": gantry.GitLabVersion, "revision": "gantry", "enterprise": false,
		"kas":            map[string]any{"enabled": false, "externalUrl": nil, "version": nil},
		"gantry_version": gantry.Version,
	}
	writeJSON(w, http.StatusOK, v)
}

// notFound answers unknown API paths the way GitLab does.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{"error": "404 Not Found"})
}
