package forge

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/git/smarthttp"
	"github.com/gantry-ci/gantry/store"
)

var _ smarthttp.Authorizer = (*Service)(nil)

// AuthorizeGit implements smarthttp.Authorizer: it authenticates Basic
// credentials (a token as password with any username, or a password),
// finds the project, checks token scopes and the actor's role, and for a
// push to a path that does not exist creates a private project in the
// actor's namespace ("push to create", as GitLab does) if the actor's
// token allows pushing. A push's ref updates are then vetted against the
// project's protected branches and tags (see checkUpdates).
func (s *Service) AuthorizeGit(ctx context.Context, creds smarthttp.Credentials, path string, push bool) (smarthttp.Repository, error) {
	var actor auth.Actor
	if creds.Present && creds.Username == "gitlab-ci-token" {
		a, _, err := s.JobTokenActor(ctx, creds.Password)
		if err != nil {
			return smarthttp.Repository{}, err
		}
		actor = a
	} else if creds.Present {
		a, err := s.auth.Basic(ctx, creds.Username, creds.Password)
		if err != nil {
			return smarthttp.Repository{}, err
		}
		actor = a
	}
	action := auth.ReadCode
	if push {
		action = auth.PushCode
	}
	p, err := s.store.ProjectByPath(ctx, path)
	if isNotFound(err) && push && !actor.Anonymous() && gitScopeOK(actor, push) {
		// Only a credential that may push creates (GitLab's push_code
		// ability; never a job token); otherwise the path is not found,
		// as in GitLab, which tells nothing about other paths.
		p, err = s.pushToCreate(ctx, actor, path)
	}
	if err != nil {
		return smarthttp.Repository{}, err
	}
	pa, err := s.checkProject(ctx, actor, p, action)
	if err != nil {
		if actor.Anonymous() && errors.Is(err, gantry.ErrForbidden) {
			// Ask for credentials rather than refuse: git only sends
			// them after a 401.
			return smarthttp.Repository{}, fmt.Errorf("%w: %w", gantry.ErrUnauthorized, err)
		}
		return smarthttp.Repository{}, err
	}
	if !gitScopeOK(actor, push) {
		return smarthttp.Repository{}, fmt.Errorf("token scopes %v don't allow this: %w", actor.Scopes, gantry.ErrForbidden)
	}
	repo := smarthttp.Repository{Repo: s.repos.Repo(p.ID), ProjectID: p.ID}
	if push {
		uid := actor.User.ID
		repo.Pushed = func(ctx context.Context, cmds []smarthttp.RefCommand) error {
			_, err := s.SyncRefs(ctx, p.ID, store.Push{UserID: uid, Refs: pushedRefs(cmds)})
			return err
		}
		u := pusher{level: pa.Level, admin: actor.Admin()}
		repo.CheckUpdates = func(ctx context.Context, cmds []smarthttp.RefCommand) ([]string, error) {
			return s.checkUpdates(ctx, pa.Project, u, cmds)
		}
	}
	return repo, nil
}

func gitScopeOK(a auth.Actor, push bool) bool {
	if a.Job != nil {
		return !push // job tokens clone and fetch; pushing is not allowed
	}
	if push {
		return a.HasScope(gantry.ScopeWriteRepository, gantry.ScopeAPI)
	}
	return a.Anonymous() || a.HasScope(gantry.ScopeReadRepository, gantry.ScopeWriteRepository, gantry.ScopeAPI, gantry.ScopeReadAPI)
}

func (s *Service) pushToCreate(ctx context.Context, actor auth.Actor, path string) (gantry.Project, error) {
	i := strings.LastIndexByte(path, '/')
	if i < 0 {
		return gantry.Project{}, fmt.Errorf("project %s: %w", path, gantry.ErrNotFound)
	}
	ns, err := s.store.NamespaceByPath(ctx, path[:i])
	if err != nil {
		return gantry.Project{}, fmt.Errorf("project %s: %w", path, gantry.ErrNotFound)
	}
	p, err := s.CreateProject(ctx, actor, NewProject{Name: path[i+1:], Path: path[i+1:], NamespaceID: ns.ID, Visibility: gantry.Private})
	if errors.Is(err, gantry.ErrForbidden) {
		// Not allowed to create there: the project simply isn't there.
		return gantry.Project{}, fmt.Errorf("project %s: %w", path, gantry.ErrNotFound)
	}
	return p, err
}

// pushedRefs maps the refs a push's commands change to the objects they
// send (gantry.ZeroSHA for deletions), for store.Push.
func pushedRefs(cmds []smarthttp.RefCommand) map[string]string {
	refs := make(map[string]string, len(cmds))
	for _, c := range cmds {
		refs[c.Ref] = c.New
		if c.Delete() {
			refs[c.Ref] = gantry.ZeroSHA
		}
	}
	return refs
}

// SyncRefs records what changed in a project's branches and tags since the
// last sync as durable RefUpdate events (see store.SyncRefs): the changes
// push asked for as its user's, any other with user 0 (a concurrent push's,
// or found at start-up). Calls for one project are serialised.
func (s *Service) SyncRefs(ctx context.Context, projectID int64, push store.Push) ([]gantry.RefUpdate, error) {
	mu, _ := s.pushMu.LoadOrStore(projectID, &sync.Mutex{})
	mu.(*sync.Mutex).Lock()
	defer mu.(*sync.Mutex).Unlock()
	tips, err := s.repos.Repo(projectID).Refs(ctx, "refs/heads/", "refs/tags/")
	if err != nil {
		return nil, fmt.Errorf("read refs of project %d: %w", projectID, err)
	}
	ups, err := s.store.SyncRefs(ctx, projectID, tips, push)
	if err == nil && len(ups) > 0 {
		for _, fn := range s.onPush {
			fn()
		}
	}
	return ups, err
}

// Recover runs at start-up, before anyone can push: it removes lock files
// a killed git left behind (they would block every later push to that ref)
// and records ref changes that happened just before a crash.
func (s *Service) Recover(ctx context.Context) error {
	page := store.Page{Number: 1, Size: 100}
	for {
		projects, _, err := s.store.ListProjects(ctx, store.ProjectFilter{Viewer: store.Viewer{Admin: true}, OrderBy: "id", Ascending: true}, page)
		if err != nil {
			return err
		}
		for _, p := range projects {
			if err := removeStaleLocks(s.repos.Path(p.ID)); err != nil {
				s.log.Warn("remove stale git locks", "project", p.ID, "err", err)
			}
			if ups, err := s.SyncRefs(ctx, p.ID, store.Push{}); err != nil {
				s.log.Warn("recover refs", "project", p.ID, "err", err)
			} else if len(ups) > 0 {
				s.log.Info("recovered ref updates", "project", p.ID, "count", len(ups))
			}
		}
		if len(projects) < page.Size {
			return nil
		}
		page.Number++
	}
}

func removeStaleLocks(repo string) error {
	var errs []error
	for _, f := range []string{"HEAD.lock", "config.lock", "packed-refs.lock", "shallow.lock", "index.lock"} {
		if err := os.Remove(filepath.Join(repo, f)); err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	err := filepath.WalkDir(filepath.Join(repo, "refs"), func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() && strings.HasSuffix(path, ".lock") {
			return os.Remove(path)
		}
		return nil
	})
	return errors.Join(append(errs, err)...)
}
