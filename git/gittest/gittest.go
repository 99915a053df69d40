// Package gittest drives the system git client in tests: a work tree with
// a predictable identity and no prompts or user configuration.
package gittest

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Env is git's environment in tests: no prompts, no user or system config,
// a fixed identity.
func Env(home string) []string {
	return append(os.Environ(),
		"HOME="+home, "GIT_CONFIG_NOSYSTEM=1", "GIT_TERMINAL_PROMPT=0", "GIT_ASKPASS=/bin/false",
		"GIT_AUTHOR_NAME=Test Author", "GIT_AUTHOR_EMAIL=author@example.com",
		"GIT_COMMITTER_NAME=Test Author", "GIT_COMMITTER_EMAIL=author@example.com",
		"LC_ALL=C")
}

// Run runs git in dir and returns its combined output, failing the test
// if git fails.
func Run(tb testing.TB, dir string, args ...string) string {
	tb.Helper()
	out, err := Try(tb, dir, args...)
	if err != nil {
		tb.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Try runs git in dir and returns its combined output and error.
func Try(tb testing.TB, dir string, args ...string) (string, error) {
	tb.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = Env(tb.TempDir())
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// NewWorkTree creates a repository with one commit holding files (path →
// content) on branch, and returns its folder.
func NewWorkTree(tb testing.TB, branch string, files map[string]string) string {
	tb.Helper()
	dir := tb.TempDir()
	Run(tb, dir, "init", "-q", "-b", branch)
	Commit(tb, dir, "initial commit", files)
	return dir
}

// Commit writes files into the work tree and commits them.
func Commit(tb testing.TB, dir, message string, files map[string]string) string {
	tb.Helper()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			tb.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			tb.Fatal(err)
		}
	}
	Run(tb, dir, "add", "-A")
	Run(tb, dir, "commit", "-q", "--allow-empty", "-m", message)
	return strings.TrimSpace(Run(tb, dir, "rev-parse", "HEAD"))
}

// URLWithAuth puts user and password into an http URL.
func URLWithAuth(rawURL, user, password string) string {
	scheme, rest, _ := strings.Cut(rawURL, "://")
	return scheme + "://" + user + ":" + password + "@" + rest
}
