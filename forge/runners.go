package forge

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/store"
)

// NewRunner is what creating a runner takes (POST /user/runners).
type NewRunner struct {
	Type             gantry.RunnerType
	GroupID          string // id or path, for group runners
	ProjectID        string // id or path, for project runners
	Description      string
	MaintenanceNote  string
	Tags             []string
	RunUntagged      bool
	Locked           bool
	RefProtectedOnly bool
	Paused           bool
	MaximumTimeout   int
	TokenExpiresAt   time.Time
}

// CreateRunner creates a runner and returns it with its authentication
// token (glrt-…), shown only now. Instance runners need an admin, group
// runners a group owner, project runners a project maintainer.
func (s *Service) CreateRunner(ctx context.Context, actor auth.Actor, nr NewRunner) (gantry.Runner, string, error) {
	if actor.Anonymous() {
		return gantry.Runner{}, "", gantry.ErrUnauthorized
	}
	r := gantry.Runner{Type: nr.Type, Description: nr.Description, MaintenanceNote: nr.MaintenanceNote, Tags: nr.Tags,
		RunUntagged: nr.RunUntagged, Locked: nr.Locked, RefProtectedOnly: nr.RefProtectedOnly, Paused: nr.Paused,
		MaximumTimeout: nr.MaximumTimeout, CreatorID: max(actor.User.ID, 0), TokenExpiresAt: nr.TokenExpiresAt}
	switch nr.Type {
	case gantry.InstanceRunner:
		if !actor.Admin() {
			return gantry.Runner{}, "", fmt.Errorf("create instance runner: %w", gantry.ErrForbidden)
		}
	case gantry.GroupRunner:
		ga, err := s.Group(ctx, actor, nr.GroupID, auth.OwnProject)
		if err != nil {
			return gantry.Runner{}, "", err
		}
		r.GroupID = ga.Group.ID
	case gantry.ProjectRunner:
		pa, err := s.Project(ctx, actor, nr.ProjectID, auth.ManageProject)
		if err != nil {
			return gantry.Runner{}, "", err
		}
		r.ProjectIDs = []int64{pa.Project.ID}
	default:
		return gantry.Runner{}, "", invalid("runner_type does not have a valid value")
	}
	if err := validateRunner(r); err != nil {
		return gantry.Runner{}, "", err
	}
	secret := auth.NewSecret(auth.RunnerTokenPrefix)
	if err := s.store.CreateRunner(ctx, &r, auth.HashSecret(secret), false); err != nil {
		return gantry.Runner{}, "", err
	}
	s.log.Info("runner created", "runner", r.ID, "type", r.Type)
	return r, secret, nil
}

func validateRunner(r gantry.Runner) error {
	if len(r.Description) > 1024 {
		return invalid("description is too long (maximum is 1024 characters)")
	}
	if r.MaximumTimeout != 0 && r.MaximumTimeout < 600 {
		return invalid("maximum_timeout needs to be at least 10 minutes")
	}
	for _, t := range r.Tags {
		if t == "" || len(t) > 255 {
			return invalid("tag %q is invalid", t)
		}
	}
	return nil
}

// Runner finds a runner the actor may look at: as RunnerAccess, and
// also any instance runner for any signed-in user, as GitLab shows them.
func (s *Service) Runner(ctx context.Context, actor auth.Actor, id int64) (gantry.Runner, error) {
	r, err := s.store.Runner(ctx, id)
	if err == nil && r.Type == gantry.InstanceRunner && !actor.Anonymous() {
		return r, nil
	}
	return s.RunnerAccess(ctx, actor, id, false)
}

// RunnerAccess finds a runner and checks the actor may see its details
// and jobs (manage=false) or change it: admins any runner; group runners
// their group's owners (maintainers may see them); project runners the
// maintainers of one of their projects. An unknown runner is
// gantry.ErrNotFound; one the actor may not see or change is
// gantry.ErrForbidden, as GitLab answers ("No access granted").
func (s *Service) RunnerAccess(ctx context.Context, actor auth.Actor, id int64, manage bool) (gantry.Runner, error) {
	r, err := s.store.Runner(ctx, id)
	if err != nil {
		return gantry.Runner{}, err
	}
	if actor.Admin() {
		return r, nil
	}
	if actor.Anonymous() {
		return gantry.Runner{}, fmt.Errorf("runner %d: %w", id, gantry.ErrUnauthorized)
	}
	denied := fmt.Errorf("runner %d: no access granted: %w", id, gantry.ErrForbidden)
	switch r.Type {
	case gantry.GroupRunner:
		action := auth.ManageProject
		if manage {
			action = auth.OwnProject
		}
		if _, err := s.Group(ctx, actor, strconv.FormatInt(r.GroupID, 10), action); err != nil {
			return gantry.Runner{}, denied
		}
		return r, nil
	case gantry.ProjectRunner:
		for _, pid := range r.ProjectIDs {
			if _, err := s.Project(ctx, actor, strconv.FormatInt(pid, 10), auth.ManageProject); err == nil {
				return r, nil
			}
		}
	}
	return gantry.Runner{}, denied
}

