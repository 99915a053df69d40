package pipeline_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/pipeline"
)

// TestCreateBranchOrTag: with a branch and a tag both called "release",
// the full ref name says which one a pipeline is for, its commit and
// whether it is a tag pipeline; the short name is ambiguous and refused,
// with GitLab's reason.
func TestCreateBranchOrTag(t *testing.T) {
	h := newHarness(t)
	branch := h.push("build:\n  script: [x]\n")
	gittest.Run(t, h.repo, "branch", "release", "main")
	wt := gittest.NewWorkTree(t, "other", map[string]string{".gitlab-ci.yml": "tagged:\n  script: [x]\n"})
	tag := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	gittest.Run(t, wt, "tag", "release")
	gittest.Run(t, wt, "push", "-q", h.repo, "refs/tags/release")

	for _, tc := range []struct {
		ref     string
		tag     bool
		sha     string
		wantErr string
	}{
		{ref: "refs/heads/release", sha: branch},
		{ref: "refs/tags/release", tag: true, sha: tag},
		{ref: "main", sha: branch},
		{ref: "release", wantErr: "Ref is ambiguous"},
		{ref: "refs/tags/main", wantErr: "Reference not found"},
		{ref: "nothing", wantErr: "Reference not found"},
	} {
		t.Run(tc.ref, func(t *testing.T) {
			p, err := h.svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: tc.ref, Source: "api", User: h.user})
			if tc.wantErr != "" {
				if !errors.Is(err, gantry.ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr) {
					t.Errorf("err = %v, want %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			name := tc.ref[strings.LastIndexByte(tc.ref, '/')+1:]
			if p.Ref != name || p.Tag != tc.tag || p.SHA != tc.sha {
				t.Errorf("pipeline ref %s tag %v sha %s; want %s %v %s", p.Ref, p.Tag, p.SHA, name, tc.tag, tc.sha)
			}
		})
	}
}

// TestAutoCancelSameRefKind: a tag's pipeline does not auto-cancel the
// pipelines of the branch of the same name.
func TestAutoCancelSameRefKind(t *testing.T) {
	h := newHarness(t)
	h.push("build:\n  interruptible: true\n  script: [x]\n")
	gittest.Run(t, h.repo, "tag", "main-tag", "main")
	gittest.Run(t, h.repo, "branch", "main-tag", "main")
	branch, err := h.svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "refs/heads/main-tag", Source: "push", User: h.user})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "refs/tags/main-tag", Source: "push", User: h.user}); err != nil {
		t.Fatal(err)
	}
	if got, _ := h.store.Pipeline(t.Context(), branch.ID); got.Status != gantry.StatusPending {
		t.Errorf("the branch's pipeline is %s after the tag's was created, want pending", got.Status)
	}
}
