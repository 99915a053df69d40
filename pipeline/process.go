package pipeline

import (
	"sort"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// advance moves every created job whose prerequisites are complete to its
// next status (pending, manual, scheduled, waiting_for_resource or
// skipped), stage by stage, jobs of a stage in needs order, so that each
// decision sees the ones before it. It then recomputes the pipeline's
// status and times. It is pure apart from the state it edits, and running
// it twice changes nothing the second time.
func advance(st *store.PipelineState, now time.Time) {
	var jobs []*gantry.Job
	for _, j := range st.Jobs {
		if !j.Retried {
			jobs = append(jobs, j)
		}
	}
	byName := make(map[string]*gantry.Job, len(jobs))
	for _, j := range jobs {
		byName[j.Name] = j
	}
	for _, j := range ordered(jobs) {
		switch j.Status {
		case gantry.StatusCreated:
			prev, ok := prerequisites(j, jobs, byName)
			if !ok {
				continue
			}
			enqueue(j, prev, st, now)
		case gantry.StatusWaitingForResource:
			queueJob(j, st, now)
		}
	}
	updatePipelineStatus(st.Pipeline, jobs, now)
}

// ordered sorts jobs by stage, and within a stage so that a job comes after
// the jobs it needs.
func ordered(jobs []*gantry.Job) []*gantry.Job {
	out := append([]*gantry.Job(nil), jobs...)
	depth := map[string]int{}
	var depthOf func(j *gantry.Job, seen map[string]bool) int
	byName := map[string]*gantry.Job{}
	for _, j := range jobs {
		byName[j.Name] = j
	}
	depthOf = func(j *gantry.Job, seen map[string]bool) int {
		if d, ok := depth[j.Name]; ok {
			return d
		}
		if seen[j.Name] {
			return 0 // a cycle; the compiler refuses them, be safe anyway
		}
		seen[j.Name] = true
		d := 0
		for _, n := range j.Needs {
			if dep, ok := byName[n]; ok && dep.StageIndex == j.StageIndex {
				d = max(d, depthOf(dep, seen)+1)
			}
		}
		depth[j.Name] = d
		return d
	}
	for _, j := range jobs {
		depthOf(j, map[string]bool{})
	}
	sort.SliceStable(out, func(a, b int) bool {
		if out[a].StageIndex != out[b].StageIndex {
			return out[a].StageIndex < out[b].StageIndex
		}
		return depth[out[a].Name] < depth[out[b].Name]
	})
	return out
}

// prerequisites returns the composite status of what j waits for, and
// whether that is complete (only then is j decided).
func prerequisites(j *gantry.Job, jobs []*gantry.Job, byName map[string]*gantry.Job) (gantry.Status, bool) {
	var prev []*gantry.Job
	if j.Needs != nil {
		for _, n := range j.Needs {
			if dep, ok := byName[n]; ok {
				prev = append(prev, dep)
			}
		}
	} else {
		for _, o := range jobs {
			if o.StageIndex < j.StageIndex {
				prev = append(prev, o)
			}
		}
	}
	status, _ := composite(prev, j.Needs != nil)
	return status, status.Completed()
}

// enqueue decides j given the status of its prerequisites, as GitLab's
// ProcessBuildService: on_success, manual and delayed jobs run after
// success (or skipped, in stage order), on_failure after failure, always
// after anything but cancellation; other jobs are skipped.
func enqueue(j *gantry.Job, prev gantry.Status, st *store.PipelineState, now time.Time) {
	valid := map[string][]gantry.Status{
		"on_success": {gantry.StatusSuccess, gantry.StatusSkipped},
		"manual":     {gantry.StatusSuccess, gantry.StatusSkipped},
		"delayed":    {gantry.StatusSuccess, gantry.StatusSkipped},
		"on_failure": {gantry.StatusFailed},
		"always":     {gantry.StatusSuccess, gantry.StatusFailed, gantry.StatusSkipped},
	}[j.When]
	if j.Needs != nil && (j.When == "on_success" || j.When == "manual" || j.When == "delayed") {
		valid = []gantry.Status{gantry.StatusSuccess}
	}
	ok := false
	for _, v := range valid {
		ok = ok || v == prev
	}
	if !ok {
		j.Status, j.FinishedAt = gantry.StatusSkipped, now
		return
	}
	switch j.When {
	case "manual":
		j.Status = gantry.StatusManual
	case "delayed":
		j.Status, j.ScheduledAt = gantry.StatusScheduled, now.Add(j.StartIn)
	default:
		queueJob(j, st, now)
	}
}

// queueJob makes j pending, or waiting for its resource group while another
// job holds it (is pending or executing): a job of another pipeline of the
// project (st.BusyResourceGroups) or of this one, as st's jobs are now, so
// a holder that ended in this transition no longer counts. It is the one
// gate of resource groups: advance, Play, retrying a manual job and
// starting a due delayed job all queue through it.
func queueJob(j *gantry.Job, st *store.PipelineState, now time.Time) {
	if j.ResourceGroup != "" && (st.BusyResourceGroups[j.ResourceGroup] || heldInPipeline(j, st.Jobs)) {
		j.Status = gantry.StatusWaitingForResource
		return
	}
	j.Status, j.QueuedAt = gantry.StatusPending, now
}

// heldInPipeline reports whether another current job of jobs holds j's
// resource group.
func heldInPipeline(j *gantry.Job, jobs []*gantry.Job) bool {
	for _, o := range jobs {
		if o != j && !o.Retried && o.ResourceGroup == j.ResourceGroup && (o.Status == gantry.StatusPending || o.Status.Executing()) {
			return true
		}
	}
	return false
}

// updatePipelineStatus sets the pipeline's status from its jobs and keeps
// started/finished times.
func updatePipelineStatus(p *gantry.Pipeline, jobs []*gantry.Job, now time.Time) {
	if p.Status == gantry.StatusFailed && p.YAMLErrors != "" {
		return // a configuration error has no jobs to consult
	}
	status, _ := composite(jobs, false)
	if len(jobs) == 0 {
		status = gantry.StatusSkipped
	}
	p.Status = status
	if p.StartedAt.IsZero() && (status == gantry.StatusRunning || status.Completed()) {
		for _, j := range jobs {
			if !j.StartedAt.IsZero() && (p.StartedAt.IsZero() || j.StartedAt.Before(p.StartedAt)) {
				p.StartedAt = j.StartedAt
			}
		}
	}
	if status.Completed() {
		if p.FinishedAt.IsZero() {
			p.FinishedAt = now
		}
	} else {
		p.FinishedAt = time.Time{}
	}
}
