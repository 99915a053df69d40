package pipeline_test

import (
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/pipeline"
)

// TestResourceGroupWithinPipeline: every way a job is queued (playing it,
// retrying a manual job, a delayed job coming due) respects a resource
// group held by another job of the same pipeline, and the waiting job is
// queued once the holder ends.
func TestResourceGroupWithinPipeline(t *testing.T) {
	const twoManual = "a:\n  when: manual\n  resource_group: prod\n  script: [x]\n" +
		"b:\n  when: manual\n  resource_group: prod\n  script: [x]\n"
	cases := []struct {
		name string
		yaml string
		// queue makes a hold prod and then tries to queue b.
		queue func(t *testing.T, h *harness, p gantry.Pipeline)
	}{
		{"play both", twoManual, func(t *testing.T, h *harness, p gantry.Pipeline) {
			h.play(h.latest(p.ID, "a"))
			h.play(h.latest(p.ID, "b"))
		}},
		{"retry a manual job", twoManual, func(t *testing.T, h *harness, p gantry.Pipeline) {
			h.run(h.play(h.latest(p.ID, "b")), pipeline.Result{})
			h.play(h.latest(p.ID, "a"))
			if _, err := h.svc.Retry(t.Context(), h.latest(p.ID, "b").ID, h.user.ID); err != nil {
				t.Fatal(err)
			}
		}},
		{"a delayed job comes due", "a:\n  when: manual\n  resource_group: prod\n  script: [x]\n" +
			"b:\n  when: delayed\n  start_in: 1 minute\n  resource_group: prod\n  script: [x]\n",
			func(t *testing.T, h *harness, p gantry.Pipeline) {
				h.play(h.latest(p.ID, "a"))
				h.now = h.now.Add(2 * time.Minute)
				if err := h.svc.StartDue(t.Context()); err != nil {
					t.Fatal(err)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := newHarness(t)
			p := h.create(c.yaml)
			c.queue(t, h, p)
			a, b := h.latest(p.ID, "a"), h.latest(p.ID, "b")
			if a.Status != gantry.StatusPending || b.Status != gantry.StatusWaitingForResource {
				t.Fatalf("a is %s, b is %s; want pending and waiting_for_resource", a.Status, b.Status)
			}
			h.run(a, pipeline.Result{})
			if b = h.latest(p.ID, "b"); b.Status != gantry.StatusPending {
				t.Errorf("after a ended, b is %s; want pending", b.Status)
			}
		})
	}
}

// play plays a manual job as the harness's user.
func (h *harness) play(j gantry.Job) gantry.Job {
	h.t.Helper()
	played, err := h.svc.Play(h.t.Context(), j.ID, h.user.ID)
	if err != nil {
		h.t.Fatalf("play %s: %v", j.Name, err)
	}
	return played
}