// ListRunners lists runners: with all (admins only) every runner, else the
// group and project runners the actor manages.
func (s *Service) ListRunners(ctx context.Context, actor auth.Actor, all bool, f store.RunnerFilter, p store.Page) ([]gantry.Runner, int, error) {
	if actor.Anonymous() {
		return nil, 0, gantry.ErrUnauthorized
	}
	if all {
		if !actor.Admin() {
			return nil, 0, fmt.Errorf("list all runners: %w", gantry.ErrForbidden)
		}
		return s.store.ListRunners(ctx, f, p)
	}
	candidates, _, err := s.store.ListRunners(ctx, store.RunnerFilter{}, store.Page{Size: 100000})
	if err != nil {
		return nil, 0, err
	}
	ids := []int64{}
	for _, r := range candidates {
		if r.Type == gantry.InstanceRunner {
			continue
		}
		if _, err := s.RunnerAccess(ctx, actor, r.ID, false); err == nil {
			ids = append(ids, r.ID)
		}
	}
	f.IDs = ids
	return s.store.ListRunners(ctx, f, p)
}

// RunnerUpdate holds the runner settings to change; nil means unchanged.
type RunnerUpdate struct {
	Description      *string
	MaintenanceNote  *string
	Tags             *[]string
	RunUntagged      *bool
	Locked           *bool
	RefProtectedOnly *bool
	Paused           *bool
	MaximumTimeout   *int
}

// UpdateRunner changes a runner's settings.
func (s *Service) UpdateRunner(ctx context.Context, actor auth.Actor, id int64, u RunnerUpdate) (gantry.Runner, error) {
	r, err := s.RunnerAccess(ctx, actor, id, true)
	if err != nil {
		return gantry.Runner{}, err
	}
	set(&r.Description, u.Description)
	set(&r.MaintenanceNote, u.MaintenanceNote)
	set(&r.Tags, u.Tags)
	set(&r.RunUntagged, u.RunUntagged)
	set(&r.Locked, u.Locked)
	set(&r.RefProtectedOnly, u.RefProtectedOnly)
	set(&r.Paused, u.Paused)
	set(&r.MaximumTimeout, u.MaximumTimeout)
	if err := validateRunner(r); err != nil {
		return gantry.Runner{}, err
	}
	defer s.runners.clear()
	if err := s.store.UpdateRunner(ctx, &r); err != nil {
		return gantry.Runner{}, err
	}
	return r, nil
}

// DeleteRunner removes a runner.
func (s *Service) DeleteRunner(ctx context.Context, actor auth.Actor, id int64) error {
	if _, err := s.RunnerAccess(ctx, actor, id, true); err != nil {
		return err
	}
	defer s.runners.clear()
	return s.store.DeleteRunner(ctx, id)
}

// ResetRunnerToken gives a runner a new authentication token (the old one
// stops working) and returns it.
func (s *Service) ResetRunnerToken(ctx context.Context, actor auth.Actor, id int64) (gantry.Runner, string, error) {
	r, err := s.RunnerAccess(ctx, actor, id, true)
	if err != nil {
		return gantry.Runner{}, "", err
	}
	return s.rotateRunnerToken(ctx, r)
}

func (s *Service) rotateRunnerToken(ctx context.Context, r gantry.Runner) (gantry.Runner, string, error) {
	secret := auth.NewSecret(auth.RunnerTokenPrefix)
	defer s.runners.clear()
	if err := s.store.SetRunnerToken(ctx, r.ID, auth.HashSecret(secret), r.TokenExpiresAt); err != nil {
		return gantry.Runner{}, "", err
	}
	return r, secret, nil
}
