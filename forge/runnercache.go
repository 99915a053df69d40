package forge

import (
	"slices"
	"sync"
	"time"

	"github.com/gantry-ci/gantry"
)

// runnerCacheTTL is how long a runner found by its token is used again
// without reading the database. Every runner call authenticates, and an
// idle runner calls every few seconds; with the cache an idle poll costs
// no query. Changes made through this Service drop the cache at once;
// changes made elsewhere (another replica, the admin CLI) are seen within
// the TTL.
const runnerCacheTTL = 5 * time.Second

// runnerCache maps token hashes to recently authenticated runners. The
// zero value is ready to use; it is safe for concurrent use.
type runnerCache struct {
	mu      sync.Mutex
	entries map[string]cachedRunner
}

type cachedRunner struct {
	runner gantry.Runner
	at     time.Time
}

func (c *runnerCache) get(hash string, now time.Time) (gantry.Runner, bool) {
	c.mu.Lock()
	e, ok := c.entries[hash]
	c.mu.Unlock()
	if !ok || now.Sub(e.at) > runnerCacheTTL {
		return gantry.Runner{}, false
	}
	r := e.runner
	r.Tags, r.ProjectIDs = slices.Clone(r.Tags), slices.Clone(r.ProjectIDs)
	return r, true
}

func (c *runnerCache) put(hash string, r gantry.Runner, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[string]cachedRunner{}
	}
	if len(c.entries) >= 10000 { // stale entries of runners that stopped calling
		for k, e := range c.entries {
			if now.Sub(e.at) > runnerCacheTTL {
				delete(c.entries, k)
			}
		}
	}
	c.entries[hash] = cachedRunner{runner: r, at: now}
}

// clear forgets every runner; runner changes are rare.
func (c *runnerCache) clear() {
	c.mu.Lock()
	c.entries = nil
	c.mu.Unlock()
}
