// Package smarthttp serves Git's smart HTTP protocol (v0 and v2) for
// Gantry's repositories by running the system git's upload-pack and
// receive-pack in stateless-RPC mode. Who may do what is the Authorizer's
// business; this package only speaks the protocol and maps its errors to
// the status codes git clients understand.
package smarthttp

import (
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/git"
)

// Credentials are what the client sent with HTTP Basic, if anything.
type Credentials struct {
	Username, Password string
	Present            bool
}

// Repository is a repository the Authorizer opened for a request.
type Repository struct {
	Repo      git.Repo
	ProjectID int64
	// Pushed, if set, is called after receive-pack, successful or not,
	// with the push's commands (those CheckUpdates let through).
	Pushed func(ctx context.Context, cmds []RefCommand) error
	// CheckUpdates, if set, vets a push's ref updates before receive-pack
	// sees them. A *RefusedError refuses the whole push with GitLab's
	// message; any other error fails the request. It returns the refs
	// whose update must be a fast-forward: that needs the pushed objects,
	// so a pre-receive hook checks it once receive-pack has them.
	CheckUpdates func(ctx context.Context, cmds []RefCommand) (fastForwardOnly []string, err error)
}

// Authorizer decides whether the request may read (push=false) or write the
// repository at path ("group/project", without ".git"). Its errors decide
// the answer: gantry.ErrUnauthorized → 401 with a Basic challenge (git then
// asks for credentials), gantry.ErrForbidden → 403, gantry.ErrNotFound →
// 404, or 401 when no credentials were sent, so that an anonymous client
// learns nothing about private repositories.
type Authorizer interface {
	AuthorizeGit(ctx context.Context, creds Credentials, path string, push bool) (Repository, error)
}

// Handler serves smart HTTP below any path prefix. It is an http.Handler.
type Handler struct {
	Auth   Authorizer
	Log    *slog.Logger
	Realm  string // for WWW-Authenticate, e.g. "Gantry"
	Prefix string // URL prefix before the repository path, e.g. "" or "/git"
	// HooksDir is where the handler installs the pre-receive hook that
	// refuses force pushes (see git.InstallHooks). Without it, a push that
	// must be a fast-forward is refused with a server error.
	HooksDir string

	hooks hookInstaller
}

// hiddenRefs are the ref namespaces the server owns, GitLab's: receive-pack
// neither advertises them nor lets a push create, update or delete them
// (receive.hideRefs, as Gitaly configures it; git answers "deny updating a
// hidden ref"). Fetches still see them: runners fetch refs/pipelines/<id>
// by name, which a ref hidden from upload-pack would refuse.
var hiddenRefs = []string{"refs/environments/", "refs/keep-around/", "refs/merge-requests/", "refs/pipelines/"}

// command returns the git command of a service.
func command(sub string, args ...string) *git.Command {
	cmd := git.NewCommand(sub, args...)
	if sub == "receive-pack" {
		for _, ref := range hiddenRefs {
			cmd.Config("receive.hideRefs", ref)
		}
	}
	return cmd
}

// services maps the URL's service name to the git subcommand.
var services = map[string]string{"git-upload-pack": "upload-pack", "git-receive-pack": "receive-pack"}

