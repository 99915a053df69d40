package server

import (
	"context"
	"time"

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
		Objects: s.blobs, Logs: s.traces,
		ExternalURL: s.URL, Log: s.log, SilentTimeout: c.SilentTimeout, ConfirmTimeout: c.ConfirmTimeout,
		PendingTimeout: c.PendingTimeout, StuckTimeout: c.StuckTimeout, TickInterval: c.TickInterval})
	s.forge.OnPush(s.pipelines.Wake)
}

// CreateLocalRunner registers an instance runner for the embedded shell
// runner of `gantry up` and returns its token.
func (s *Server) CreateLocalRunner(ctx context.Context) (string, error) {
	_, token, err := s.forge.CreateRunner(ctx, forge.System(), forge.NewRunner{Type: gantry.InstanceRunner,
		Description: "gantry up: embedded shell runner", RunUntagged: true})
	return token, err
}

// archiveLeftovers moves the logs of jobs that ended without their
// runner's final update (hard cancel, silent runner) to the blob store,
// a while after they ended. Bytes held back as a possible secret's start
// are stored masked, since the secrets are no longer known here.
func (s *Server) archiveLeftovers(ctx context.Context) {
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		ids, err := s.store.UnarchivedTraces(ctx, time.Now().Add(-2*time.Minute), 100)
		if err != nil {
			s.log.Warn("find unarchived job logs", "err", err)
			continue
		}
		for _, id := range ids {
			if err := s.traces.Archive(ctx, id, nil); err != nil {
				s.log.Warn("archive job log", "job", id, "err", err)
			}
		}
	}
}
