package smarthttp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"sync"

	"github.com/gantry-ci/gantry/git"
)

// vetPush reads the command list of a receive-pack request and asks the
// repository's CheckUpdates about it before receive-pack runs. It returns
// the body to give receive-pack (the commands replayed, then the rest),
// the commands and extra environment for it, or done when it has answered
// the request itself: a refusal, in receive-pack's own format so that git
// prints GitLab's message and "! [remote rejected]" lines, or an error
// status.
func (h *Handler) vetPush(w http.ResponseWriter, r *http.Request, repo Repository, body io.Reader) (io.Reader, []RefCommand, []string, bool) {
	if repo.CheckUpdates == nil && repo.Pushed == nil {
		return body, nil, nil, false
	}
	br := bufio.NewReaderSize(body, 64<<10)
	cmds, err := ParseCommands(br)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil, nil, nil, true
	}
	replay := io.MultiReader(bytes.NewReader(cmds.Raw), br)
	if len(cmds.List) == 0 || repo.CheckUpdates == nil {
		return replay, cmds.List, nil, false
	}
	ffOnly, err := repo.CheckUpdates(r.Context(), cmds.List)
	var refused *RefusedError
	switch {
	case errors.As(err, &refused):
		h.refuse(w, r, cmds, refused, br)
		return nil, nil, nil, true
	case err != nil:
		h.log().Error("check push", "project", repo.ProjectID, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return nil, nil, nil, true
	case len(ffOnly) == 0:
		return replay, cmds.List, nil, false
	}
	env, err := h.hooks.fastForwardOnly(r, h.HooksDir, ffOnly)
	if err != nil {
		// Fail closed: without the hook a force push would go through.
		h.log().Error("prepare force-push check", "project", repo.ProjectID, "err", err)
		http.Error(w, "internal error: cannot check force pushes", http.StatusInternalServerError)
		return nil, nil, nil, true
	}
	return replay, cmds.List, env, false
}

// refuse answers a refused push. The client is still sending its pack:
// reading it to the end first lets git read the answer instead of failing
// with a broken pipe.
func (h *Handler) refuse(w http.ResponseWriter, r *http.Request, cmds Commands, e *RefusedError, rest io.Reader) {
	h.log().Info("push refused", "path", r.URL.Path, "ref", e.Ref, "reason", e.Reason)
	if _, err := io.Copy(io.Discard, rest); err != nil {
		return // the client went away
	}
	if !cmds.Has("report-status") && !cmds.Has("report-status-v2") {
		http.Error(w, e.Message, http.StatusForbidden)
		return
	}
	noCache(w)
	w.Header().Set("Content-Type", "application/x-git-receive-pack-result")
	_, _ = w.Write(refusal(cmds, e))
}

// hookInstaller installs the hooks on first need, and again if the hook
// went missing since.
type hookInstaller struct {
	mu   sync.Mutex
	done string
}

func (hi *hookInstaller) fastForwardOnly(r *http.Request, dir string, refs []string) ([]string, error) {
	if dir == "" {
		return nil, errors.New("no hooks folder configured")
	}
	dir, err := filepath.Abs(dir) // receive-pack runs in the repository
	if err != nil {
		return nil, err
	}
	hi.mu.Lock()
	defer hi.mu.Unlock()
	if hi.done != dir || !git.HooksInstalled(dir) {
		if err := git.InstallHooks(r.Context(), dir); err != nil {
			return nil, fmt.Errorf("install hooks: %w", err)
		}
		hi.done = dir
	}
	return git.FastForwardOnlyEnv(dir, refs)
}
