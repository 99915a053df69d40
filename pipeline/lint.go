package pipeline

import (
	"context"
	"errors"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
)

// Lint checks a CI configuration as the CI Lint API does: the given
// content, or with fromRepo the project's configuration at ref, compiled
// in the context of a push to ref.
func (s *Service) Lint(ctx context.Context, proj gantry.Project, user gantry.User, ref, content string, fromRepo bool) (*ci.LintResult, error) {
	repo := s.forge.Repos().Repo(proj.ID)
	p := gantry.Pipeline{ProjectID: proj.ID, Ref: ref, Source: "push", BeforeSHA: gantry.ZeroSHA}
	r, err := resolveRef(ctx, repo, ref)
	if err == nil {
		p.Ref, p.Tag = r.name, r.tag
		p.SHA, err = repo.ResolveCommit(ctx, r.full())
	}
	if err != nil && fromRepo {
		return nil, err
	}
	if fromRepo {
		b, err := repo.ReadFile(ctx, p.SHA, ConfigPath, 4<<20)
		if errors.Is(err, gantry.ErrNotFound) {
			return &ci.LintResult{Errors: []string{"Please provide content of .gitlab-ci.yml"}, Warnings: []string{}, Jobs: []ci.LintJob{}}, nil
		} else if err != nil {
			return nil, err
		}
		content = string(b.Content)
	}
	opts, err := s.compileOptions(ctx, CreateRequest{Project: proj, Ref: ref, User: user}, &p, repo)
	if err != nil {
		return nil, err
	}
	if p.SHA == "" {
		opts.Includer = nil // an empty repository has nothing to include
	}
	return ci.Lint(ctx, []byte(content), opts)
}
