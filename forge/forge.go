// Package forge is what Gantry does as a Git forge: users and their tokens,
// groups, projects, memberships and repositories. Every method takes the
// acting auth.Actor and checks permissions through auth.Can, so the REST
// API, Git transports, the web UI and the admin CLI share one set of rules.
//
// Errors wrap gantry's sentinels; a thing the actor may not see is
// gantry.ErrNotFound (not ErrForbidden), as in GitLab.
package forge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/store"
)

// Service implements the forge's use cases.
type Service struct {
	store    *store.Store
	repos    git.Storage
	auth     *auth.Authenticator
	log      *slog.Logger
	hashCost int

	pushMu  sync.Map    // project id → *sync.Mutex: one ref reconciliation at a time
	runners runnerCache // runners by token hash, for AuthenticateRunner
	onPush  []func()    // called after a push recorded ref updates
}

// OnPush registers fn to be called after pushes record ref updates (the
// pipeline loop uses it to start at once rather than at its next tick).
// Register before serving; it is not safe to call concurrently with pushes.
func (s *Service) OnPush(fn func()) { s.onPush = append(s.onPush, fn) }

// Config holds a Service's dependencies.
type Config struct {
	Store        *store.Store
	Repos        git.Storage
	Log          *slog.Logger
	PasswordCost int // bcrypt cost; 0 means auth.DefaultCost
}

// New returns a Service.
func New(c Config) *Service {
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.PasswordCost == 0 {
		c.PasswordCost = auth.DefaultCost
	}
	return &Service{
		store:    c.Store,
		repos:    c.Repos,
		auth:     &auth.Authenticator{Store: c.Store, PasswordCost: c.PasswordCost},
		log:      c.Log,
		hashCost: c.PasswordCost,
	}
}

// Authenticator returns the authenticator the service uses.
func (s *Service) Authenticator() *auth.Authenticator { return s.auth }

// Repos returns where repositories live.
func (s *Service) Repos() git.Storage { return s.repos }

// System is the actor for the admin CLI and start-up bootstrap: an
// administrator that is no user.
func System() auth.Actor {
	return auth.Actor{User: gantry.User{ID: -1, Username: "system", Admin: true, State: gantry.UserActive}}
}

func viewer(a auth.Actor) store.Viewer {
	if a.Anonymous() {
		return store.Viewer{}
	}
	return store.Viewer{UserID: a.User.ID, Admin: a.Admin()}
}

// ProjectAccess is a project with the actor's effective role on it.
type ProjectAccess struct {
	Project gantry.Project
	Level   gantry.AccessLevel
}

// Project finds a project by numeric id or full path and checks that actor
// may do action on it. A project the actor may not read is
// gantry.ErrNotFound; one it may read but not act on is gantry.ErrForbidden.
func (s *Service) Project(ctx context.Context, actor auth.Actor, idOrPath string, action auth.Action) (ProjectAccess, error) {
	p, err := byIDOrPath(ctx, idOrPath, s.store.Project, s.store.ProjectByPath)
	if err != nil {
		return ProjectAccess{}, err
	}
	return s.checkProject(ctx, actor, p, action)
}

// byIDOrPath reads what GitLab's :id names: a numeric id, else a full
// path (slashes around it ignored).
func byIDOrPath[T any](ctx context.Context, idOrPath string,
	byID func(context.Context, int64) (T, error), byPath func(context.Context, string) (T, error)) (T, error) {
	if id, err := strconv.ParseInt(idOrPath, 10, 64); err == nil {
		return byID(ctx, id)
	}
	return byPath(ctx, strings.Trim(idOrPath, "/"))
}

