package docker_test

import (
	"context"
	"os"
	"testing"

	"github.com/moby/moby/client"

	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/executor"
	"github.com/gantry-ci/gantry/runner/executor/docker"
	"github.com/gantry-ci/gantry/runner/executor/executortest"
)

// Image is the locally built image scripts/podman-setup provides.
const Image = "localhost/busybox:latest"

// connect needs DOCKER_HOST (scripts/test runs scripts/podman-setup);
// without it the test fails loudly, it does not skip.
func connect(t *testing.T) *client.Client {
	t.Helper()
	if os.Getenv("DOCKER_HOST") == "" {
		t.Fatal("DOCKER_HOST is not set: run scripts/podman-setup (scripts/test does) to start podman's Docker API")
	}
	c, err := docker.Connect(t.Context(), "")
	if err != nil {
		t.Fatalf("docker API at %s: %v", os.Getenv("DOCKER_HOST"), err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

func TestExecutor(t *testing.T) {
	c := connect(t)
	dir := t.TempDir()
	cfg := &config.Docker{Image: Image, PullPolicy: config.StringList{"if-not-present"}, Memory: "256m", CPUs: "1"}
	executortest.Run(t, func(t *testing.T) executor.Executor {
		return &docker.Executor{Client: c, Config: cfg, BuildsDir: dir, Grace: 3e9}
	}, executortest.Options{
		Image: Image,
		Service: &executor.Image{Name: Image, Alias: "websvc", PullPolicy: []string{"if-not-present"},
			Command: []string{"sh", "-c", "mkdir -p /www && echo service-ok > /www/index.html && exec httpd -f -p 8080 -h /www"}},
		ServiceURL:  "http://websvc:8080/",
		ServiceBody: "service-ok",
		BadPrepare: func() executor.Options {
			return executor.Options{JobID: 99, ProjectPath: "g/p", RunnerToken: "suite", Image: executor.Image{Name: "localhost/does-not-exist:1", PullPolicy: []string{"never"}}}
		},
	})
	// Nothing of ours may be left behind.
	left, err := c.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: client.Filters{}.Add("label", docker.LabelRunner+"=suite")})
	if err != nil || len(left.Items) != 0 {
		t.Errorf("containers left: %d %v", len(left.Items), err)
	}
}

func TestSweep(t *testing.T) {
	c := connect(t)
	e := &docker.Executor{Client: c, Config: &config.Docker{Image: Image, PullPolicy: config.StringList{"if-not-present"}}, BuildsDir: t.TempDir()}
	if _, err := e.Prepare(t.Context(), executor.Options{JobID: 1, ProjectPath: "g/p", RunnerToken: "sweeptest",
		Image:    executor.Image{Name: Image},
		Services: []executor.Image{{Name: Image, Command: []string{"sleep", "300"}}}}); err != nil {
		t.Fatalf("Prepare: %v", err)
	}
	// Simulate a killed runner: no Cleanup, then a new runner sweeps.
	if err := docker.Sweep(t.Context(), c, "sweeptest"); err != nil {
		t.Fatalf("Sweep: %v", err)
	}
	f := client.Filters{}.Add("label", docker.LabelRunner+"=sweeptest")
	left, _ := c.ContainerList(t.Context(), client.ContainerListOptions{All: true, Filters: f})
	nets, _ := c.NetworkList(t.Context(), client.NetworkListOptions{Filters: f})
	if len(left.Items) != 0 || len(nets.Items) != 0 {
		t.Errorf("after sweep: %d containers, %d networks", len(left.Items), len(nets.Items))
	}
}
