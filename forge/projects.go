package forge

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/store"
)

// NewProject is what creating a project takes.
type NewProject struct {
	Name          string
	Path          string
	NamespaceID   int64 // 0: the actor's personal namespace
	Visibility    gantry.Visibility
	Description   string
	DefaultBranch string
}

// CreateProject creates a project and its empty repository. In a personal
// namespace only its owner (or an admin) may; in a group, developers and up.
// A project may not be more visible than its group. Its default branch is
// protected as GitLab's default ("fully protected") has it.
func (s *Service) CreateProject(ctx context.Context, actor auth.Actor, np NewProject) (gantry.Project, error) {
	if actor.Anonymous() {
		return gantry.Project{}, fmt.Errorf("create project: %w", gantry.ErrUnauthorized)
	}
	if np.Path == "" {
		np.Path = pathFromName(np.Name)
	}
	if np.Name == "" {
		np.Name = np.Path
	}
	if np.Visibility == "" {
		np.Visibility = gantry.Private
	}
	if np.DefaultBranch == "" {
		np.DefaultBranch = "main"
	}
	if err := validateNamed(np.Name, np.Path, np.Visibility, len(np.Description)); err != nil {
		return gantry.Project{}, err
	}
	if err := git.ValidRefName("refs/heads/" + np.DefaultBranch); err != nil {
		return gantry.Project{}, invalid("default branch %q is not a valid branch name", np.DefaultBranch)
	}
	ns, err := s.projectNamespace(ctx, actor, np.NamespaceID)
	if err != nil {
		return gantry.Project{}, err
	}
	if ns.Kind == gantry.GroupNamespace && moreVisible(np.Visibility, ns.Visibility) {
		return gantry.Project{}, invalid("visibility level %s is not allowed in a %s group", np.Visibility, ns.Visibility)
	}
	p := gantry.Project{Namespace: ns, Name: np.Name, Path: np.Path, Description: np.Description,
		Visibility: np.Visibility, DefaultBranch: np.DefaultBranch, CreatorID: max(actor.User.ID, 0)}
	if err := s.store.CreateProject(ctx, &p); err != nil {
		return gantry.Project{}, err
	}
	// Protect before the repository exists, so it is never unprotected.
	if err := s.protectDefaultBranch(ctx, p); err != nil {
		return gantry.Project{}, err
	}
	if _, err := s.repos.Init(ctx, p.ID, p.DefaultBranch); err != nil {
		// Without a repository the project is useless: undo the row.
		if derr := s.store.DeleteProject(ctx, p.ID); derr != nil {
			s.log.Error("undo project after failed git init", "project", p.ID, "err", derr)
		}
		return gantry.Project{}, fmt.Errorf("create repository of %s: %w", p.FullPath(), err)
	}
	s.log.Info("project created", "project", p.FullPath(), "id", p.ID)
	return p, nil
}

// projectNamespace resolves where a new project goes and checks the actor
// may create projects there.
func (s *Service) projectNamespace(ctx context.Context, actor auth.Actor, id int64) (gantry.Namespace, error) {
	if id == 0 {
		if actor.User.ID <= 0 {
			return gantry.Namespace{}, invalid("namespace_id is required")
		}
		return s.store.UserNamespace(ctx, actor.User.ID)
	}
	ns, err := s.store.Namespace(ctx, id)
	if err != nil {
		return gantry.Namespace{}, fmt.Errorf("namespace %d: %w", id, err)
	}
	if ns.Kind == gantry.UserNamespace {
		if ns.OwnerID != actor.User.ID && !actor.Admin() {
			return gantry.Namespace{}, fmt.Errorf("create project in namespace %s: %w", ns.FullPath, gantry.ErrForbidden)
		}
		return ns, nil
	}
	ga, err := s.Group(ctx, actor, strconv.FormatInt(id, 10), auth.CreateProject)
	if err != nil {
		return gantry.Namespace{}, err
	}
	return ga.Group, nil
}

// pathFromName derives a path from a name as GitLab does: lower case,
// runs of anything but letters, digits, '_', '.' and '-' become '-'.
func pathFromName(name string) string {
	out := make([]byte, 0, len(name))
	dash := false
	for i := 0; i < len(name); i++ {
		c := name[i]
		ok := c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_' || c == '.' || c == '-'
		if c >= 'A' && c <= 'Z' {
			c, ok = c+'a'-'A', true
		}
		if !ok {
			if !dash && len(out) > 0 {
				out = append(out, '-')
			}
			dash = true
			continue
		}
		out, dash = append(out, c), false
	}
	for len(out) > 0 && (out[len(out)-1] == '-' || out[len(out)-1] == '.') {
		out = out[:len(out)-1]
	}
	return string(out)
}

// ListProjects lists the projects actor may see.
func (s *Service) ListProjects(ctx context.Context, actor auth.Actor, f store.ProjectFilter, p store.Page) ([]gantry.Project, int, error) {
	f.Viewer = viewer(actor)
	return s.store.ListProjects(ctx, f, p)
}

// ProjectUpdate holds the fields to change; nil means unchanged.
type ProjectUpdate struct {
	Name          *string
	Path          *string
	Description   *string
	Visibility    *gantry.Visibility
	DefaultBranch *string
}

// UpdateProject changes project settings: maintainers may, but changing
// visibility or path needs the owner.
func (s *Service) UpdateProject(ctx context.Context, actor auth.Actor, idOrPath string, u ProjectUpdate) (gantry.Project, error) {
	action := auth.ManageProject
	if u.Visibility != nil || u.Path != nil {
		action = auth.OwnProject
	}
	pa, err := s.Project(ctx, actor, idOrPath, action)
	if err != nil {
		return gantry.Project{}, err
	}
	p := pa.Project
	set(&p.Name, u.Name)
	set(&p.Path, u.Path)
	set(&p.Description, u.Description)
	set(&p.Visibility, u.Visibility)
	set(&p.DefaultBranch, u.DefaultBranch)
	if err := validateNamed(p.Name, p.Path, p.Visibility, len(p.Description)); err != nil {
		return gantry.Project{}, err
	}
	if p.Namespace.Kind == gantry.GroupNamespace && moreVisible(p.Visibility, p.Namespace.Visibility) {
		return gantry.Project{}, invalid("visibility level %s is not allowed in a %s group", p.Visibility, p.Namespace.Visibility)
	}
	if u.DefaultBranch != nil {
		if err := git.ValidRefName("refs/heads/" + p.DefaultBranch); err != nil {
			return gantry.Project{}, invalid("default branch %q is not a valid branch name", p.DefaultBranch)
		}
		if err := s.repos.Repo(p.ID).SetHead(ctx, p.DefaultBranch); err != nil {
			return gantry.Project{}, err
		}
	}
	if err := s.store.UpdateProject(ctx, &p); err != nil {
		return gantry.Project{}, err
	}
	return s.store.Project(ctx, p.ID)
}

func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// DeleteProject deletes a project and its repository; owners only.
func (s *Service) DeleteProject(ctx context.Context, actor auth.Actor, idOrPath string) error {
	pa, err := s.Project(ctx, actor, idOrPath, auth.OwnProject)
	if err != nil {
		return err
	}
	if err := s.store.DeleteProject(ctx, pa.Project.ID); err != nil {
		return err
	}
	if err := s.repos.Remove(pa.Project.ID); err != nil {
		s.log.Error("remove repository of deleted project", "project", pa.Project.ID, "err", err)
	}
	s.log.Info("project deleted", "project", pa.Project.FullPath())
	return nil
}
