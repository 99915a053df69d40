package runner

import (
	"context"
	"time"

	dockerclient "github.com/moby/moby/client"

	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor/docker"
)

// dockerClient connects once per Docker host.
func (r *Runner) dockerClient(e *config.Runner) (*dockerclient.Client, error) {
	host := ""
	if e.Docker != nil {
		host = e.Docker.Host
	}
	r.dockerMu.Lock()
	defer r.dockerMu.Unlock()
	if c, ok := r.dockers[host]; ok {
		return c, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := docker.Connect(ctx, host)
	if err != nil {
		return nil, err
	}
	if r.dockers == nil {
		r.dockers = map[string]*dockerclient.Client{}
	}
	r.dockers[host] = c
	return c, nil
}

func (r *Runner) sweep(ctx context.Context) {
	for _, e := range r.entries {
		if e.cfg.Executor != "docker" {
			continue
		}
		c, err := r.dockerClient(e.cfg)
		if err != nil {
			r.logger.Warn("docker unavailable", "runner", e.short, "err", err)
			continue
		}
		if err := docker.Sweep(ctx, c, e.cfg.ShortToken()); err != nil {
			r.logger.Warn("sweep leftover containers", "runner", e.short, "err", err)
		}
	}
}

func (r *Runner) closeDockers() {
	r.dockerMu.Lock()
	defer r.dockerMu.Unlock()
	for _, c := range r.dockers {
		c.Close()
	}
	r.dockers = nil
}
