package runnertest

import (
	"fmt"
	"net/http"
	"net/http/cgi"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
)

// git serves repositories under repoRoot with git http-backend. Requests
// without credentials get 401 + WWW-Authenticate: Basic, as GitLab answers
// for private projects; Basic gitlab-ci-token:<running job token> passes.
func (s *Server) git(w http.ResponseWriter, r *http.Request) {
	if !strings.Contains(r.URL.Path, ".git/") {
		http.NotFound(w, r)
		return
	}
	user, pass, ok := r.BasicAuth()
	s.mu.Lock()
	valid := ok && user == "gitlab-ci-token" && s.validJobTokenLocked(pass)
	s.mu.Unlock()
	if !valid {
		s.record(r, nil, http.StatusUnauthorized)
		w.Header().Set("WWW-Authenticate", `Basic realm="GitLab"`)
		http.Error(w, "HTTP Basic: Access denied", http.StatusUnauthorized)
		return
	}
	s.record(r, nil, http.StatusOK)
	gitPath, err := exec.LookPath("git")
	if err != nil {
		http.Error(w, "git not installed", http.StatusInternalServerError)
		return
	}
	h := &cgi.Handler{
		Path: gitPath,
		Args: []string{"http-backend"},
		Env: []string{
			"GIT_PROJECT_ROOT=" + s.repoRoot,
			"GIT_HTTP_EXPORT_ALL=1",
			"REMOTE_USER=" + user,
		},
	}
	if p := r.Header.Get("Git-Protocol"); p != "" {
		h.Env = append(h.Env, "GIT_PROTOCOL="+p)
	}
	h.ServeHTTP(w, r)
}

// Repo creates a bare repository at <path>.git with one commit of files on
// branch main, plus refs/pipelines/<pipeline>; it returns the commit sha.
func (s *Server) Repo(path string, pipeline int64, files map[string]string) string {
	s.t.Helper()
	work := s.t.TempDir()
	for name, content := range files {
		p := filepath.Join(work, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			s.t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			s.t.Fatal(err)
		}
	}
	bare := filepath.Join(s.repoRoot, filepath.FromSlash(path)+".git")
	run := func(dir string, args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.com",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.com", "GIT_CONFIG_NOSYSTEM=1", "HOME="+work)
		out, err := cmd.CombinedOutput()
		if err != nil {
			s.t.Fatalf("git %v: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	run(work, "init", "-q", "-b", "main")
	run(work, "add", "-A")
	run(work, "commit", "-q", "-m", "init")
	sha := run(work, "rev-parse", "HEAD")
	if err := os.MkdirAll(filepath.Dir(bare), 0o755); err != nil {
		s.t.Fatal(err)
	}
	run(work, "clone", "-q", "--bare", work, bare)
	run(bare, "update-ref", fmt.Sprintf("refs/pipelines/%d", pipeline), sha)
	return sha
}
