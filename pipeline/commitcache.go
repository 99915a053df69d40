package pipeline

import (
	"context"
	"strconv"
	"sync"

	"github.com/gantry-ci/gantry/git"
)

// commitCache remembers commits by project and sha. A commit never
// changes, and every job of a pipeline needs its pipeline's commit for
// the predefined variables: without the cache, handing out a job ran a
// git process.
type commitCache struct {
	mu      sync.Mutex
	commits map[string]git.Commit
}

// maxCachedCommits bounds the cache; it is emptied when full, which
// costs one git run per pipeline still running.
const maxCachedCommits = 1024

// commit returns the commit sha of repo (project projectID).
func (c *commitCache) commit(ctx context.Context, repo git.Repo, projectID int64, sha string) (git.Commit, bool) {
	key := strconv.FormatInt(projectID, 10) + "/" + sha
	c.mu.Lock()
	cm, ok := c.commits[key]
	c.mu.Unlock()
	if ok {
		return cm, true
	}
	commits, err := repo.Commits(ctx, sha)
	if err != nil || len(commits) != 1 {
		return git.Commit{}, false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.commits == nil || len(c.commits) >= maxCachedCommits {
		c.commits = map[string]git.Commit{}
	}
	c.commits[key] = commits[0]
	return commits[0], true
}
