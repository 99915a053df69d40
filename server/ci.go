package server

import (
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
