package forge

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/store"
)

// RefProtected reports whether a branch (tag=false) or tag is protected in
// the project. ref may be a short name ("main") or a full one
// ("refs/heads/main"). Pipelines use it to decide whether protected
// variables are handed out.
func (s *Service) RefProtected(ctx context.Context, projectID int64, ref string, tag bool) (bool, error) {
	name := strings.TrimPrefix(ref, "refs/heads/")
	if tag {
		name = strings.TrimPrefix(ref, "refs/tags/")
	}
	rules, err := s.store.ProtectedRefs(ctx, projectID, tag)
	if err != nil {
		return false, err
	}
	return len(matching(rules, name)) > 0, nil
}

// matching returns the rules that apply to a branch or tag name.
func matching(rules []gantry.ProtectedRef, name string) []gantry.ProtectedRef {
	var out []gantry.ProtectedRef
	for _, r := range rules {
		if r.Matches(name) {
			out = append(out, r)
		}
	}
	return out
}

// ListProtectedRefs lists a project's protected branches or tags;
// maintainers only, as in GitLab.
func (s *Service) ListProtectedRefs(ctx context.Context, actor auth.Actor, idOrPath string, tag bool, p store.Page) ([]gantry.ProtectedRef, int, error) {
	pa, err := s.Project(ctx, actor, idOrPath, auth.ManageProject)
	if err != nil {
		return nil, 0, err
	}
	return s.store.ListProtectedRefs(ctx, pa.Project.ID, tag, p)
}

// ProtectedRef returns the rule protecting exactly name (a pattern by its
// own text).
func (s *Service) ProtectedRef(ctx context.Context, actor auth.Actor, idOrPath string, tag bool, name string) (gantry.ProtectedRef, error) {
	pa, err := s.Project(ctx, actor, idOrPath, auth.ManageProject)
	if err != nil {
		return gantry.ProtectedRef{}, err
	}
	return s.store.ProtectedRef(ctx, pa.Project.ID, tag, name)
}

// ProtectRef protects r.Name (a name or a pattern with "*") in a project;
// maintainers only. Levels must be 0 (no one), 30, 40 or 60 (admins).
// Protecting a name twice is gantry.ErrConflict with GitLab's message.
func (s *Service) ProtectRef(ctx context.Context, actor auth.Actor, idOrPath string, r gantry.ProtectedRef) (gantry.ProtectedRef, error) {
	pa, err := s.Project(ctx, actor, idOrPath, auth.ManageProject)
	if err != nil {
		return gantry.ProtectedRef{}, err
	}
	if err := validateProtectedRef(r); err != nil {
		return gantry.ProtectedRef{}, err
	}
	r.ProjectID = pa.Project.ID
	if err := s.store.CreateProtectedRef(ctx, &r); err != nil {
		if errors.Is(err, gantry.ErrConflict) {
			return gantry.ProtectedRef{}, fmt.Errorf("%w: Protected %s '%s' already exists", gantry.ErrConflict, refKind(r.Tag), r.Name)
		}
		return gantry.ProtectedRef{}, err
	}
	return r, nil
}

// ProtectedRefUpdate holds the settings to change; nil means unchanged.
type ProtectedRefUpdate struct {
	PushLevel      *gantry.AccessLevel
	MergeLevel     *gantry.AccessLevel
	AllowForcePush *bool
}

// UpdateProtectedRef changes a protected branch's or tag's settings;
// maintainers only.
func (s *Service) UpdateProtectedRef(ctx context.Context, actor auth.Actor, idOrPath string, tag bool, name string, u ProtectedRefUpdate) (gantry.ProtectedRef, error) {
	r, err := s.ProtectedRef(ctx, actor, idOrPath, tag, name)
	if err != nil {
		return gantry.ProtectedRef{}, err
	}
	set(&r.PushLevel, u.PushLevel)
	set(&r.MergeLevel, u.MergeLevel)
	set(&r.AllowForcePush, u.AllowForcePush)
	if err := validateProtectedRef(r); err != nil {
		return gantry.ProtectedRef{}, err
	}
	if err := s.store.UpdateProtectedRef(ctx, r); err != nil {
		return gantry.ProtectedRef{}, err
	}
	return r, nil
}

// UnprotectRef lifts a protection; maintainers only.
func (s *Service) UnprotectRef(ctx context.Context, actor auth.Actor, idOrPath string, tag bool, name string) error {
	pa, err := s.Project(ctx, actor, idOrPath, auth.ManageProject)
	if err != nil {
		return err
	}
	return s.store.DeleteProtectedRef(ctx, pa.Project.ID, tag, name)
}

func refKind(tag bool) string {
	if tag {
		return "tag"
	}
	return "branch"
}

// ValidRefAccessLevel reports whether l may be given to a protected ref:
// GitLab allows no one, developers, maintainers and admins.
func ValidRefAccessLevel(l gantry.AccessLevel) bool {
	switch l {
	case gantry.NoAccess, gantry.Developer, gantry.Maintainer, gantry.AdminAccess:
		return true
	}
	return false
}

func validateProtectedRef(r gantry.ProtectedRef) error {
	switch {
	case r.Name == "":
		return invalid("name is missing")
	case len(r.Name) > 255:
		return invalid("name is too long (maximum is 255 characters)")
	case strings.IndexFunc(r.Name, func(c rune) bool { return unicode.IsSpace(c) || unicode.IsControl(c) }) >= 0:
		return invalid("name %q must not contain spaces or control characters", r.Name)
	case !ValidRefAccessLevel(r.PushLevel):
		field := "push_access_level"
		if r.Tag {
			field = "create_access_level"
		}
		return invalid("%s does not have a valid value", field)
	case !r.Tag && !ValidRefAccessLevel(r.MergeLevel):
		return invalid("merge_access_level does not have a valid value")
	}
	return nil
}

// protectDefaultBranch protects a new project's default branch, as GitLab
// does; if it can't, it removes the project row again.
func (s *Service) protectDefaultBranch(ctx context.Context, p gantry.Project) error {
	protect := defaultBranchProtection(p)
	if err := s.store.CreateProtectedRef(ctx, &protect); err != nil {
		if derr := s.store.DeleteProject(ctx, p.ID); derr != nil {
			s.log.Error("undo project after failed branch protection", "project", p.ID, "err", derr)
		}
		return fmt.Errorf("protect default branch of %s: %w", p.FullPath(), err)
	}
	return nil
}

// defaultBranchProtection is GitLab's default for a new project's default
// branch ("fully protected"): maintainers push and merge, no force push.
func defaultBranchProtection(p gantry.Project) gantry.ProtectedRef {
	return gantry.ProtectedRef{ProjectID: p.ID, Name: p.DefaultBranch, PushLevel: gantry.Maintainer, MergeLevel: gantry.Maintainer}
}
