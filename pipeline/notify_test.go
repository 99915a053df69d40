package pipeline_test

import (
	"net/url"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
)

// recorder is a Notifier that remembers which jobs it was told about.
type recorder struct {
	mu  sync.Mutex
	ids []int64
}

func (r *recorder) Notify(jobs ...store.QueuedJob) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, j := range jobs {
		r.ids = append(r.ids, j.ID)
	}
}

func (r *recorder) told(id int64) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Contains(r.ids, id)
}

// TestPendingJobsAreAnnounced: every way a job becomes pending tells the
// queue, or runners in a long poll never hear of it (a played manual job
// then waited forever with an idle runner).
func TestPendingJobsAreAnnounced(t *testing.T) {
	h := newHarness(t)
	rec := &recorder{}
	f := forge.New(forge.Config{Store: h.store, Repos: git.Storage{Root: filepath.Dir(h.repo)}, PasswordCost: 4})
	ext, _ := url.Parse("http://gantry.test")
	h.svc = pipeline.New(pipeline.Config{Store: h.store, Forge: f, ExternalURL: ext, Notifier: rec,
		Now: func() time.Time { return h.now }})
	p := h.create("build:\n  script: [x]\ndeploy:\n  when: manual\n  script: [x]\nlater:\n  when: delayed\n  start_in: 5 minutes\n  script: [x]\n")
	ctx := t.Context()

	if build := h.latest(p.ID, "build"); !rec.told(build.ID) {
		t.Errorf("a job queued by the pipeline's creation was not announced")
	}
	deploy := h.latest(p.ID, "deploy")
	if _, err := h.svc.Play(ctx, deploy.ID, h.user.ID); err != nil {
		t.Fatal(err)
	}
	if !rec.told(deploy.ID) {
		t.Errorf("a played manual job was not announced")
	}
	h.now = h.now.Add(6 * time.Minute)
	if err := h.svc.StartDue(ctx); err != nil {
		t.Fatal(err)
	}
	if later := h.latest(p.ID, "later"); !rec.told(later.ID) {
		t.Errorf("a delayed job that came due was not announced (%s)", later.Status)
	}
	h.run(h.latest(p.ID, "deploy"), pipeline.Result{})
	again, err := h.svc.Retry(ctx, deploy.ID, h.user.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !rec.told(again.ID) {
		t.Errorf("a retried manual job (queued at once) was not announced")
	}
}
