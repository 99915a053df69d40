package auth

import (
	"errors"

	"github.com/gantry-ci/gantry"
)

// Action is something an actor may want to do to a project or group.
type Action int

// Actions on projects and groups.
const (
	// ReadProject: know the project or group exists and read its metadata.
	ReadProject Action = iota
	// ReadCode: clone, fetch, browse files, branches and tags.
	ReadCode
	// PushCode: push to the repository (unprotected refs).
	PushCode
	// ManageProject: change settings, members, CI/CD variables, runners.
	ManageProject
	// OwnProject: delete, change visibility, transfer.
	OwnProject
	// CreateProject: create a project in a group.
	CreateProject
	// CreateSubgroup: create a subgroup of a group.
	CreateSubgroup
)

var actionNames = [...]string{"read", "read code", "push", "manage", "own", "create project", "create subgroup"}

func (a Action) String() string {
	if int(a) < len(actionNames) {
		return actionNames[a]
	}
	return "unknown action"
}

// Can is the one permission function: whether actor, whose effective role
// on the project or group is level (auth.Store.AccessLevel), may do action
// on a thing with visibility vis. It follows GitLab's defaults: public
// things are readable by everyone, internal ones by every signed-in user,
// private ones by members; guests of private projects see no code; pushing
// needs developer, settings maintainer, deletion owner; admins may do all.
func Can(actor Actor, action Action, vis gantry.Visibility, level gantry.AccessLevel) bool {
	if actor.Admin() {
		return true
	}
	switch action {
	case ReadProject:
		return visibleTo(actor, vis) || level >= gantry.Guest
	case ReadCode:
		return visibleTo(actor, vis) || level >= gantry.Reporter
	case PushCode, CreateProject:
		return level >= gantry.Developer
	case ManageProject, CreateSubgroup:
		return level >= gantry.Maintainer
	case OwnProject:
		return level >= gantry.Owner
	}
	return false
}

func visibleTo(actor Actor, vis gantry.Visibility) bool {
	switch vis {
	case gantry.Public:
		return true
	case gantry.Internal:
		return !actor.Anonymous()
	}
	return false
}

func isNotFound(err error) bool { return errors.Is(err, gantry.ErrNotFound) }
