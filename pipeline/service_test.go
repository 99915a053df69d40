package pipeline_test

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	blobfs "github.com/gantry-ci/gantry/blob/fs"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/store/sqlite"
	"github.com/gantry-ci/gantry/trace"
)

// harness is a pipeline service on a real SQLite store and real git
// repositories, with a clock the test moves.
type harness struct {
	t       *testing.T
	store   *store.Store
	forge   *forge.Service
	cfg     pipeline.Config // svc's
	objects *blobfs.Store   // artifact files
	logs    *trace.Service  // job logs
	svc     *pipeline.Service
	project gantry.Project
	user    gantry.User
	now     time.Time
	repo    string
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	dir := t.TempDir()
	st, err := sqlite.Open(t.Context(), filepath.Join(dir, "gantry.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := forge.New(forge.Config{Store: st, Repos: git.Storage{Root: filepath.Join(dir, "repos")}, PasswordCost: 4})
	u, err := f.CreateUser(t.Context(), forge.System(), forge.NewUser{Username: "alice", Name: "Alice", Email: "a@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	objects, err := blobfs.New(filepath.Join(dir, "objects"))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: st, forge: f, objects: objects, logs: trace.New(trace.Config{Chunks: st, Objects: objects}),
		user: u, now: time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)}
	st.SetClock(func() time.Time { return h.now })
	ns, err := st.UserNamespace(t.Context(), u.ID)
	if err == nil {
		h.project, err = f.CreateProject(t.Context(), forge.System(), forge.NewProject{Name: "app", NamespaceID: ns.ID})
	}
	if err != nil {
		t.Fatal(err)
	}
	h.repo = f.Repos().Path(h.project.ID)
	ext, _ := url.Parse("http://gantry.test")
	h.cfg = pipeline.Config{Store: st, Forge: f, Objects: objects, Logs: h.logs, ExternalURL: ext,
		Now: func() time.Time { return h.now }, SilentTimeout: time.Minute}
	h.svc = pipeline.New(h.cfg)
	return h
}

// service returns another service on the harness's store and forge, with
// the harness's settings changed by edit.
func (h *harness) service(edit func(*pipeline.Config)) *pipeline.Service {
	cfg := h.cfg
	edit(&cfg)
	return pipeline.New(cfg)
}

// push commits the CI config and pushes it to the project's repository.
func (h *harness) push(yaml string) string {
	h.t.Helper()
	wt := gittest.NewWorkTree(h.t, "main", map[string]string{".gitlab-ci.yml": yaml})
	gittest.Run(h.t, wt, "push", "-q", "--force", h.repo, "main")
	return strings.TrimSpace(gittest.Run(h.t, wt, "rev-parse", "HEAD"))
}

func (h *harness) create(yaml string) gantry.Pipeline {
	h.t.Helper()
	h.push(yaml)
	p, err := h.svc.Create(h.t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "main", Source: "push", User: h.user})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// jobs returns every attempt of every job, by id.
func (h *harness) jobs(pid int64) []gantry.Job {
	h.t.Helper()
	jobs, _, err := h.store.ListJobs(h.t.Context(), store.JobFilter{PipelineID: pid, IncludeRetried: true, Ascending: true}, store.Page{Size: 100})
	if err != nil {
		h.t.Fatal(err)
	}
	return jobs
}

func (h *harness) latest(pid int64, name string) gantry.Job {
	h.t.Helper()
	var out gantry.Job
	for _, j := range h.jobs(pid) {
		if j.Name == name && !j.Retried {
			out = j
		}
	}
	return out
}

// run claims a pending job and finishes it.
func (h *harness) run(j gantry.Job, res pipeline.Result) gantry.Job {
	h.t.Helper()
	if _, err := h.store.Claim(h.t.Context(), j.ID, 1, 0, "h"+itoa(j.ID)+itoa(int64(j.Attempt)), false, true); err != nil {
		h.t.Fatalf("claim %s: %v", j.Name, err)
	}
	done, err := h.svc.Finish(h.t.Context(), j.ID, res)
	if err != nil {
		h.t.Fatalf("finish %s: %v", j.Name, err)
	}
	return done
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

func TestRetryRules(t *testing.T) {
	h := newHarness(t)
	p := h.create("flaky:\n  script: [exit 1]\n  retry:\n    max: 2\n    when: [script_failure]\n")
	for attempt := 1; attempt <= 3; attempt++ {
		j := h.latest(p.ID, "flaky")
		if j.Attempt != attempt || j.Status != gantry.StatusPending {
			t.Fatalf("attempt %d: job is %+v", attempt, j)
		}
		h.run(j, pipeline.Result{Failed: true, FailureReason: "script_failure", ExitCode: 1})
	}
	if n := len(h.jobs(p.ID)); n != 3 {
		t.Errorf("%d attempts, want 3 (1 + max 2)", n)
	}
	if got, _ := h.store.Pipeline(t.Context(), p.ID); got.Status != gantry.StatusFailed {
		t.Errorf("pipeline is %s", got.Status)
	}

	// A reason retry: does not name is not retried.
	p = h.create("flaky:\n  script: [exit 1]\n  retry:\n    max: 2\n    when: [script_failure]\n")
	h.run(h.latest(p.ID, "flaky"), pipeline.Result{Failed: true, FailureReason: "runner_system_failure"})
	if n := len(h.jobs(p.ID)); n != 1 {
		t.Errorf("runner_system_failure was retried (%d attempts)", n)
	}
}

func TestAllowFailureExitCodes(t *testing.T) {
	h := newHarness(t)
	p := h.create("a:\n  script: [exit 3]\n  allow_failure:\n    exit_codes: [3]\nb:\n  script: [exit 4]\n  allow_failure:\n    exit_codes: [3]\n")
	a := h.run(h.latest(p.ID, "a"), pipeline.Result{Failed: true, FailureReason: "script_failure", ExitCode: 3})
	b := h.run(h.latest(p.ID, "b"), pipeline.Result{Failed: true, FailureReason: "script_failure", ExitCode: 4})
	if !a.AllowFailure || b.AllowFailure {
		t.Errorf("allow_failure: exit 3 → %v, exit 4 → %v; want true, false", a.AllowFailure, b.AllowFailure)
	}
}

func TestAutoCancelRedundant(t *testing.T) {
	h := newHarness(t)
	first := h.create("build:\n  interruptible: true\n  script: [sleep 100]\n")
	if _, err := h.store.Claim(t.Context(), h.latest(first.ID, "build").ID, 1, 0, "h1", false, true); err != nil {
		t.Fatal(err)
	}
	second := h.create("build:\n  script: [sleep 100]\n")
	if j := h.latest(first.ID, "build"); j.Status != gantry.StatusCanceling {
		t.Errorf("interruptible running job of the older pipeline is %s, want canceling", j.Status)
	}
	// A started non-interruptible job keeps its pipeline.
	if _, err := h.store.Claim(t.Context(), h.latest(second.ID, "build").ID, 1, 0, "h2", false, true); err != nil {
		t.Fatal(err)
	}
	h.create("build:\n  script: [sleep 100]\n")
	if j := h.latest(second.ID, "build"); j.Status != gantry.StatusRunning {
		t.Errorf("started non-interruptible job of the older pipeline is %s, want running", j.Status)
	}
	third := h.create("deploy:\n  script: [x]\n")
	h.create("deploy:\n  script: [y]\n")
	if got, _ := h.store.Pipeline(t.Context(), third.ID); got.Status != gantry.StatusCanceled {
		t.Errorf("redundant pending pipeline is %s, want canceled", got.Status)
	}
}

func TestDelayedJobStartsWhenDue(t *testing.T) {
	h := newHarness(t)
	p := h.create("later:\n  when: delayed\n  start_in: 30 minutes\n  script: [x]\n")
	if j := h.latest(p.ID, "later"); j.Status != gantry.StatusScheduled || !j.ScheduledAt.Equal(h.now.Add(30*time.Minute)) {
		t.Fatalf("delayed job = %s at %v", j.Status, j.ScheduledAt)
	}
	h.now = h.now.Add(31 * time.Minute)
	if err := h.svc.StartDue(t.Context()); err != nil {
		t.Fatal(err)
	}
	if j := h.latest(p.ID, "later"); j.Status != gantry.StatusPending {
		t.Errorf("due job is %s, want pending", j.Status)
	}
}

func TestSilentRunnerFailsJob(t *testing.T) {
	h := newHarness(t)
	p := h.create("build:\n  script: [x]\n  retry:\n    max: 1\n    when: runner_system_failure\n")
	j := h.latest(p.ID, "build")
	if _, err := h.store.Claim(t.Context(), j.ID, 1, 0, "h", false, true); err != nil {
		t.Fatal(err)
	}
	h.now = h.now.Add(2 * time.Minute) // past the one-minute silence limit
	if err := h.svc.FailSilent(t.Context()); err != nil {
		t.Fatal(err)
	}
	old, _ := h.store.Job(t.Context(), j.ID)
	if old.Status != gantry.StatusFailed || old.FailureReason != "runner_system_failure" || !old.Retried {
		t.Errorf("silent job = %s %q retried %v", old.Status, old.FailureReason, old.Retried)
	}
	if again := h.latest(p.ID, "build"); again.Attempt != 2 || again.Status != gantry.StatusPending {
		t.Errorf("retry = %+v", again)
	}
}

func TestReconcileAdvancesCreatedPipeline(t *testing.T) {
	h := newHarness(t)
	sha := h.push("build:\n  script: [x]\n")
	jobs := []*gantry.Job{{Name: "build", Stage: "test", Status: gantry.StatusCreated, When: "on_success", Spec: []byte("{}")}}
	p := gantry.Pipeline{ProjectID: h.project.ID, Ref: "main", SHA: sha, Source: "push", Status: gantry.StatusCreated}
	if err := h.store.CreatePipeline(t.Context(), &p, jobs, 0); err != nil { // as if the server died right after
		t.Fatal(err)
	}
	if err := h.svc.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if j := h.latest(p.ID, "build"); j.Status != gantry.StatusPending {
		t.Errorf("after reconcile the job is %s", j.Status)
	}
}

// TestReconcileRestoresPipelineRef: a pipeline whose refs/pipelines/<id>
// is missing (a crash right after storing it) gets it back at start-up,
// so that its jobs can fetch their commit.
func TestReconcileRestoresPipelineRef(t *testing.T) {
	h := newHarness(t)
	p := h.create("build:\n  script: [x]\n")
	ref := "refs/pipelines/" + itoa(p.ID)
	gittest.Run(t, h.repo, "update-ref", "-d", ref)
	if err := h.svc.Reconcile(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, err := gittest.Try(t, h.repo, "rev-parse", "--verify", ref); err != nil || strings.TrimSpace(got) != p.SHA {
		t.Errorf("%s after reconcile = %q, %v; want %s", ref, got, err, p.SHA)
	}
}

// TestStalledPipelineStarts: when keeping a new pipeline's commit fails,
// Create still returns the stored pipeline, left created, and the
// background loop starts it later: the ref is written and the jobs queued.
func TestStalledPipelineStarts(t *testing.T) {
	h := newHarness(t)
	h.push("build:\n  script: [x]\n")
	// A file where git wants the refs/pipelines folder: update-ref fails.
	blocker := filepath.Join(h.repo, "refs", "pipelines")
	if err := os.WriteFile(blocker, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	p, err := h.svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "main", Source: "push", User: h.user})
	if err != nil || p.Status != gantry.StatusCreated {
		t.Fatalf("Create = %s, %v; want a created pipeline", p.Status, err)
	}
	if err := os.Remove(blocker); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.StartStalled(t.Context()); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.Pipeline(t.Context(), p.ID); got.Status != gantry.StatusCreated {
		t.Fatalf("pipeline started as soon as it was created: %s", got.Status)
	}
	h.now = h.now.Add(2 * time.Minute)
	if err := h.svc.StartStalled(t.Context()); err != nil {
		t.Fatal(err)
	}
	if j := h.latest(p.ID, "build"); j.Status != gantry.StatusPending {
		t.Errorf("job of the stalled pipeline is %s, want pending", j.Status)
	}
	if _, err := gittest.Try(t, h.repo, "rev-parse", "--verify", "refs/pipelines/"+itoa(p.ID)); err != nil {
		t.Errorf("refs/pipelines/%d is missing: %v", p.ID, err)
	}
}
