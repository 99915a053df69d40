package pipeline

import (
	"context"
	"fmt"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
)

// repoIncluder resolves include: for a pipeline: local files from the
// pipeline's commit, project files as the pipeline's user may read them.
type repoIncluder struct {
	repo  git.Repo
	sha   string
	forge *forge.Service
	user  gantry.User
	files []string
}

var _ ci.Includer = (*repoIncluder)(nil)

func (r *repoIncluder) Local(ctx context.Context, path string) ([]byte, error) {
	b, err := r.repo.ReadFile(ctx, r.sha, path, 4<<20)
	if err != nil {
		return nil, err
	}
	return b.Content, nil
}

func (r *repoIncluder) Files(ctx context.Context) ([]string, error) {
	if r.files == nil {
		files, err := r.repo.Files(ctx, r.sha)
		if err != nil {
			return nil, err
		}
		r.files = files
	}
	return r.files, nil
}

func (r *repoIncluder) Project(ctx context.Context, project, ref, path string) ([]byte, error) {
	actor := auth.Actor{User: r.user}
	f, err := r.forge.File(ctx, actor, project, ref, path)
	if err != nil {
		return nil, err
	}
	return f.Blob.Content, nil
}

func (r *repoIncluder) Template(_ context.Context, name string) ([]byte, error) {
	return nil, fmt.Errorf("include:template %q: Gantry does not ship GitLab's CI templates yet: %w", name, gantry.ErrNotImplemented)
}

func (r *repoIncluder) Remote(_ context.Context, url string) ([]byte, error) {
	return nil, fmt.Errorf("include:remote %q: remote includes are disabled on this instance: %w", url, gantry.ErrForbidden)
}
