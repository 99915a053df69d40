package server

import (
	"context"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/queue"
	"github.com/gantry-ci/gantry/trace"
)

// wireCI builds the CI side: queue, traces and the pipeline service, and
// makes pushes wake the pipeline loop at once.
func (s *Server) wireCI() {
	c := s.cfg.CI
	s.queue = queue.New(s.store)
	s.traces = trace.New(trace.Config{Chunks: s.store, Objects: s.blobs, Log: s.log, MaxSize: c.MaxTraceSize})
	s.pipelines = pipeline.New(pipeline.Config{Store: s.store, Forge: s.forge, Variables: s.forge, Notifier: s.queue,
		ExternalURL: s.URL, Log: s.log, SilentTimeout: c.SilentTimeout, ConfirmTimeout: c.ConfirmTimeout, TickInterval: c.TickInterval})
	s.forge.OnPush(s.pipelines.Wake)
}

// CreateLocalRunner registers an instance runner for the embedded shell
// runner of `gantry up` and returns its token.
func (s *Server) CreateLocalRunner(ctx context.Context) (string, error) {
	_, token, err := s.forge.CreateRunner(ctx, forge.System(), forge.NewRunner{Type: gantry.InstanceRunner,
		Description: "gantry up: embedded shell runner", RunUntagged: true})
	return token, err
}