func (s *Service) checkProject(ctx context.Context, actor auth.Actor, p gantry.Project, action auth.Action) (ProjectAccess, error) {
	if actor.Job != nil {
		return s.checkJobProject(ctx, actor, p, action)
	}
	level, err := s.store.AccessLevel(ctx, max(actor.User.ID, 0), store.ProjectSource(p.ID))
	if err != nil {
		return ProjectAccess{}, err
	}
	if !auth.Can(actor, auth.ReadProject, p.Visibility, level) {
		return ProjectAccess{}, fmt.Errorf("project %s: %w", p.FullPath(), gantry.ErrNotFound)
	}
	if !auth.Can(actor, action, p.Visibility, level) {
		return ProjectAccess{}, fmt.Errorf("%s project %s: %w", action, p.FullPath(), gantry.ErrForbidden)
	}
	return ProjectAccess{Project: p, Level: level}, nil
}

// checkJobProject applies a job token's limits: read access to its own
// project (and to public ones, as anyone has), nothing more. The token
// acts with its user's rights there, as in GitLab: a user who may no
// longer read the project (removed from a private one) has a job token
// that can't either. A job without a user reads its own project.
func (s *Service) checkJobProject(ctx context.Context, actor auth.Actor, p gantry.Project, action auth.Action) (ProjectAccess, error) {
	level := gantry.NoAccess
	switch {
	case p.ID != actor.Job.ProjectID:
		if p.Visibility != gantry.Public {
			return ProjectAccess{}, fmt.Errorf("project %s: %w", p.FullPath(), gantry.ErrNotFound)
		}
	case actor.User.ID == 0:
		level = gantry.Reporter
	default:
		var err error
		if level, err = s.store.AccessLevel(ctx, actor.User.ID, store.ProjectSource(p.ID)); err != nil {
			return ProjectAccess{}, err
		}
		if !auth.Can(auth.Actor{User: actor.User}, auth.ReadCode, p.Visibility, level) {
			return ProjectAccess{}, fmt.Errorf("project %s: the job's user has no access: %w", p.FullPath(), gantry.ErrNotFound)
		}
	}
	if action != auth.ReadProject && action != auth.ReadCode {
		return ProjectAccess{}, fmt.Errorf("%s project %s with a job token: %w", action, p.FullPath(), gantry.ErrForbidden)
	}
	return ProjectAccess{Project: p, Level: level}, nil
}

// GroupAccess is a group with the actor's effective role on it.
type GroupAccess struct {
	Group gantry.Namespace
	Level gantry.AccessLevel
}

// Group finds a group by numeric id or full path and checks that actor may
// do action on it, like Project.
func (s *Service) Group(ctx context.Context, actor auth.Actor, idOrPath string, action auth.Action) (GroupAccess, error) {
	g, err := byIDOrPath(ctx, idOrPath, s.store.Namespace, s.store.NamespaceByPath)
	if err == nil && g.Kind != gantry.GroupNamespace {
		err = fmt.Errorf("group %s: %w", idOrPath, gantry.ErrNotFound)
	}
	if err != nil {
		return GroupAccess{}, err
	}
	return s.checkGroup(ctx, actor, g, action)
}

func (s *Service) checkGroup(ctx context.Context, actor auth.Actor, g gantry.Namespace, action auth.Action) (GroupAccess, error) {
	level, err := s.store.AccessLevel(ctx, max(actor.User.ID, 0), store.GroupSource(g.ID))
	if err != nil {
		return GroupAccess{}, err
	}
	if !auth.Can(actor, auth.ReadProject, g.Visibility, level) {
		return GroupAccess{}, fmt.Errorf("group %s: %w", g.FullPath, gantry.ErrNotFound)
	}
	if !auth.Can(actor, action, g.Visibility, level) {
		return GroupAccess{}, fmt.Errorf("%s group %s: %w", action, g.FullPath, gantry.ErrForbidden)
	}
	return GroupAccess{Group: g, Level: level}, nil
}

// invalid builds a gantry.ErrInvalid error with a message for the user.
func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", gantry.ErrInvalid, fmt.Sprintf(format, args...))
}

func isNotFound(err error) bool { return errors.Is(err, gantry.ErrNotFound) }
