package api

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) triggerJSON(ctx context.Context, tr store.Trigger, token string) map[string]any {
	if token == "" {
		token = auth.TriggerTokenPrefix + "…" + tr.Last4
	}
	out := map[string]any{"id": tr.ID, "description": tr.Description, "created_at": timePtr(tr.CreatedAt),
		"updated_at": timePtr(tr.CreatedAt), "last_used": timePtr(tr.LastUsedAt), "token": token}
	if u, err := s.Forge.User(ctx, auth.Actor{}, tr.OwnerID); err == nil {
		out["owner"] = s.userBasic(u)
	}
	return out
}

func (s *Server) listTriggers(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ManageProject)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	list, err := s.Store.Triggers(r.Context(), pa.Project.ID)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]map[string]any, len(list))
	for i, tr := range list {
		out[i] = s.triggerJSON(r.Context(), tr, "")
	}
	pg := c.page()
	s.writePage(w, r, pg, len(out), pageOf(out, pg))
}

func (s *Server) createTrigger(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ManageProject)
	if err == nil {
		err = c.params.check("description")
	}
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	secret := auth.NewSecret(auth.TriggerTokenPrefix)
	tr := store.Trigger{ProjectID: pa.Project.ID, Last4: secret[len(secret)-4:], Description: c.params.strOr("description", ""),
		OwnerID: c.actor.User.ID}
	if err := s.Store.CreateTrigger(r.Context(), &tr, auth.HashSecret(secret)); err != nil {
		s.fail(w, r, err, "")
		return
	}
	writeJSON(w, http.StatusCreated, s.triggerJSON(r.Context(), tr, secret))
}

func (s *Server) deleteTrigger(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ManageProject)
	if err == nil {
		var tid int64
		if tid, err = strconv.ParseInt(r.PathValue("tid"), 10, 64); err != nil {
			err = errNotFoundf("Trigger")
		} else {
			err = s.Store.DeleteTrigger(r.Context(), pa.Project.ID, tid)
		}
	}
	if err != nil {
		s.fail(w, r, err, "Trigger")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// triggerPipeline answers POST /projects/:id/trigger/pipeline: a trigger
// token of the project (source "trigger") or a job token of a running job
// of the project (source "pipeline") starts a pipeline on ref as the
// token's user, who must be active and allowed to run it there.
func (s *Server) triggerPipeline(w http.ResponseWriter, r *http.Request, c *call) {
	token := c.params.strOr("token", "")
	ref := c.params.strOr("ref", "")
	vars, err := pipelineVars(c.params)
	if err == nil && (token == "" || ref == "") {
		err = errInvalidf("token and ref are required")
	}
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	req := pipeline.CreateRequest{Ref: ref, Variables: vars, Source: "trigger"}
	var projectID int64 // the one project the token may start pipelines in
	if strings.HasPrefix(token, auth.JobTokenPrefix) {
		actor, job, err := s.Forge.JobTokenActor(r.Context(), token)
		if err != nil {
			s.fail(w, r, gantry.ErrNotFound, "Project")
			return
		}
		// GitLab lets a job trigger a pipeline in another project when
		// that project's job token allowlist admits the job's project.
		// Gantry has no allowlist yet: a job triggers its own project
		// only.
		req.User, req.Source, projectID = actor.User, "pipeline", job.ProjectID
	} else {
		tr, err := s.Store.TriggerByHash(r.Context(), auth.HashSecret(token))
		var owner gantry.User
		if err == nil {
			owner, err = s.Forge.User(r.Context(), auth.Actor{}, tr.OwnerID)
		}
		if err != nil || !owner.Active() { // a blocked or deleted owner's triggers stop working
			s.fail(w, r, gantry.ErrNotFound, "Project")
			return
		}
		req.User, projectID = owner, tr.ProjectID
	}
	// The pipeline is the user's: they must be allowed to run it.
	actor := auth.Actor{User: req.User}
	pa, err := s.Forge.Project(r.Context(), actor, r.PathValue("id"), auth.PushCode)
	if err != nil || pa.Project.ID != projectID {
		s.fail(w, r, gantry.ErrNotFound, "Project")
		return
	}
	if !s.mayCreateFor(w, r, actor, pa, ref) {
		return
	}
	req.Project = pa.Project
	s.runPipeline(w, r, req)
}
