package pipeline_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/blob/blobtest"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
	"github.com/gantry-ci/gantry/trace"
)

// TestDeletePipeline: deleting a pipeline deletes its jobs' artifact
// files and logs (archived or not) and its refs/pipelines ref, and a job
// of another pipeline waiting for a resource group it held gets it.
func TestDeletePipeline(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	doomed := h.create("build:\n  script: [x]\ndeploy:\n  resource_group: prod\n  script: [x]\n")
	build, deploy := h.latest(doomed.ID, "build"), h.latest(doomed.ID, "deploy")
	art := h.artifact(build, time.Time{})
	h.log(build, true)
	h.run(build, pipeline.Result{})
	if _, err := h.store.Claim(ctx, deploy.ID, 1, 0, "hd", false, true); err != nil {
		t.Fatal(err)
	}
	h.log(deploy, false)
	waiting := h.create("deploy:\n  resource_group: prod\n  script: [x]\n")
	if j := h.latest(waiting.ID, "deploy"); j.Status != gantry.StatusWaitingForResource {
		t.Fatalf("the other pipeline's deploy is %s, want waiting_for_resource", j.Status)
	}

	if err := h.svc.Delete(ctx, doomed.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.store.Pipeline(ctx, doomed.ID); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("deleted pipeline: %v", err)
	}
	if j := h.latest(waiting.ID, "deploy"); j.Status != gantry.StatusPending {
		t.Errorf("the job waiting for prod is %s, want pending", j.Status)
	}
	h.wantGone(art, build.ID, deploy.ID)
	refs, err := h.forge.Repos().Repo(h.project.ID).Refs(ctx, "refs/pipelines/")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := refs[fmt.Sprintf("refs/pipelines/%d", doomed.ID)]; ok || len(refs) != 1 {
		t.Errorf("refs/pipelines after the delete: %v", refs)
	}
}

// TestDeleteProjectStorage: deleting a project leaves no artifact files or
// logs once housekeeping ran.
func TestDeleteProjectStorage(t *testing.T) {
	h := newHarness(t)
	p := h.create("build:\n  script: [x]\n")
	build := h.latest(p.ID, "build")
	art := h.artifact(build, time.Time{})
	h.log(build, true)
	h.run(build, pipeline.Result{})
	if err := h.forge.DeleteProject(t.Context(), forge.System(), h.project.FullPath()); err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Housekeep(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.wantGone(art, build.ID)
}

// TestArtifactsExpire: housekeeping deletes artifacts past their expire_in
// (record and file) and keeps the others.
func TestArtifactsExpire(t *testing.T) {
	h := newHarness(t)
	p := h.create("a:\n  script: [x]\nb:\n  script: [x]\nc:\n  script: [x]\n")
	a, b, c := h.latest(p.ID, "a"), h.latest(p.ID, "b"), h.latest(p.ID, "c")
	expired, later, never := h.artifact(a, h.now.Add(time.Hour)), h.artifact(b, h.now.Add(3*time.Hour)), h.artifact(c, time.Time{})
	h.now = h.now.Add(2 * time.Hour)
	if err := h.svc.Housekeep(t.Context()); err != nil {
		t.Fatal(err)
	}
	h.wantGone(expired)
	if _, err := h.store.Artifact(t.Context(), a.ID, "archive"); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("record of the expired artifact: %v", err)
	}
	for _, key := range []string{later, never} {
		blobtest.MustGet(t, h.objects, key)
	}
}

// artifact stores an archive for j, expiring at expire, and returns its key.
func (h *harness) artifact(j gantry.Job, expire time.Time) string {
	h.t.Helper()
	key := fmt.Sprintf("artifacts/%d/archive.zip", j.ID)
	blobtest.MustPut(h.t, h.objects, key, []byte("zip of "+j.Name))
	a := store.Artifact{JobID: j.ID, FileType: "archive", Format: "zip", Filename: "artifacts.zip", Size: 1, BlobKey: key, ExpireAt: expire}
	if _, err := h.store.PutArtifact(h.t.Context(), &a); err != nil {
		h.t.Fatal(err)
	}
	return key
}

// log writes a log for j, archived or still in chunks.
func (h *harness) log(j gantry.Job, archive bool) {
	h.t.Helper()
	if _, err := h.logs.Append(h.t.Context(), j.ID, 0, []byte("log of "+j.Name+"\n"), nil); err != nil {
		h.t.Fatal(err)
	}
	if archive {
		if err := h.logs.Archive(h.t.Context(), j.ID, nil); err != nil {
			h.t.Fatal(err)
		}
	}
}

// wantGone checks that the artifact files and the logs of jobs are gone.
func (h *harness) wantGone(artifact string, jobs ...int64) {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.objects.Stat(ctx, artifact); !errors.Is(err, gantry.ErrNotFound) {
		h.t.Errorf("artifact file %s: %v, want it gone", artifact, err)
	}
	for _, id := range jobs {
		if _, err := h.objects.Stat(ctx, trace.ObjectKey(id)); !errors.Is(err, gantry.ErrNotFound) {
			h.t.Errorf("archived log of job %d: %v, want it gone", id, err)
		}
		if _, err := h.store.Trace(ctx, id); !errors.Is(err, gantry.ErrNotFound) {
			h.t.Errorf("log of job %d in the database: %v, want it gone", id, err)
		}
	}
	if g, err := h.store.Garbage(ctx, 0, 10); err != nil || len(g) != 0 {
		h.t.Errorf("garbage left: %v, %v", g, err)
	}
}

// stubbornObjects fails to delete the objects under "stuck/".
type stubbornObjects struct{ pipeline.Objects }

func (o stubbornObjects) Delete(ctx context.Context, key string) error {
	if strings.HasPrefix(key, "stuck/") {
		return fmt.Errorf("delete %s: the disk said no", key)
	}
	return o.Objects.Delete(ctx, key)
}

// TestGarbageThatFailsHidesNothing: storage that cannot be deleted stays
// recorded for later rounds without keeping newer garbage from going, even
// when there are more such pieces than one page of garbage.
func TestGarbageThatFailsHidesNothing(t *testing.T) {
	h := newHarness(t)
	ctx := t.Context()
	svc := h.service(func(c *pipeline.Config) { c.Objects = stubbornObjects{h.objects} })
	var yaml strings.Builder
	for i := range 120 {
		fmt.Fprintf(&yaml, "j%d:\n  script: [x]\n", i)
	}
	stuck := h.create(yaml.String())
	jobs := h.jobs(stuck.ID)
	for _, j := range jobs {
		a := store.Artifact{JobID: j.ID, FileType: "archive", Format: "zip", Filename: "artifacts.zip", Size: 1,
			BlobKey: fmt.Sprintf("stuck/%d", j.ID)}
		if _, err := h.store.PutArtifact(ctx, &a); err != nil {
			t.Fatal(err)
		}
	}
	if err := svc.Delete(ctx, stuck.ID); err != nil {
		t.Fatal(err)
	}
	fine := h.create("build:\n  script: [x]\n")
	art := h.artifact(h.latest(fine.ID, "build"), time.Time{})
	if err := svc.Delete(ctx, fine.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := h.objects.Stat(ctx, art); !errors.Is(err, gantry.ErrNotFound) {
		t.Errorf("artifact of the second pipeline: %v, want it deleted past %d stubborn ones", err, len(jobs))
	}
	left, err := h.store.Garbage(ctx, 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) != len(jobs) || !strings.HasPrefix(left[0].Key, "stuck/") {
		t.Errorf("%d pieces of garbage left, want the %d stubborn ones", len(left), len(jobs))
	}
}
