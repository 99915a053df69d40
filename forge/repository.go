package forge

import (
	"context"
	"fmt"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/git"
)

// MaxFileSize bounds what the files API returns in one response.
const MaxFileSize = 10 << 20

// RefWithCommit is a branch or tag with its commit read and what its
// protection means for the actor who listed it.
type RefWithCommit struct {
	git.Ref
	Commit git.Commit
	// Protected: a protected branch or tag rule matches the name.
	Protected bool
	// DevelopersCanPush and DevelopersCanMerge: a matching rule admits
	// developers (GitLab's branch API shows both).
	DevelopersCanPush, DevelopersCanMerge bool
	// CanPush: the actor may push to the branch.
	CanPush bool
}

// Refs lists a project's branches (kind "heads") or tags ("tags") whose
// name contains search, with their commits.
func (s *Service) Refs(ctx context.Context, actor auth.Actor, idOrPath, kind, search string) ([]RefWithCommit, ProjectAccess, error) {
	pa, err := s.Project(ctx, actor, idOrPath, auth.ReadCode)
	if err != nil {
		return nil, pa, err
	}
	repo := s.repos.Repo(pa.Project.ID)
	refs, err := repo.ListRefs(ctx, kind)
	if err != nil {
		return nil, pa, err
	}
	var keep []git.Ref
	var revs []string
	for _, r := range refs {
		if search == "" || strings.Contains(strings.ToLower(r.Name), strings.ToLower(search)) {
			keep = append(keep, r)
			revs = append(revs, r.Commit)
		}
	}
	commits, err := repo.Commits(ctx, revs...)
	if err != nil {
		return nil, pa, err
	}
	byID := make(map[string]git.Commit, len(commits))
	for _, c := range commits {
		byID[c.ID] = c
	}
	rules, err := s.store.ProtectedRefs(ctx, pa.Project.ID, kind == "tags")
	if err != nil {
		return nil, pa, err
	}
	u := pusher{level: pa.Level, admin: actor.Admin()}
	mayPush := auth.Can(actor, auth.PushCode, pa.Project.Visibility, pa.Level)
	out := make([]RefWithCommit, len(keep))
	for i, r := range keep {
		out[i] = RefWithCommit{Ref: r, Commit: byID[r.Commit]}
		out[i].protect(matching(rules, r.Name), u, mayPush)
	}
	return out, pa, nil
}

// protect fills in the protection fields from the rules matching the
// ref; mayPush is whether the actor may push to the project at all.
func (r *RefWithCommit) protect(rules []gantry.ProtectedRef, u pusher, mayPush bool) {
	rulePush := false
	for _, rule := range rules {
		r.Protected = true
		r.DevelopersCanPush = r.DevelopersCanPush || rule.PushLevel == gantry.Developer
		r.DevelopersCanMerge = r.DevelopersCanMerge || rule.MergeLevel == gantry.Developer
		rulePush = rulePush || u.may(rule.PushLevel)
	}
	r.CanPush = mayPush && (!r.Protected || rulePush)
}

// File is a repository file at a ref.
type File struct {
	Path         string
	Ref          string
	CommitID     string
	LastCommitID string
	Blob         git.Blob
}

// File reads path at ref (a branch, tag or commit) in a project.
func (s *Service) File(ctx context.Context, actor auth.Actor, idOrPath, ref, path string) (File, error) {
	pa, err := s.Project(ctx, actor, idOrPath, auth.ReadCode)
	if err != nil {
		return File{}, err
	}
	if ref == "" {
		ref = pa.Project.DefaultBranch
	}
	if strings.HasPrefix(ref, "-") || strings.Contains(path, "\x00") || path == "" {
		return File{}, invalid("ref or file path is invalid")
	}
	repo := s.repos.Repo(pa.Project.ID)
	commit, err := repo.ResolveCommit(ctx, ref)
	if err != nil {
		return File{}, fmt.Errorf("ref %q: %w", ref, gantry.ErrNotFound)
	}
	blob, err := repo.ReadFile(ctx, commit, path, MaxFileSize)
	if err != nil {
		return File{}, err
	}
	if blob.Size > MaxFileSize {
		return File{}, invalid("file is larger than %d bytes", MaxFileSize)
	}
	last, err := repo.LastCommit(ctx, commit, path)
	if err != nil {
		return File{}, err
	}
	return File{Path: path, Ref: ref, CommitID: commit, LastCommitID: last, Blob: blob}, nil
}
