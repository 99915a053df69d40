package ci

import (
	"fmt"
	"strings"

	"github.com/gantry-ci/gantry/ci/expr"
)

// rule is one parsed rules: entry (job, workflow or include rules).
type rule struct {
	at        *node
	cond      *expr.Expression
	changes   []string
	changesOn bool
	exists    []string
	existsOn  bool

	when          string
	allowFailure  *bool
	exitCodes     []int
	startIn       string
	variables     []Variable
	needs         []needDef
	needsSet      bool
	interruptible *bool
	autoCancel    *node // workflow rules only
}

// ruleKind selects which keys a rules: list accepts.
type ruleKind int

const (
	jobRules ruleKind = iota
	workflowRules
	includeRules
)

var ruleKeys = map[ruleKind]map[string]bool{
	jobRules: set("if", "changes", "exists", "when", "allow_failure", "start_in",
		"variables", "needs", "interruptible"),
	workflowRules: set("if", "changes", "exists", "when", "variables", "auto_cancel"),
	includeRules:  set("if", "changes", "exists", "when"),
}

var ruleWhens = map[ruleKind]map[string]bool{
	jobRules:      set("on_success", "on_failure", "always", "never", "manual", "delayed"),
	workflowRules: set("always", "never"),
	includeRules:  set("never", "always"),
}

func set(keys ...string) map[string]bool {
	m := make(map[string]bool, len(keys))
	for _, k := range keys {
		m[k] = true
	}
	return m
}

// parseRules parses a rules: value; loc is the GitLab-style location prefix
// ("jobs:build", "workflow", "include").
func (c *compiler) parseRules(loc string, n *node, k ruleKind) []*rule {
	if n.isNull() {
		return nil
	}
	items, ok := flattenSeq(n, 10)
	if !ok {
		c.errs.addf(n, "%s:rules config should be an array of hashes", loc)
		return nil
	}
	if len(items) == 0 {
		c.errs.addf(n, "%s:rules config can't be blank", loc)
		return nil
	}
	rules := make([]*rule, 0, len(items))
	for _, it := range items {
		if r := c.parseRule(loc+":rules:rule", it, k); r != nil {
			rules = append(rules, r)
		}
	}
	return rules
}

// flattenSeq flattens nested sequences up to depth levels (GitLab allows
// nested rule lists and script lists built with !reference).
func flattenSeq(n *node, depth int) ([]*node, bool) {
	if !n.isSeq() {
		return nil, false
	}
	out := make([]*node, 0, len(n.items))
	var walk func(s *node, d int) bool
	walk = func(s *node, d int) bool {
		for _, it := range s.items {
			if it.isSeq() {
				if d >= depth || !walk(it, d+1) {
					return false
				}
				continue
			}
			out = append(out, it)
		}
		return true
	}
	return out, walk(n, 1)
}

func (c *compiler) parseRule(loc string, n *node, k ruleKind) *rule {
	if !n.isMap() {
		c.errs.addf(n, "%s config should be a hash", loc)
		return nil
	}
	if bad := unknownKeys(n, ruleKeys[k]); bad != "" {
		c.errs.addf(n, "%s config contains unknown keys: %s", loc, bad)
		return nil
	}
	r := &rule{at: n}
	if n.has("if") {
		v := orNull(n.get("if"), n)
		if !v.isStr() {
			c.errs.addf(v, "%s if should be a string", loc)
			return nil
		}
		e, err := c.expression(v.str)
		if err != nil {
			c.errs.addf(v, "%s if %v", loc, err)
			return nil
		}
		r.cond = e
	}
	if n.has("changes") {
		r.changesOn = true
		r.changes = c.pathList(loc+" changes", n.get("changes"), "paths")
	}
	if n.has("exists") {
		r.existsOn = true
		r.exists = c.pathList(loc+" exists", n.get("exists"), "paths")
	}
	if v := n.get("when"); v != nil {
		if !v.isStr() || !ruleWhens[k][v.str] {
			c.errs.addf(v, "%s when unknown value: %s", loc, v.scalarText())
		}
		r.when = v.str
	}
	c.parseRuleExtras(loc, n, r)
	return r
}