// Match reports whether an URL path is a smart HTTP request, and splits it
// into the repository path and the endpoint ("info/refs", "git-upload-pack",
// "git-receive-pack").
func Match(urlPath string) (repo, endpoint string, ok bool) {
	for _, ep := range []string{"/info/refs", "/git-upload-pack", "/git-receive-pack"} {
		if rest, found := strings.CutSuffix(urlPath, ep); found {
			repo = strings.TrimSuffix(strings.TrimPrefix(rest, "/"), ".git")
			return repo, strings.TrimPrefix(ep, "/"), repo != ""
		}
	}
	return "", "", false
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	repoPath, endpoint, ok := Match(strings.TrimPrefix(r.URL.Path, h.Prefix))
	if !ok {
		http.NotFound(w, r)
		return
	}
	service := endpoint
	if endpoint == "info/refs" {
		service = r.URL.Query().Get("service")
		if r.Method != http.MethodGet {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
	} else if r.Method != http.MethodPost {
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	sub, known := services[service]
	if !known {
		// Dumb HTTP is not offered: git falls back to it only if we let it.
		http.Error(w, "only smart HTTP is supported; upgrade your git client", http.StatusForbidden)
		return
	}
	if _, err := gantry.SplitPath(repoPath); err != nil {
		http.NotFound(w, r)
		return
	}
	var creds Credentials
	creds.Username, creds.Password, creds.Present = r.BasicAuth()
	repo, err := h.Auth.AuthorizeGit(r.Context(), creds, repoPath, sub == "receive-pack")
	if err != nil {
		h.deny(w, r, err, creds.Present)
		return
	}
	if endpoint == "info/refs" {
		h.advertise(w, r, repo, service, sub)
		return
	}
	h.rpc(w, r, repo, service, sub)
}

func (h *Handler) deny(w http.ResponseWriter, r *http.Request, err error, hadCreds bool) {
	switch {
	case errors.Is(err, gantry.ErrUnauthorized), errors.Is(err, gantry.ErrNotFound) && !hadCreds:
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Basic realm=%q", h.Realm))
		http.Error(w, "HTTP Basic: Access denied. If a password was provided for Git authentication, it was incorrect or you need a personal access token.", http.StatusUnauthorized)
	case errors.Is(err, gantry.ErrForbidden):
		http.Error(w, "You are not allowed to push code to this project.", http.StatusForbidden)
	case errors.Is(err, gantry.ErrNotFound):
		http.Error(w, "The project you were looking for could not be found or you don't have permission to view it.", http.StatusNotFound)
	case errors.Is(err, gantry.ErrInvalid):
		http.Error(w, err.Error(), http.StatusBadRequest)
	default:
		h.log().Error("git authorization failed", "path", r.URL.Path, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
	}
}

func (h *Handler) log() *slog.Logger {
	if h.Log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return h.Log
}

// gitProtocol passes the client's Git-Protocol header (e.g. "version=2")
// to git, after checking it holds only what the protocol allows.
var gitProtocol = regexp.MustCompile(`^[a-zA-Z0-9=:._-]{1,64}$`)

func protocolEnv(r *http.Request) []string {
	if v := r.Header.Get("Git-Protocol"); gitProtocol.MatchString(v) {
		return []string{"GIT_PROTOCOL=" + v}
	}
	return nil
}

func (h *Handler) advertise(w http.ResponseWriter, r *http.Request, repo Repository, service, sub string) {
	noCache(w)
	w.Header().Set("Content-Type", "application/x-"+service+"-advertisement")
	env := protocolEnv(r)
	if !strings.Contains(strings.Join(env, ""), "version=2") {
		// Protocol v0/v1 starts with the service announcement; v2 doesn't.
		io.WriteString(w, pktLine("# service="+service+"\n")+"0000")
	}
	cmd := command(sub, "--stateless-rpc", "--advertise-refs", ".").Dir(repo.Repo.Dir).Env(env...)
	if err := cmd.Run(r.Context(), nil, w); err != nil {
		h.log().Error("git advertise refs", "service", service, "err", err)
	}
}

func (h *Handler) rpc(w http.ResponseWriter, r *http.Request, repo Repository, service, sub string) {
	if ct := r.Header.Get("Content-Type"); ct != "application/x-"+service+"-request" {
		http.Error(w, "unexpected Content-Type "+ct, http.StatusUnsupportedMediaType)
		return
	}
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, "bad gzip body", http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	var env []string
	var cmds []RefCommand
	if sub == "receive-pack" {
		var done bool
		if body, cmds, env, done = h.vetPush(w, r, repo, body); done {
			return
		}
	}
	noCache(w)
	w.Header().Set("Content-Type", "application/x-"+service+"-result")
	// A clone of a big repository takes as long as it takes; the client's
	// disconnect (the request context) ends it.
	cmd := command(sub, "--stateless-rpc", ".").Dir(repo.Repo.Dir).Env(protocolEnv(r)...).Env(env...).Timeout(0)
	fw := &flushWriter{w: w, f: http.NewResponseController(w)}
	err := cmd.Run(r.Context(), body, fw)
	if err != nil {
		h.log().Warn("git rpc failed", "service", service, "project", repo.ProjectID, "err", err)
	}
	if sub == "receive-pack" && repo.Pushed != nil {
		// Even a failed receive-pack may have moved some refs; Pushed
		// reconciles whatever the repository now holds.
		if perr := repo.Pushed(context.WithoutCancel(r.Context()), cmds); perr != nil {
			h.log().Error("record push", "project", repo.ProjectID, "err", perr)
		}
	}
}

func noCache(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-cache, max-age=0, must-revalidate")
	w.Header().Set("Pragma", "no-cache")
	w.Header().Set("Expires", "Fri, 01 Jan 1980 00:00:00 GMT")
}

func pktLine(s string) string { return fmt.Sprintf("%04x%s", len(s)+4, s) }

// flushWriter flushes after every write so that progress and pack data
// reach the client as git produces them.
type flushWriter struct {
	w io.Writer
	f *http.ResponseController
}

func (fw *flushWriter) Write(p []byte) (int, error) {
	n, err := fw.w.Write(p)
	if err == nil {
		_ = fw.f.Flush()
	}
	return n, err
}
