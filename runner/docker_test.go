package runner_test

import (
	"bytes"
	"os"
	"testing"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/config"
	"github.com/gantry-ci/gantry/runner/runnertest"
)

const busybox = "localhost/busybox:latest"

// TestDockerJob runs jobs through the docker executor against podman's
// Docker API (scripts/podman-setup): sources cloned on the host, script in
// the job image, a service reachable by alias, artifacts between jobs and a
// cache used twice.
func TestDockerJob(t *testing.T) {
	if os.Getenv("DOCKER_HOST") == "" {
		t.Fatal("DOCKER_HOST is not set: run scripts/podman-setup (scripts/test does)")
	}
	h := newHarness(t, func(c *config.Config) {
		c.Runners[0].Executor = "docker"
		c.Runners[0].Docker = &config.Docker{Image: busybox, PullPolicy: config.StringList{"if-not-present"}, Volumes: []string{"/cache"}}
	})
	svc := gitlab.JobImage{Name: busybox, Alias: "web", Command: []string{"sh", "-c", "mkdir -p /www && echo from-service > /www/index.html && exec httpd -f -p 8080 -h /www"}}
	cache := []gitlab.JobCache{{Key: "docker-cache", Paths: []string{"vendor"}, Policy: "pull-push"}}
	a := h.run(t, runnertest.Spec{ID: 1, Name: "build",
		Image:     gitlab.JobImage{Name: busybox, Entrypoint: []string{"sh", "-c", `echo from-entrypoint >&2; exec "$@"`, "entrypoint"}},
		Services:  []gitlab.JobImage{svc},
		Cache:     cache,
		Variables: []gitlab.JobVariable{{Key: "SECRET", Value: "hush-hush-123", Masked: true}},
		Script: []string{
			"cat README.md",
			`echo "secret=$SECRET in $CI_PROJECT_DIR"`,
			"for i in $(seq 1 50); do wget -qO- http://web:8080/ && break; sleep 0.2; done",
			"mkdir -p dist vendor && echo artifact-from-1 > dist/a.txt && echo cached > vendor/v.txt",
			"echo in-volume > /cache/v.txt",
		},
		AfterScript: []string{`echo "after=$CI_JOB_STATUS"`},
		Artifacts:   []gitlab.JobArtifact{{Name: "artifacts", Paths: []string{"dist"}, When: "on_success", ArtifactType: "archive", ArtifactFormat: "zip"}},
	})
	if a.State != "success" {
		t.Fatalf("build: %s\n%s", a.State, a.Trace)
	}
	for _, want := range []string{"01O hello\n", "secret=[MASKED] in /builds/group/project", "01O from-service\n", "after=success", "Using docker executor", "01E from-entrypoint\n"} {
		if !bytes.Contains(a.Trace, []byte(want)) {
			t.Errorf("log lacks %q:\n%s", want, a.Trace)
		}
	}
	b := h.run(t, runnertest.Spec{ID: 2, Name: "test", Image: gitlab.JobImage{Name: busybox}, Cache: cache,
		Variables: []gitlab.JobVariable{{Key: "GIT_STRATEGY", Value: "clone"}},
		Deps:      []gitlab.JobDependency{{ID: 1, Name: "build", ArtifactsFile: gitlab.JobArtifactsFile{Filename: "artifacts.zip"}}},
		Script:    []string{"cat dist/a.txt vendor/v.txt /cache/v.txt", "exit 4"}})
	if b.State != "failed" || !bytes.Contains(b.Trace, []byte("01O artifact-from-1\n")) || !bytes.Contains(b.Trace, []byte("01O cached\n")) || !bytes.Contains(b.Trace, []byte("01O in-volume\n")) {
		t.Fatalf("test: %s\n%s", b.State, b.Trace)
	}
	if u := b.Updates[len(b.Updates)-1]; u.ExitCode != 4 || u.FailureReason != "script_failure" {
		t.Errorf("final update %+v", u)
	}
	// An image that is not there with pull policy never: image_pull_failure,
	// mapped to runner_system_failure since the server does not list it.
	c := h.run(t, runnertest.Spec{ID: 3, Image: gitlab.JobImage{Name: "localhost/missing:1", PullPolicy: []string{"never"}}, Script: []string{"true"}})
	if u := c.Updates[len(c.Updates)-1]; c.State != "failed" || u.FailureReason != "runner_system_failure" {
		t.Errorf("missing image: %s %+v\n%s", c.State, u, c.Trace)
	}
}