func (c *compiler) parseRuleExtras(loc string, n *node, r *rule) {
	if v := n.get("allow_failure"); v != nil {
		b, codes := c.allowFailure(loc, v)
		r.allowFailure, r.exitCodes = &b, codes
	}
	if v := n.get("start_in"); v != nil {
		r.startIn = c.duration(loc+" start_in", v)
	}
	if v := n.get("variables"); v != nil {
		r.variables = c.variables(loc+":variables", v)
	}
	if n.has("needs") {
		r.needsSet = true
		if v := n.get("needs"); !v.isNull() {
			r.needs = c.needDefs(loc+":needs", v)
			for _, d := range r.needs {
				if d.pipeline != "" || d.project != "" {
					// rules:needs replace the job's needs within this
					// pipeline; GitLab allows only job needs there.
					c.errs.addf(d.at, "%s:needs config uses invalid types: cross_dependency", loc)
				}
			}
		}
	}
	if v := n.get("interruptible"); v != nil {
		b := c.boolean(loc+" interruptible", v)
		r.interruptible = &b
	}
	if v := n.get("auto_cancel"); v != nil {
		c.autoCancel(loc+":auto_cancel", v)
		r.autoCancel = v
	}
	if r.when == "delayed" && r.startIn == "" {
		c.errs.addf(n, "%s start_in should be specified for delayed job", loc)
	}
}

// pathList reads a string or list of strings, or a hash with key and an
// optional compare_to/project (rules:changes:paths, rules:exists:paths).
func (c *compiler) pathList(loc string, n *node, key string) []string {
	if n.isMap() {
		if bad := unknownKeys(n, set(key, "compare_to", "project", "ref")); bad != "" {
			c.errs.addf(firstUnknown(n, set(key, "compare_to", "project", "ref")), "%s config contains unknown keys: %s", loc, bad)
		}
		for _, k := range []string{"compare_to", "project", "ref"} {
			if v := n.get(k); v != nil && !v.isStr() {
				c.errs.addf(v, "%s %s should be a string", loc, k)
			}
		}
		n = orNull(n.get(key), n)
	}
	if n.isStr() {
		return []string{n.str}
	}
	items, ok := flattenSeq(n, 1)
	if !ok {
		c.errs.addf(n, "%s should be an array of strings", loc)
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if !it.isStr() {
			c.errs.addf(it, "%s should be an array of strings", loc)
			continue
		}
		out = append(out, it.str)
	}
	return out
}

// expression parses a rules:if once per compilation: templates repeat the
// same conditions across many jobs.
func (c *compiler) expression(src string) (*expr.Expression, error) {
	if e, ok := c.exprs[src]; ok {
		return e, nil
	}
	e, err := expr.Parse(src)
	if err != nil {
		var se *expr.SyntaxError
		if errorsAs(err, &se) {
			return nil, fmt.Errorf("invalid expression syntax (%s at offset %d)", se.Msg, se.Offset)
		}
		return nil, err
	}
	c.exprs[src] = e
	return e, nil
}

// match reports whether every clause of r holds in sc.
func (c *compiler) match(r *rule, sc *scope) (bool, error) {
	if r.cond != nil && !r.cond.Evaluate(sc.lookup) {
		return false, nil
	}
	if r.changesOn && !c.changed(r.changes, sc) {
		return false, nil
	}
	if r.existsOn {
		ok, err := c.exist(r.exists, sc)
		if err != nil || !ok {
			return false, err
		}
	}
	return true, nil
}

// firstMatch returns the first matching rule, or nil.
func (c *compiler) firstMatch(rules []*rule, sc *scope) (*rule, error) {
	for _, r := range rules {
		ok, err := c.match(r, sc)
		if err != nil {
			return nil, err
		}
		if ok {
			return r, nil
		}
	}
	return nil, nil
}

// changed implements rules:changes: always true without a diff base.
func (c *compiler) changed(patterns []string, sc *scope) bool {
	if c.opts.ChangedPaths == nil {
		return true
	}
	for _, p := range patterns {
		p = strings.TrimPrefix(sc.expand(p), "/")
		for _, path := range c.opts.ChangedPaths {
			if fnmatch(p, path) {
				return true
			}
		}
	}
	return false
}

// exist implements rules:exists against the repository's file list.
func (c *compiler) exist(patterns []string, sc *scope) (bool, error) {
	files, err := c.repoFiles()
	if err != nil {
		return false, err
	}
	for _, p := range patterns {
		p = strings.TrimPrefix(sc.expand(p), "/")
		for _, f := range files {
			if fnmatch(p, f) {
				return true, nil
			}
		}
	}
	return false, nil
}

// unknownKeys returns the keys of n outside allowed, comma-separated.
func unknownKeys(n *node, allowed map[string]bool) string {
	var bad []string
	for _, p := range n.pairs {
		if !allowed[p.key] {
			bad = append(bad, p.key)
		}
	}
	return strings.Join(bad, ", ")
}

// firstUnknown returns a node at the first key of n outside allowed, so
// that "unknown keys" errors point at the typo.
func firstUnknown(n *node, allowed map[string]bool) *node {
	for _, p := range n.pairs {
		if !allowed[p.key] {
			return &node{kind: strNode, str: p.key, pos: p.keyPos}
		}
	}
	return n
}
