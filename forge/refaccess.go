package forge

import (
	"context"
	"strings"

	"github.com/gantry-ci/gantry/auth"
)

// MayRunFor reports whether the actor may run pipelines and jobs for a
// ref of the project pa (the actor's access to it): GitLab lets only
// those who may push or merge to a protected branch, or create a
// protected tag, create its pipelines and play, retry or cancel its jobs.
// For refs without protection it is true; the role the action needs is
// checked apart.
func (s *Service) MayRunFor(ctx context.Context, actor auth.Actor, pa ProjectAccess, ref string, tag bool) (bool, error) {
	name := strings.TrimPrefix(strings.TrimPrefix(ref, "refs/heads/"), "refs/tags/")
	rules, err := s.store.ProtectedRefs(ctx, pa.Project.ID, tag)
	if err != nil {
		return false, err
	}
	rules = matching(rules, name)
	if len(rules) == 0 {
		return true, nil
	}
	u := pusher{level: pa.Level, admin: actor.Admin()}
	for _, r := range rules { // the most permissive matching rule wins
		if u.may(r.PushLevel) || (!tag && u.may(r.MergeLevel)) {
			return true, nil
		}
	}
	return false, nil
}
