package e2e

import (
	"archive/zip"
	"bytes"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// evilZip is an artifacts archive whose entries leave the project folder.
func evilZip(tb testing.TB, names ...string) string {
	tb.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			tb.Fatal(err)
		}
		w.Write([]byte("escaped\n"))
	}
	if err := zw.Close(); err != nil {
		tb.Fatal(err)
	}
	return buf.String()
}

// findFiles lists files named name under root.
func findFiles(root, name string) []string {
	var out []string
	filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == name {
			out = append(out, p)
		}
		return nil
	})
	return out
}

// TestBadArtifactsAndCacheKeys checks the runner's defences against the
// real server: a job uploads (with its CI_JOB_TOKEN) an artifacts archive
// whose entries climb out with ../; the job that downloads it fails with
// a clear error and nothing lands outside its project folder. A cache key
// that a variable turns into ../… is refused, and no cache is written
// outside the cache folder.
func TestBadArtifactsAndCacheKeys(t *testing.T) {
	t.Parallel()
	srv := startCIServer(t)
	rn := srv.startRunner(t, runnerOpts{})
	yaml := `stages: [build, test]
evil:
  stage: build
  script:
    - >
      curl -sS --fail-with-body -X POST -H "JOB-TOKEN: $CI_JOB_TOKEN"
      -F "file=@evil.zip;filename=artifacts.zip"
      "$CI_API_V4_URL/jobs/$CI_JOB_ID/artifacts?artifact_type=archive&artifact_format=zip"
victim:
  stage: test
  needs: [evil]
  script: [echo victim ran]
cachekey:
  stage: build
  variables: {EVIL: ../../../escaped-cache}
  cache: {key: $EVIL, paths: [dir]}
  script: [mkdir -p dir, echo x > dir/f]
`
	p := srv.project(t, "bad")
	sha := srv.push(t, p, "main", map[string]string{".gitlab-ci.yml": yaml,
		"evil.zip": evilZip(t, "../escaped.txt", "dist/../../../../escaped.txt")})
	pl := srv.pipelineFor(t, p.ID, sha)
	srv.waitPipeline(t, p.ID, pl.ID, time.Minute, "failed", "success")
	jobs := srv.jobs(t, p.ID, pl.ID)

	if j := jobs["evil"]; j.Status != "success" {
		t.Fatalf("the upload job is %s:\n%s", j.Status, srv.trace(t, p.ID, j.ID))
	}
	victim := jobs["victim"]
	log := srv.trace(t, p.ID, victim.ID)
	if victim.Status != "failed" || !bytes.Contains(log, []byte("leaves the target directory")) || bytes.Contains(log, []byte("01O victim ran")) {
		t.Errorf("victim is %s; want failed with a clear error before its script:\n%s", victim.Status, log)
	}
	if found := findFiles(filepath.Dir(rn.workDir), "escaped.txt"); len(found) > 0 {
		t.Errorf("files written outside the project folder: %v", found)
	}

	cj := jobs["cachekey"]
	clog := srv.trace(t, p.ID, cj.ID)
	if cj.Status != "success" || !bytes.Contains(clog, []byte("escaped-cache")) || bytes.Contains(clog, []byte("Created cache")) {
		t.Errorf("cachekey is %s; want success with the cache refused:\n%s", cj.Status, clog)
	}
	for _, dir := range []string{filepath.Dir(rn.workDir), os.TempDir()} {
		for _, f := range findFiles(dir, "cache.zip") {
			if strings.Contains(f, "escaped-cache") {
				t.Errorf("cache written at %s", f)
			}
		}
	}
}

// TestUnreachableServer: registering against a server that is not there
// fails clearly and writes no config; `gantry runner run` against it keeps
// running and says why it gets no jobs.
func TestUnreachableServer(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	cfg := filepath.Join(dir, "config.toml")
	out, err := exec.Command(gantryBin, "runner", "register", "--non-interactive", "--url", "http://127.0.0.1:1",
		"--token", "glrt-unreachable-0123456789", "--executor", "shell", "--config", cfg).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "connection refused") {
		t.Errorf("register against a closed port: %v\n%s", err, out)
	}
	if _, err := os.Stat(cfg); err == nil {
		t.Errorf("register wrote %s although it failed", cfg)
	}

	conf := "concurrent = 1\ncheck_interval = 1\n[[runners]]\n  name = \"x\"\n  url = \"http://127.0.0.1:1\"\n  token = \"glrt-unreachable-0123456789\"\n  executor = \"shell\"\n"
	if err := os.WriteFile(cfg, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	rn := spawn(t, nil, "runner", "run", "--config", cfg, "--working-directory", dir)
	rn.waitOutputFor(t, "connection refused", 30*time.Second)
	select {
	case <-rn.done:
		t.Fatalf("the runner gave up on an unreachable server:\n%s", rn.Output())
	case <-time.After(2 * time.Second):
	}
	rn.stop(t)
}
