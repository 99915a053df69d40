package pipeline

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/store"
)

// j builds a job: name, stage index, when; options set needs ("needs:a,b",
// "needs:" for needs: []), "allow", "rg:<group>".
func j(name string, stage int, when string, opts ...string) *gantry.Job {
	job := &gantry.Job{Name: name, StageIndex: stage, When: when, Status: gantry.StatusCreated}
	for _, o := range opts {
		switch {
		case o == "allow":
			job.AllowFailure = true
		case strings.HasPrefix(o, "needs:"):
			job.Needs = []string{}
			if rest := strings.TrimPrefix(o, "needs:"); rest != "" {
				job.Needs = strings.Split(rest, ",")
			}
		case strings.HasPrefix(o, "rg:"):
			job.ResourceGroup = strings.TrimPrefix(o, "rg:")
		}
	}
	return job
}

// snapshot renders job statuses and the pipeline status compactly.
func snapshot(st *store.PipelineState) string {
	var parts []string
	for _, job := range st.Jobs {
		parts = append(parts, job.Name+"="+string(job.Status))
	}
	sort.Strings(parts)
	return string(st.Pipeline.Status) + " | " + strings.Join(parts, " ")
}

// TestAdvance plays scenarios: after the initial advance and after each
// step (a job finishing with a status, or a manual job played), the
// pipeline must look as GitLab would show it.
func TestAdvance(t *testing.T) {
	type step struct {
		job    string
		status gantry.Status // finish with this; "play" plays a manual job
		want   string
	}
	cases := []struct {
		name  string
		jobs  []*gantry.Job
		want  string // after the first advance
		steps []step
	}{
		{
			name: "stages in order",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("test", 1, "on_success"), j("deploy", 2, "on_success")},
			want: "pending | build=pending deploy=created test=created",
			steps: []step{
				{"build", gantry.StatusSuccess, "running | build=success deploy=created test=pending"},
				{"test", gantry.StatusSuccess, "running | build=success deploy=pending test=success"},
				{"deploy", gantry.StatusSuccess, "success | build=success deploy=success test=success"},
			},
		},
		{
			name: "failure skips on_success and runs on_failure and always",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("test", 1, "on_success"), j("cleanup", 1, "always"), j("notify", 1, "on_failure")},
			want: "pending | build=pending cleanup=created notify=created test=created",
			steps: []step{
				{"build", gantry.StatusFailed, "running | build=failed cleanup=pending notify=pending test=skipped"},
				{"cleanup", gantry.StatusSuccess, "running | build=failed cleanup=success notify=pending test=skipped"},
				{"notify", gantry.StatusSuccess, "failed | build=failed cleanup=success notify=success test=skipped"},
			},
		},
		{
			name: "success skips on_failure",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("notify", 1, "on_failure")},
			want: "pending | build=pending notify=created",
			steps: []step{
				{"build", gantry.StatusSuccess, "success | build=success notify=skipped"},
			},
		},
		{
			name: "allowed failure passes with warnings",
			jobs: []*gantry.Job{j("lint", 0, "on_success", "allow"), j("test", 1, "on_success")},
			want: "pending | lint=pending test=created",
			steps: []step{
				{"lint", gantry.StatusFailed, "pending | lint=failed test=pending"},
				{"test", gantry.StatusSuccess, "success | lint=failed test=success"},
			},
		},
		{
			name: "non-blocking manual job does not hold later stages",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("deploy", 1, "manual", "allow"), j("verify", 2, "on_success")},
			want: "pending | build=pending deploy=created verify=created",
			steps: []step{
				{"build", gantry.StatusSuccess, "running | build=success deploy=manual verify=pending"},
				{"verify", gantry.StatusSuccess, "success | build=success deploy=manual verify=success"},
				{"deploy", "play", "running | build=success deploy=pending verify=success"},
				{"deploy", gantry.StatusSuccess, "success | build=success deploy=success verify=success"},
			},
		},
		{
			name: "blocking manual job holds later stages",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("approve", 1, "manual"), j("deploy", 2, "on_success")},
			want: "pending | approve=created build=pending deploy=created",
			steps: []step{
				{"build", gantry.StatusSuccess, "manual | approve=manual build=success deploy=created"},
				{"approve", "play", "running | approve=pending build=success deploy=created"},
				{"approve", gantry.StatusSuccess, "running | approve=success build=success deploy=pending"},
			},
		},
		{
			name: "needs start a job before its stage is reached",
			jobs: []*gantry.Job{j("a", 0, "on_success"), j("b", 0, "on_success"), j("c", 1, "on_success"), j("d", 2, "on_success", "needs:a")},
			want: "pending | a=pending b=pending c=created d=created",
			steps: []step{
				{"a", gantry.StatusSuccess, "running | a=success b=pending c=created d=pending"},
				{"d", gantry.StatusSuccess, "running | a=success b=pending c=created d=success"},
				{"b", gantry.StatusSuccess, "running | a=success b=success c=pending d=success"},
			},
		},
		{
			name: "needs nothing starts at once; a skipped need skips",
			jobs: []*gantry.Job{j("a", 0, "on_success"), j("lint", 1, "on_success", "needs:"), j("b", 1, "on_success", "needs:a"), j("c", 2, "on_success", "needs:b")},
			want: "pending | a=pending b=created c=created lint=pending",
			steps: []step{
				{"a", gantry.StatusFailed, "running | a=failed b=skipped c=skipped lint=pending"},
				{"lint", gantry.StatusSuccess, "failed | a=failed b=skipped c=skipped lint=success"},
			},
		},
		{
			name: "same-stage needs wait for each other",
			jobs: []*gantry.Job{j("a", 0, "on_success"), j("b", 0, "on_success", "needs:a")},
			want: "pending | a=pending b=created",
			steps: []step{
				{"a", gantry.StatusSuccess, "running | a=success b=pending"},
			},
		},
		{
			name: "delayed job is scheduled",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("later", 1, "delayed")},
			want: "pending | build=pending later=created",
			steps: []step{
				{"build", gantry.StatusSuccess, "scheduled | build=success later=scheduled"},
			},
		},
		{
			name: "one job at a time per resource group",
			jobs: []*gantry.Job{j("deploy-a", 0, "on_success", "rg:prod"), j("deploy-b", 0, "on_success", "rg:prod")},
			want: "running | deploy-a=pending deploy-b=waiting_for_resource",
			steps: []step{
				{"deploy-a", gantry.StatusSuccess, "running | deploy-a=success deploy-b=pending"},
			},
		},
		{
			name: "a resource group held by a job later in processing order",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("deploy", 0, "on_success", "needs:build", "rg:prod"),
				j("smoke", 1, "on_success", "needs:", "rg:prod")},
			want: "pending | build=pending deploy=created smoke=pending",
			steps: []step{
				{"build", gantry.StatusSuccess, "running | build=success deploy=waiting_for_resource smoke=pending"},
				{"smoke", gantry.StatusSuccess, "running | build=success deploy=pending smoke=success"},
			},
		},
		{
			name: "canceled earlier stage skips later jobs",
			jobs: []*gantry.Job{j("build", 0, "on_success"), j("test", 1, "always")},
			want: "pending | build=pending test=created",
			steps: []step{
				{"build", gantry.StatusCanceled, "canceled | build=canceled test=skipped"},
			},
		},
	}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := &store.PipelineState{Pipeline: &gantry.Pipeline{Status: gantry.StatusCreated}, Jobs: c.jobs, BusyResourceGroups: map[string]bool{}}
			advance(st, now)
			if got := snapshot(st); got != c.want {
				t.Fatalf("initially:\n got %s\nwant %s", got, c.want)
			}
			for i, s := range c.steps {
				job := find(st.Jobs, s.job)
				if s.status == "play" {
					if job.Status != gantry.StatusManual {
						t.Fatalf("step %d: %s is %s, not manual", i, s.job, job.Status)
					}
					job.Status = gantry.StatusCreated
					job.When = "on_success"
				} else {
					job.Status = s.status
				}
				advance(st, now)
				if got := snapshot(st); got != s.want {
					t.Fatalf("after %s %s:\n got %s\nwant %s", s.job, s.status, got, s.want)
				}
			}
			before := snapshot(st)
			advance(st, now)
			if after := snapshot(st); after != before {
				t.Errorf("advance is not idempotent: %s then %s", before, after)
			}
		})
	}
}

func find(jobs []*gantry.Job, name string) *gantry.Job {
	for _, job := range jobs {
		if job.Name == name {
			return job
		}
	}
	panic(fmt.Sprintf("no job %q", name))
}
