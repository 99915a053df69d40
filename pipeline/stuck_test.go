package pipeline_test

import (
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
)

// TestUnconfirmedClaimDeadline: a claimed job must be confirmed within
// ConfirmTimeout (1 minute here) of the claim; the runner touching the job
// meanwhile (pending keep-alives, log patches) does not extend that.
func TestUnconfirmedClaimDeadline(t *testing.T) {
	h := newHarness(t)
	p := h.create("a:\n  script: [x]\nb:\n  script: [x]\n")
	a, b := h.latest(p.ID, "a"), h.latest(p.ID, "b")
	for _, j := range []gantry.Job{a, b} {
		if _, err := h.store.Claim(t.Context(), j.ID, 1, 0, "h"+j.Name, true, true); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := h.svc.Confirm(t.Context(), b.ID); err != nil {
		t.Fatal(err)
	}
	for range 4 { // two minutes of keep-alives every 30 s
		h.now = h.now.Add(30 * time.Second)
		for _, j := range []gantry.Job{a, b} {
			if err := h.store.TouchJob(t.Context(), j.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := h.svc.FailSilent(t.Context()); err != nil {
			t.Fatal(err)
		}
	}
	if a = h.latest(p.ID, "a"); a.Status != gantry.StatusPending || a.RunnerID != 0 {
		t.Errorf("unconfirmed job two minutes after its claim: %s, runner %d; want pending, back in the queue", a.Status, a.RunnerID)
	}
	if b = h.latest(p.ID, "b"); b.Status != gantry.StatusRunning || b.RunnerID != 1 {
		t.Errorf("confirmed job: %s, runner %d; want running", b.Status, b.RunnerID)
	}
}

// TestDropStuck: jobs that wait for a runner too long fail with
// stuck_or_timeout_failure, as GitLab's stuck-builds worker drops them:
// after an hour when no online runner may take them, after a day anyway.
func TestDropStuck(t *testing.T) {
	const tagged = "j:\n  tags: [gpu]\n  script: [x]\n"
	const untagged = "j:\n  script: [x]\n"
	cases := []struct {
		name    string
		yaml    string
		runner  bool // an online instance runner for untagged jobs
		wait    time.Duration
		want    gantry.Status
		attempt int // of the latest job
	}{
		{"no runner for it, within the hour", tagged, false, 59 * time.Minute, gantry.StatusPending, 1},
		{"no runner for it, past the hour", tagged, false, 61 * time.Minute, gantry.StatusFailed, 1},
		{"a runner could take it, past the hour", untagged, true, 61 * time.Minute, gantry.StatusPending, 1},
		{"a runner could take it, past the day", untagged, true, 25 * time.Hour, gantry.StatusFailed, 1},
		{"an offline runner does not count", untagged, false, 61 * time.Minute, gantry.StatusFailed, 1},
		{"every stuck job of a pipeline", tagged + "k:\n  tags: [gpu]\n  script: [x]\n", false, 61 * time.Minute, gantry.StatusFailed, 1},
		{"retried on stuck_or_timeout_failure", "j:\n  tags: [gpu]\n  script: [x]\n  retry:\n    max: 1\n    when: stuck_or_timeout_failure\n",
			false, 61 * time.Minute, gantry.StatusPending, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			r := gantry.Runner{Type: gantry.InstanceRunner, RunUntagged: true}
			if err := h.store.CreateRunner(t.Context(), &r, "runner-hash", false); err != nil {
				t.Fatal(err)
			}
			p := h.create(c.yaml)
			h.now = h.now.Add(c.wait)
			if c.runner { // it polls, it is just always busy
				if _, err := h.store.SeenRunner(t.Context(), gantry.RunnerManager{RunnerID: r.ID, SystemID: "s"}); err != nil {
					t.Fatal(err)
				}
			}
			if err := h.svc.DropStuck(t.Context()); err != nil {
				t.Fatal(err)
			}
			for _, j := range h.jobs(p.ID) {
				switch {
				case !j.Retried && (j.Status != c.want || j.Attempt != c.attempt):
					t.Errorf("job %s is %s (attempt %d, %q); want %s (attempt %d)", j.Name, j.Status, j.Attempt, j.FailureReason, c.want, c.attempt)
				case (j.Retried || j.Status == gantry.StatusFailed) && j.FailureReason != "stuck_or_timeout_failure":
					t.Errorf("dropped job %s failed with %q", j.Name, j.FailureReason)
				}
			}
		})
	}
}
