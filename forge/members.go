package forge

import (
	"context"
	"fmt"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/store"
)

// MemberTarget says whose members are meant: a project or a group.
type MemberTarget struct {
	Group    bool
	IDOrPath string
}

// source checks that actor may do action on the target and returns it as a
// store.Source with the actor's role.
func (s *Service) source(ctx context.Context, actor auth.Actor, t MemberTarget, action auth.Action) (store.Source, gantry.AccessLevel, error) {
	if t.Group {
		if action == auth.ManageProject {
			action = auth.OwnProject // group members are the owners' business
		}
		ga, err := s.Group(ctx, actor, t.IDOrPath, action)
		return store.GroupSource(ga.Group.ID), ga.Level, err
	}
	pa, err := s.Project(ctx, actor, t.IDOrPath, action)
	return store.ProjectSource(pa.Project.ID), pa.Level, err
}

// ListMembers lists a project's or group's members (with inherited, also
// those of ancestor groups). Anyone who can see the target may.
func (s *Service) ListMembers(ctx context.Context, actor auth.Actor, t MemberTarget, inherited bool, p store.Page) ([]gantry.Member, int, error) {
	src, _, err := s.source(ctx, actor, t, auth.ReadProject)
	if err != nil {
		return nil, 0, err
	}
	return s.store.ListMembers(ctx, src, inherited, p)
}

// Member returns one member of a project or group.
func (s *Service) Member(ctx context.Context, actor auth.Actor, t MemberTarget, userID int64, inherited bool) (gantry.Member, error) {
	src, _, err := s.source(ctx, actor, t, auth.ReadProject)
	if err != nil {
		return gantry.Member{}, err
	}
	return s.store.Member(ctx, src, userID, inherited)
}

// SetMember adds (create) or changes a membership. Maintainers manage
// project members but, as in GitLab, neither hand out a role above their
// own nor change a member whose role is above theirs (only owners manage
// owners); group members are managed by owners.
func (s *Service) SetMember(ctx context.Context, actor auth.Actor, t MemberTarget, userID int64, level gantry.AccessLevel, expires time.Time, create bool) (gantry.Member, error) {
	if !level.Valid() {
		return gantry.Member{}, invalid("access_level %d is not one of 10, 20, 30, 40, 50", int(level))
	}
	if !expires.IsZero() && !expires.After(time.Now()) {
		return gantry.Member{}, invalid("expires_at must be in the future")
	}
	src, own, err := s.source(ctx, actor, t, auth.ManageProject)
	if err != nil {
		return gantry.Member{}, err
	}
	if level > own && !actor.Admin() {
		return gantry.Member{}, fmt.Errorf("grant access level %d above your own: %w", int(level), gantry.ErrForbidden)
	}
	if _, err := s.store.User(ctx, userID); err != nil {
		return gantry.Member{}, err
	}
	if !create {
		if err := s.mayManageMember(ctx, actor, src, own, userID); err != nil {
			return gantry.Member{}, err
		}
	}
	exp := int64(0)
	if !expires.IsZero() {
		exp = expires.UnixMicro()
	}
	if create {
		err = s.store.AddMember(ctx, src, userID, level, exp)
	} else {
		err = s.store.UpdateMember(ctx, src, userID, level, exp)
	}
	if err != nil {
		return gantry.Member{}, err
	}
	return s.store.Member(ctx, src, userID, false)
}

// RemoveMember ends a direct membership; like SetMember, only owners may
// remove an owner.
func (s *Service) RemoveMember(ctx context.Context, actor auth.Actor, t MemberTarget, userID int64) error {
	src, own, err := s.source(ctx, actor, t, auth.ManageProject)
	if err != nil {
		return err
	}
	if err := s.mayManageMember(ctx, actor, src, own, userID); err != nil {
		return err
	}
	return s.store.RemoveMember(ctx, src, userID)
}

// mayManageMember refuses (gantry.ErrForbidden) to let an actor whose role
// is own change or remove the direct member userID of src when that
// member's role is above own. No (or an expired) membership has no role to
// protect: the store's update or removal then decides.
func (s *Service) mayManageMember(ctx context.Context, actor auth.Actor, src store.Source, own gantry.AccessLevel, userID int64) error {
	m, err := s.store.Member(ctx, src, userID, false)
	if isNotFound(err) {
		return nil
	} else if err != nil {
		return err
	}
	if m.AccessLevel > own && !actor.Admin() {
		return fmt.Errorf("manage a member with access level %d above your own: %w", int(m.AccessLevel), gantry.ErrForbidden)
	}
	return nil
}
