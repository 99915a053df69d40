package pipeline

import "github.com/gantry-ci/gantry"

// composite is GitLab's rule for the one status of a set of jobs: of a
// stage, of a pipeline, or of the jobs a job waits for. Jobs that failed or
// were canceled but may fail count as "success with warnings"; manual jobs
// that may fail (non-blocking) are ignored. With dag, any skipped or
// ignored job makes the set skipped, and anything unfinished keeps it
// pending. An empty set is success.
func composite(jobs []*gantry.Job, dag bool) (status gantry.Status, warnings bool) {
	set := map[string]bool{}
	for _, j := range jobs {
		switch {
		case j.AllowFailure && (j.Status == gantry.StatusFailed || j.Status == gantry.StatusCanceled):
			set["success_with_warnings"] = true
		case j.AllowFailure && j.Status == gantry.StatusManual:
			set["ignored"] = true
		default:
			set[string(j.Status)] = true
		}
	}
	if len(set) == 0 {
		return gantry.StatusSuccess, false
	}
	only := func(names ...string) bool {
		n := 0
		for _, name := range names {
			if set[name] {
				n++
			}
		}
		return n > 0 && n == len(set)
	}
	any := func(names ...string) bool {
		for _, name := range names {
			if set[name] {
				return true
			}
		}
		return false
	}
	return compositeStatus(dag, only, any), set["success_with_warnings"]
}

// compositeStatus is the decision table, in GitLab's order (it matters).
func compositeStatus(dag bool, only, any func(...string) bool) gantry.Status {
	const warn, ign = "success_with_warnings", "ignored"
	switch {
	case dag && any("skipped", ign):
		return gantry.StatusSkipped
	case dag && !only("success", "failed", "canceled", "skipped", warn):
		return gantry.StatusPending
	case only("skipped", ign):
		return gantry.StatusSkipped
	case only("success", "skipped", warn, ign):
		return gantry.StatusSuccess
	case only("created", warn, ign):
		return gantry.StatusCreated
	case only("preparing", warn, ign):
		return gantry.StatusPreparing
	case only("canceled", "success", "skipped", warn, ign):
		return gantry.StatusCanceled
	case only("pending", "created", "skipped", warn, ign):
		return gantry.StatusPending
	case any("running", "pending", "canceling"):
		return gantry.StatusRunning
	case any("waiting_for_resource"):
		return gantry.StatusWaitingForResource
	case any("manual"):
		return gantry.StatusManual
	case any("scheduled"):
		return gantry.StatusScheduled
	case any("preparing"):
		return gantry.StatusPreparing
	case any("created"):
		return gantry.StatusRunning
	}
	return gantry.StatusFailed
}
