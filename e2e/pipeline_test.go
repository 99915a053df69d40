package e2e

import (
	"bytes"
	"fmt"
	"os"

	"testing"
	"time"

	gl "gitlab.com/gitlab-org/api/client-go"
)

// secretValue is a masked project variable the pipeline echoes.
const secretValue = "s3cr3t-Value-4711"

// acceptancePipeline is the pipeline: three stages, needs,
// artifacts passed between jobs, a cache saved by one job and restored by
// the next, a masked variable echoed, a failing allow_failure job, an
// after_script and a manual job. With docker, jobs run in busybox and the
// test job reaches a service container by its alias.
func acceptancePipeline(docker bool) string {
	head, service, fetch := "", "", ""
	if docker {
		head = "default:\n  image: " + busybox + "\n"
		service = `  services:
    - name: ` + busybox + `
      alias: web
      command: ["sh", "-c", "mkdir -p /www && echo from-service > /www/index.html && exec httpd -f -p 8080 -h /www"]
`
		fetch = `    - for i in $(seq 1 100); do wget -qO- http://web:8080/ && break; sleep 0.2; done
`
	}
	return head + `stages: [build, test, deploy]
variables:
  GREETING: hello
build:
  stage: build
  script:
    - mkdir -p dist
    - echo "built with $GREETING" > dist/app.txt
    - echo "the secret is $DEPLOY_SECRET"
    - if [ -f vendor/lib.txt ]; then echo "cache hit in $CI_JOB_NAME"; else mkdir -p vendor; echo "cached-in-$CI_PIPELINE_ID" > vendor/lib.txt; fi
  cache: {key: deps, paths: [vendor/]}
  artifacts: {paths: [dist/]}
test:
  stage: test
  needs: [build]
` + service + `  script:
    - cat dist/app.txt
    - cat vendor/lib.txt
` + fetch + `  cache: {key: deps, paths: [vendor/], policy: pull}
  after_script:
    - echo "after_script saw $CI_JOB_STATUS"
lint:
  stage: test
  script: [echo linting, exit 3]
  allow_failure: true
deploy:
  stage: deploy
  needs: [build, test]
  when: manual
  script:
    - echo "deploying $(cat dist/app.txt)"
`
}

func TestPipelineShell(t *testing.T) {
	t.Parallel()
	testAcceptancePipeline(t, false)
}

// TestPipelineDocker runs the same pipeline with the docker executor
// against podman's Docker API (scripts/podman-setup).
func TestPipelineDocker(t *testing.T) {
	t.Parallel()
	if os.Getenv("DOCKER_HOST") == "" {
		t.Fatal("DOCKER_HOST is not set: run scripts/podman-setup (scripts/test does)")
	}
	testAcceptancePipeline(t, true)
}

func testAcceptancePipeline(t *testing.T, docker bool) {
	srv := startCIServer(t)
	o := runnerOpts{}
	if docker {
		o.executor = "docker"
	}
	srv.startRunner(t, o)
	p := srv.project(t, "app")
	if _, _, err := srv.api.ProjectVariables.CreateVariable(p.ID, &gl.CreateProjectVariableOptions{
		Key: gl.Ptr("DEPLOY_SECRET"), Value: gl.Ptr(secretValue), Masked: gl.Ptr(true)}); err != nil {
		t.Fatalf("create masked variable: %v", err)
	}
	sha := srv.push(t, p, "main", map[string]string{".gitlab-ci.yml": acceptancePipeline(docker), "README.md": "app\n"})
	pl := srv.pipelineFor(t, p.ID, sha)
	wait := 60 * time.Second
	if docker {
		wait = 3 * time.Minute
	}
	deploy := srv.waitJob(t, p.ID, pl.ID, "deploy", wait, "manual")
	for name, want := range map[string]string{"build": "success", "test": "success", "lint": "failed"} {
		if j := srv.waitJob(t, p.ID, pl.ID, name, wait, "success", "failed"); j.Status != want {
			t.Errorf("job %s is %s, want %s:\n%s", name, j.Status, want, srv.trace(t, p.ID, j.ID))
		}
	}
	if _, _, err := srv.api.Jobs.PlayJob(p.ID, deploy.ID, nil); err != nil {
		t.Fatalf("play deploy: %v", err)
	}
	final := srv.waitPipeline(t, p.ID, pl.ID, wait, "success", "failed", "canceled")
	jobs := srv.jobs(t, p.ID, pl.ID)
	if final.Status != "success" {
		for name, j := range jobs {
			t.Logf("%s: %s (%s)\n%s", name, j.Status, j.FailureReason, srv.trace(t, p.ID, j.ID))
		}
		t.Fatalf("pipeline is %s, want success", final.Status)
	}
	if lint := jobs["lint"]; !lint.AllowFailure || lint.FailureReason != "script_failure" {
		t.Errorf("lint: allow_failure %v, reason %q", lint.AllowFailure, lint.FailureReason)
	}
	checkLog(t, srv.trace(t, p.ID, jobs["build"].ID), []string{"the secret is [MASKED]"}, []string{secretValue, "cache hit in build"})
	testWant := []string{"built with hello", fmt.Sprintf("cached-in-%d", pl.ID), "after_script saw success"}
	if docker {
		testWant = append(testWant, "from-service", "Using docker executor")
	}
	checkLog(t, srv.trace(t, p.ID, jobs["test"].ID), testWant, nil)
	checkLog(t, srv.trace(t, p.ID, jobs["deploy"].ID), []string{"deploying built with hello"}, nil)
	if got := srv.artifacts(t, p.ID, jobs["build"].ID); got["dist/app.txt"] != "built with hello\n" {
		t.Errorf("build artifacts = %q", got)
	}
}

// checkLog asserts that a job log holds every want and no absent string.
func checkLog(t *testing.T, log []byte, want, absent []string) {
	t.Helper()
	for _, w := range want {
		if !bytes.Contains(log, []byte(w)) {
			t.Errorf("log lacks %q:\n%s", w, log)
		}
	}
	for _, a := range absent {
		if bytes.Contains(log, []byte(a)) {
			t.Errorf("log holds %q:\n%s", a, log)
		}
	}
}
