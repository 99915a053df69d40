package forge

import (
	"context"
	"fmt"
	"strconv"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/store"
)

// NewGroup is what creating a group takes.
type NewGroup struct {
	Name        string
	Path        string
	ParentID    int64 // 0: top level
	Visibility  gantry.Visibility
	Description string
}

// CreateGroup creates a group owned by actor. Top-level groups may be
// created by any signed-in user; subgroups need maintainer on the parent.
// A subgroup may not be more visible than its parent.
func (s *Service) CreateGroup(ctx context.Context, actor auth.Actor, ng NewGroup) (gantry.Namespace, error) {
	if actor.Anonymous() {
		return gantry.Namespace{}, fmt.Errorf("create group: %w", gantry.ErrUnauthorized)
	}
	if ng.Visibility == "" {
		ng.Visibility = gantry.Private
	}
	if err := validateNamed(ng.Name, ng.Path, ng.Visibility, len(ng.Description)); err != nil {
		return gantry.Namespace{}, err
	}
	var parent *gantry.Namespace
	if ng.ParentID != 0 {
		ga, err := s.Group(ctx, actor, strconv.FormatInt(ng.ParentID, 10), auth.CreateSubgroup)
		if err != nil {
			return gantry.Namespace{}, err
		}
		if moreVisible(ng.Visibility, ga.Group.Visibility) {
			return gantry.Namespace{}, invalid("visibility level %s is not allowed since the parent group has a %s visibility", ng.Visibility, ga.Group.Visibility)
		}
		parent = &ga.Group
	}
	g := gantry.Namespace{Name: ng.Name, Path: ng.Path, Visibility: ng.Visibility, Description: ng.Description}
	owner := actor.User.ID
	if owner < 0 {
		owner = 0 // the system actor owns nothing
	}
	if err := s.store.CreateGroup(ctx, &g, parent, owner); err != nil {
		return gantry.Namespace{}, err
	}
	return g, nil
}

// ListGroups lists the groups actor may see.
func (s *Service) ListGroups(ctx context.Context, actor auth.Actor, f store.GroupFilter, p store.Page) ([]gantry.Namespace, int, error) {
	f.Viewer = viewer(actor)
	return s.store.ListGroups(ctx, f, p)
}

// DeleteGroup deletes an empty group; owners only.
func (s *Service) DeleteGroup(ctx context.Context, actor auth.Actor, idOrPath string) error {
	ga, err := s.Group(ctx, actor, idOrPath, auth.OwnProject)
	if err != nil {
		return err
	}
	return s.store.DeleteGroup(ctx, ga.Group.ID)
}

var visibilityRank = map[gantry.Visibility]int{gantry.Private: 0, gantry.Internal: 1, gantry.Public: 2}

func moreVisible(a, b gantry.Visibility) bool { return visibilityRank[a] > visibilityRank[b] }

func validateNamed(name, path string, vis gantry.Visibility, descLen int) error {
	if err := validateName(name); err != nil {
		return err
	}
	if err := gantry.ValidatePathSegment(path); err != nil {
		return err
	}
	if !vis.Valid() {
		return invalid("visibility %q is not one of private, internal, public", vis)
	}
	if descLen > 2000 {
		return invalid("description is too long (maximum is 2000 characters)")
	}
	return nil
}
