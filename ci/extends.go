package ci

import (
	"strings"
)

// maxExtendsDepth is GitLab's limit on extends: chains (11 levels).
const maxExtendsDepth = 11

// reservedKeys are the top-level keys that are not jobs.
var reservedKeys = set("image", "services", "cache", "before_script", "after_script",
	"variables", "stages", "types", "include", "default", "workflow", "spec")

// extender resolves extends: for every top-level job, hidden ones included.
type extender struct {
	root   *node
	index  map[string]int
	done   map[string]*node
	height map[string]int // length of the longest extends chain below a job
	failed map[string]bool
	busy   map[string]bool
	errs   *errs
}

func newExtender(root *node, e *errs) *extender {
	x := &extender{root: root, index: make(map[string]int, len(root.pairs)),
		done: map[string]*node{}, height: map[string]int{}, failed: map[string]bool{},
		busy: map[string]bool{}, errs: e}
	for i, p := range root.pairs {
		x.index[p.key] = i
	}
	return x
}

// extended returns the top-level job name with extends applied, or nil.
func (x *extender) extended(name string) *node {
	if _, ok := x.index[name]; !ok || reservedKeys[name] {
		return nil
	}
	return x.resolve(name)
}

func resolveExtends(root *node, e *errs) *node {
	x := newExtender(root, e)
	var pairs []pair
	for i, p := range root.pairs {
		if reservedKeys[p.key] || !p.val.isMap() || !p.val.has("extends") {
			continue
		}
		v := x.resolve(p.key)
		if v == nil {
			continue
		}
		if pairs == nil {
			pairs = append([]pair(nil), root.pairs...)
		}
		pairs[i].val = v
	}
	if pairs == nil {
		return root
	}
	return root.withPairs(pairs)
}

// resolve returns job name with its parents merged in, or nil after
// reporting an error (once: jobs that fail stay failed silently).
func (x *extender) resolve(name string) *node {
	if v, ok := x.done[name]; ok {
		return v
	}
	if x.failed[name] {
		return nil
	}
	job := x.root.pairs[x.index[name]].val
	ext := job.get("extends")
	if !job.isMap() || ext == nil {
		return job
	}
	loc := "jobs:" + name
	if x.busy[name] {
		x.errs.addf(ext, "%s: circular dependency detected in `extends`", loc)
		x.failed[name] = true
		return nil
	}
	v := x.merge(name, job, ext)
	if v == nil {
		x.failed[name] = true
		return nil
	}
	if x.height[name] > maxExtendsDepth {
		x.errs.addf(ext, "%s: nesting too deep in `extends` (more than %d levels)", loc, maxExtendsDepth)
		x.failed[name] = true
		return nil
	}
	x.done[name] = v
	return v
}

// merge deep-merges the parents of job left to right, then job itself.
func (x *extender) merge(name string, job, ext *node) *node {
	loc := "jobs:" + name
	parents, ok := extendsList(ext)
	if !ok {
		x.errs.addf(ext, "%s:extends config should be a string or an array of strings", loc)
		return nil
	}
	x.busy[name] = true
	defer delete(x.busy, name)
	var base *node
	var unknown []string
	for _, p := range parents {
		i, ok := x.index[p]
		if !ok || reservedKeys[p] || !x.root.pairs[i].val.isMap() {
			unknown = append(unknown, p)
			continue
		}
		pv := x.resolve(p)
		if pv == nil {
			return nil
		}
		x.height[name] = max(x.height[name], x.height[p]+1)
		base = deepMerge(base, withoutKey(pv, "extends"))
	}
	if len(unknown) > 0 {
		x.errs.addf(ext, "%s: unknown keys in `extends` (%s)", loc, strings.Join(unknown, ", "))
		return nil
	}
	return deepMerge(base, job)
}

func extendsList(n *node) ([]string, bool) {
	if n.isStr() {
		return []string{n.str}, true
	}
	if !n.isSeq() {
		return nil, false
	}
	out := make([]string, 0, len(n.items))
	for _, it := range n.items {
		if !it.isStr() {
			return nil, false
		}
		out = append(out, it.str)
	}
	return out, true
}

func withoutKey(n *node, key string) *node {
	if !n.has(key) {
		return n
	}
	pairs := make([]pair, 0, len(n.pairs)-1)
	for _, p := range n.pairs {
		if p.key != key {
			pairs = append(pairs, p)
		}
	}
	return n.withPairs(pairs)
}
