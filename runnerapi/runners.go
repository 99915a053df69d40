package runnerapi

import (
	"errors"
	"net/http"
	"strings"

	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
)

// verify answers POST /runners/verify: the `register` flow of glrt-
// tokens. GitLab returns the same token back with the runner's id.
func (s *Server) verify(w http.ResponseWriter, r *http.Request) {
	var req gitlab.VerifyRunnerRequest
	if err := decode(r, &req); err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - token is missing")
		return
	}
	runner, err := s.Forge.AuthenticateRunner(r.Context(), req.Token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.seen.Delete(runnerKey(runner.ID, req.SystemID))
	s.seenRunner(r.Context(), runner, req.SystemID, req.Info, r)
	writeJSON(w, http.StatusOK, gitlab.RunnerCredentials{ID: runner.ID, Token: req.Token, TokenExpiresAt: timePtr(runner.TokenExpiresAt)})
}

// register answers the legacy POST /runners with a registration token.
func (s *Server) register(w http.ResponseWriter, r *http.Request) {
	var req gitlab.RegisterRunnerRequest
	if err := decode(r, &req); err != nil || req.Token == "" {
		message(w, http.StatusBadRequest, "400 Bad request - token is missing")
		return
	}
	nr := forge.NewRunner{Description: req.Description, MaintenanceNote: req.MaintenanceNote, RunUntagged: req.RunUntagged,
		Locked: req.Locked, RefProtectedOnly: req.AccessLevel == "ref_protected", Paused: req.Paused, MaximumTimeout: req.MaximumTimeout}
	for _, t := range strings.Split(req.TagList, ",") {
		if t = strings.TrimSpace(t); t != "" {
			nr.Tags = append(nr.Tags, t)
		}
	}
	runner, token, err := s.Forge.RegisterRunner(r.Context(), req.Token, nr)
	if errors.Is(err, forge.ErrRegistrationDisabled) {
		message(w, http.StatusGone, "runner registration disallowed")
		return
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.seenRunner(r.Context(), runner, "", req.Info, r)
	writeJSON(w, http.StatusCreated, gitlab.RunnerCredentials{ID: runner.ID, Token: token, TokenExpiresAt: timePtr(runner.TokenExpiresAt)})
}

// unregister answers DELETE /runners: the runner is gone.
func (s *Server) unregister(w http.ResponseWriter, r *http.Request) {
	var req gitlab.UnregisterRunnerRequest
	if err := decode(r, &req); err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - token is missing")
		return
	}
	if err := s.Forge.UnregisterRunner(r.Context(), req.Token); err != nil {
		s.fail(w, r, err)
		return
	}
	s.Queue.Notify() // the runner set changed
	w.WriteHeader(http.StatusNoContent)
}

// unregisterManager answers DELETE /runners/managers: one machine of a
// glrt- runner goes away; the runner stays.
func (s *Server) unregisterManager(w http.ResponseWriter, r *http.Request) {
	var req gitlab.UnregisterRunnerRequest
	if err := decode(r, &req); err != nil || req.SystemID == "" {
		message(w, http.StatusBadRequest, "400 Bad request - system_id is missing")
		return
	}
	runner, err := s.Forge.AuthenticateRunner(r.Context(), req.Token)
	if err == nil {
		err = s.Store.DeleteRunnerManager(r.Context(), runner.ID, req.SystemID)
	}
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.seen.Delete(runnerKey(runner.ID, req.SystemID))
	w.WriteHeader(http.StatusNoContent)
}

// resetToken answers POST /runners/reset_authentication_token.
func (s *Server) resetToken(w http.ResponseWriter, r *http.Request) {
	var req gitlab.ResetTokenRequest
	if err := decode(r, &req); err != nil {
		message(w, http.StatusBadRequest, "400 Bad request - token is missing")
		return
	}
	runner, token, err := s.Forge.RotateRunnerToken(r.Context(), req.Token)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	s.forgetRunner(runner.ID)
	writeJSON(w, http.StatusCreated, gitlab.ResetTokenResponse{Token: token, TokenExpiresAt: timePtr(runner.TokenExpiresAt)})
}

func runnerKey(id int64, systemID string) string {
	if systemID == "" {
		systemID = "<legacy>"
	}
	return itoa(id) + "/" + systemID
}

// forgetRunner drops cached state of a runner whose token changed.
func (s *Server) forgetRunner(id int64) {
	prefix := itoa(id) + "/"
	s.seen.Range(func(k, _ any) bool {
		if strings.HasPrefix(k.(string), prefix) {
			s.seen.Delete(k)
		}
		return true
	})
}
