// Package queue decides which pending job a runner gets, and holds runner
// requests in a long poll until a job they can take becomes pending.
package queue

import (
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// Matches reports whether runner r may run job j: the runner is not
// paused; its scope covers the job's project (instance runners every
// project, group runners the group's subtree, project runners their
// projects); a ref-protected runner only takes jobs of protected refs; the
// runner has every tag the job asks for, and a job without tags needs a
// runner that runs untagged jobs.
func Matches(r gantry.Runner, j store.QueuedJob) bool {
	if r.Paused || (r.RefProtectedOnly && !j.Protected) {
		return false
	}
	switch r.Type {
	case gantry.InstanceRunner:
	case gantry.GroupRunner:
		if !strings.Contains(j.Ancestry, "/"+strconv.FormatInt(r.GroupID, 10)+"/") {
			return false
		}
	case gantry.ProjectRunner:
		if !slices.Contains(r.ProjectIDs, j.ProjectID) {
			return false
		}
	default:
		return false
	}
	if len(j.Tags) == 0 {
		return r.RunUntagged
	}
	for _, t := range j.Tags {
		if !slices.Contains(r.Tags, t) {
			return false
		}
	}
	return true
}

// OnlineWindow is how recently a runner must have called to be online
// (GitLab's runner online contact timeout).
const OnlineWindow = 2 * time.Hour

// Stuck reports whether j is stuck as GitLab shows it: no runner among
// runners that is online at now may run it.
func Stuck(j store.QueuedJob, runners []gantry.Runner, now time.Time) bool {
	for _, r := range runners {
		if !r.ContactedAt.IsZero() && now.Sub(r.ContactedAt) < OnlineWindow && Matches(r, j) {
			return false
		}
	}
	return true
}
