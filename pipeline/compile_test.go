package pipeline_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
)

// TestCompileFailures: a compiler that panics or runs past
// CompileTimeout fails the pipeline with a configuration error, as
// GitLab words it, instead of taking the caller down or hanging.
func TestCompileFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		compile func(context.Context, []byte, ci.Options) (*ci.Plan, error)
		want    string
	}{
		{"panic", func(context.Context, []byte, ci.Options) (*ci.Plan, error) { panic("compiler bug") }, "Undefined error ("},
		{"timeout", func(ctx context.Context, _ []byte, _ ci.Options) (*ci.Plan, error) {
			<-ctx.Done() // an include that never answers
			return nil, ctx.Err()
		}, "Request timed out when fetching configuration files."},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t)
			h.push("build:\n  script: [x]\n")
			svc := h.service(func(c *pipeline.Config) { c.CompileTimeout = 100 * time.Millisecond })
			pipeline.SetCompiler(svc, tc.compile)
			p, err := svc.Create(t.Context(), pipeline.CreateRequest{Project: h.project, Ref: "main", Source: "push", User: h.user})
			if err != nil {
				t.Fatal(err)
			}
			if p.Status != gantry.StatusFailed || p.FailureReason != "config_error" || !strings.HasPrefix(p.YAMLErrors, tc.want) {
				t.Errorf("pipeline %s (%s) %q; want failed (config_error) %q", p.Status, p.FailureReason, p.YAMLErrors, tc.want)
			}
		})
	}
}

// fakeVariables is a pipeline.Variables with function fields.
type fakeVariables struct {
	ciVariables func(ctx context.Context, p gantry.Project, protectedRef bool) ([]gantry.CIVariable, error)
}

func (f fakeVariables) CIVariables(ctx context.Context, p gantry.Project, protectedRef bool) ([]gantry.CIVariable, error) {
	return f.ciVariables(ctx, p, protectedRef)
}

func (fakeVariables) RefProtected(context.Context, int64, string, bool) (bool, error) {
	return false, nil
}

// TestLoopSurvivesPanic: a push whose handling panics is logged and its
// event consumed; the loop goes on with the next event (here, a pipeline
// for a later push) instead of crashing the server at every start.
func TestLoopSurvivesPanic(t *testing.T) {
	h := newHarness(t)
	var calls int
	svc := h.service(func(c *pipeline.Config) {
		c.TickInterval = 10 * time.Millisecond
		c.Variables = fakeVariables{ciVariables: func(context.Context, gantry.Project, bool) ([]gantry.CIVariable, error) {
			if calls++; calls == 1 {
				panic("variables bug")
			}
			return nil, nil
		}}
	})
	h.push("build:\n  script: [x]\n")
	if _, err := h.forge.SyncRefs(t.Context(), h.project.ID, store.Push{}); err != nil {
		t.Fatal(err)
	}
	h.push("build:\n  script: [y]\n")
	events, err := h.forge.SyncRefs(t.Context(), h.project.ID, store.Push{})
	if err != nil || len(events) != 1 {
		t.Fatalf("second push: %v, %v", events, err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for {
		if c, _ := h.store.Cursor(t.Context(), "pipelines"); c == events[0].ID {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the loop did not get past the event whose handling panicked")
		}
		time.Sleep(10 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run = %v", err)
	}
	ps, _, err := h.store.ListPipelines(t.Context(), store.PipelineFilter{ProjectID: h.project.ID}, store.Page{Size: 10})
	if err != nil || len(ps) != 1 || ps[0].SHA != events[0].After {
		t.Errorf("pipelines = %+v, %v; want one, for the second push", ps, err)
	}
}
