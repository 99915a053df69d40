package storetest

import (
	"fmt"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/store"
)

// testQueuedJobs: QueuedJobs returns, for every kind of runner, exactly
// the pending, unclaimed jobs queue.Matches lets it run, oldest first,
// in pages.
func testQueuedJobs(t *testing.T, s *store.Store) {
	ctx := t.Context()
	owner := MustUser(t, s, "owner", false)
	top := MustGroup(t, s, "top", nil, gantry.Private, owner.ID)
	sub := MustGroup(t, s, "sub", &top, gantry.Private, owner.ID)
	elsewhere := MustGroup(t, s, "elsewhere", nil, gantry.Private, owner.ID)
	app := MustProject(t, s, sub, "app", gantry.Private)
	lib := MustProject(t, s, elsewhere, "lib", gantry.Private)
	var jobs []*gantry.Job
	job := func(p gantry.Project, protected bool, status gantry.Status, tags ...string) {
		j := &gantry.Job{Tags: tags, Protected: protected, Status: status}
		MustPipeline(t, s, p, j)
		jobs = append(jobs, j)
	}
	for _, p := range []gantry.Project{app, lib} {
		for _, protected := range []bool{false, true} {
			job(p, protected, gantry.StatusPending)
			job(p, protected, gantry.StatusPending, "docker")
			job(p, protected, gantry.StatusPending, "docker", "linux")
			job(p, protected, gantry.StatusPending, "gpu")
			job(p, protected, gantry.StatusPending, "Docker") // tags are case-sensitive
		}
		job(p, false, gantry.StatusCreated)
		job(p, false, gantry.StatusPending, "docker", "docker") // a tag twice
	}
	claimed := &gantry.Job{}
	MustPipeline(t, s, app, claimed)
	if _, err := s.Claim(ctx, claimed.ID, 1, 0, "claimed", true, false); err != nil {
		t.Fatal(err)
	}
	runners := []gantry.Runner{
		{Type: gantry.InstanceRunner, RunUntagged: true},
		{Type: gantry.InstanceRunner},
		{Type: gantry.InstanceRunner, Tags: []string{"docker"}},
		{Type: gantry.InstanceRunner, Tags: []string{"docker", "linux"}, RunUntagged: true},
		{Type: gantry.InstanceRunner, Tags: []string{"linux", "docker", "gpu", "Docker"}},
		{Type: gantry.InstanceRunner, Tags: []string{"docker"}, RunUntagged: true, RefProtectedOnly: true},
		{Type: gantry.InstanceRunner, RunUntagged: true, Paused: true},
		{Type: gantry.GroupRunner, GroupID: top.ID, RunUntagged: true, Tags: []string{"docker"}},
		{Type: gantry.GroupRunner, GroupID: sub.ID, RunUntagged: true},
		{Type: gantry.GroupRunner, GroupID: elsewhere.ID, Tags: []string{"gpu"}},
		{Type: gantry.GroupRunner, GroupID: 99999, RunUntagged: true},
		{Type: gantry.ProjectRunner, ProjectIDs: []int64{lib.ID}, RunUntagged: true, Tags: []string{"docker"}},
		{Type: gantry.ProjectRunner, ProjectIDs: []int64{app.ID, lib.ID}, RunUntagged: true, RefProtectedOnly: true},
		{Type: gantry.ProjectRunner, RunUntagged: true},
		{Type: "unknown", RunUntagged: true},
	}
	for i, r := range runners {
		t.Run(fmt.Sprintf("%d %s %v untagged=%v protected=%v", i, r.Type, r.Tags, r.RunUntagged, r.RefProtectedOnly), func(t *testing.T) {
			var want []int64
			for _, j := range jobs {
				if qj, err := s.QueuedJobByID(ctx, j.ID); err == nil && queue.Matches(r, qj) {
					want = append(want, j.ID)
				}
			}
			var got []int64
			for after := int64(0); ; {
				page, err := s.QueuedJobs(ctx, r, after, 3)
				if err != nil {
					t.Fatal(err)
				}
				for _, qj := range page {
					got, after = append(got, qj.ID), qj.ID
				}
				if len(page) < 3 {
					break
				}
			}
			if !cmp.Equal(got, want) {
				t.Errorf("QueuedJobs disagrees with queue.Matches:\n%s", cmp.Diff(want, got))
			}
		})
	}
}
