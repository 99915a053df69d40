package forge

import (
	"context"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/smarthttp"
)

// GitLab's messages for refused pushes, word for word: scripts and people
// search for them.
const (
	msgPushProtected      = "You are not allowed to push code to protected branches on this project."
	msgCreateProtected    = "You are not allowed to create protected branches on this project."
	msgDeleteDefault      = "The default branch of a project cannot be deleted."
	msgDeleteProtected    = "You are not allowed to delete protected branches from this project. Only a project maintainer or owner can delete a protected branch."
	msgDeleteProtectedGit = "You can only delete protected branches using the web interface."
	msgUpdateTag          = "Protected tags cannot be updated."
	msgDeleteTag          = "You are not allowed to delete protected tags from this project. Only a project maintainer or owner can delete a protected tag."
	msgDeleteTagGit       = "You can only delete protected tags using the web interface."
	msgCreateTag          = "You are not allowed to create this tag as it is protected."
	msgTagIsDefaultBranch = "You cannot use default branch name to create a tag"
)

// pusher is who pushes, as far as protected refs care.
type pusher struct {
	level gantry.AccessLevel
	admin bool
}

// may reports whether the pusher reaches a protected ref's access level.
// "No one" (0) stops everybody, admins included; level 60 admits admins
// only; otherwise admins count as owners.
func (u pusher) may(level gantry.AccessLevel) bool {
	switch {
	case level == gantry.NoAccess:
		return false
	case level == gantry.AdminAccess:
		return u.admin
	}
	return u.admin || u.level >= level
}

// checkUpdates applies the project's protected branches and tags to a
// push, as GitLab's pre-receive checks do: the first refused command
// refuses the whole push. It returns the updated protected branches that
// don't allow force pushes, which must be fast-forwards.
func (s *Service) checkUpdates(ctx context.Context, p gantry.Project, u pusher, cmds []smarthttp.RefCommand) ([]string, error) {
	branches, err := s.store.ProtectedRefs(ctx, p.ID, false)
	if err != nil {
		return nil, err
	}
	tags, err := s.store.ProtectedRefs(ctx, p.ID, true)
	if err != nil {
		return nil, err
	}
	var ffOnly []string
	for _, c := range cmds {
		if name, ok := strings.CutPrefix(c.Ref, "refs/heads/"); ok {
			ff, err := checkBranch(p, u, matching(branches, name), name, c)
			if err != nil {
				return nil, err
			}
			if ff {
				ffOnly = append(ffOnly, c.Ref)
			}
		} else if name, ok := strings.CutPrefix(c.Ref, "refs/tags/"); ok {
			if err := checkTag(p, u, matching(tags, name), name, c); err != nil {
				return nil, err
			}
		}
	}
	return ffOnly, nil
}

// checkBranch vets one branch command against the rules matching it and
// reports whether it must be a fast-forward.
func checkBranch(p gantry.Project, u pusher, rules []gantry.ProtectedRef, name string, c smarthttp.RefCommand) (bool, error) {
	refuse := func(msg string) (bool, error) {
		return false, &smarthttp.RefusedError{Ref: c.Ref, Reason: "protected branch", Message: msg}
	}
	if c.Delete() && name == p.DefaultBranch {
		return false, &smarthttp.RefusedError{Ref: c.Ref, Reason: "default branch", Message: msgDeleteDefault}
	}
	if len(rules) == 0 {
		return false, nil
	}
	canPush, canForce := false, false
	for _, r := range rules { // the most permissive matching rule wins
		canPush = canPush || u.may(r.PushLevel)
		canForce = canForce || r.AllowForcePush
	}
	switch {
	case c.Delete() && (u.admin || u.level >= gantry.Maintainer):
		return refuse(msgDeleteProtectedGit)
	case c.Delete():
		return refuse(msgDeleteProtected)
	case canPush:
		return !c.Create() && !canForce, nil
	case p.Empty:
		return refuse("A default branch (e.g. " + p.DefaultBranch + ") does not yet exist for " + p.FullPath() +
			"\nAsk a project Owner or Maintainer to create a default branch.")
	case c.Create():
		return refuse(msgCreateProtected)
	}
	return refuse(msgPushProtected)
}

// checkTag vets one tag command against the rules matching it.
func checkTag(p gantry.Project, u pusher, rules []gantry.ProtectedRef, name string, c smarthttp.RefCommand) error {
	refuse := func(msg string) error {
		return &smarthttp.RefusedError{Ref: c.Ref, Reason: "protected tag", Message: msg}
	}
	if c.Create() && name == p.DefaultBranch {
		return &smarthttp.RefusedError{Ref: c.Ref, Reason: "tag named like the default branch", Message: msgTagIsDefaultBranch}
	}
	if len(rules) == 0 {
		return nil
	}
	switch {
	case c.Delete() && (u.admin || u.level >= gantry.Maintainer):
		return refuse(msgDeleteTagGit)
	case c.Delete():
		return refuse(msgDeleteTag)
	case !c.Create():
		return refuse(msgUpdateTag)
	}
	for _, r := range rules {
		if u.may(r.PushLevel) {
			return nil
		}
	}
	return refuse(msgCreateTag)
}
