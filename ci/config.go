package ci

import (
	"slices"
	"strings"
)

// config is the parsed, validated configuration before it is evaluated
// against a pipeline context.
type config struct {
	stages    []string
	variables []Variable
	defaults  *node // effective default: values (top-level aliases merged)
	workflow  workflowDef
	jobs      []*jobDef
	byName    map[string]*jobDef
}

type workflowDef struct {
	rules      []*rule
	hasRules   bool
	name       string
	autoCancel *node
}

var defaultKeys = set("after_script", "artifacts", "before_script", "cache", "hooks",
	"id_tokens", "image", "interruptible", "retry", "services", "tags", "timeout")

var workflowKeys = set("rules", "name", "auto_cancel")

// parseConfig reads the global keywords and every job, collecting errors.
func (c *compiler) parseConfig(root *node) *config {
	cfg := &config{byName: map[string]*jobDef{}}
	cfg.stages = c.stages(root)
	c.stageOrder = cfg.stages
	if v := root.get("variables"); v != nil {
		cfg.variables = c.variables("variables", v)
	}
	cfg.defaults = c.defaults(root)
	c.parseWorkflow(root.get("workflow"), cfg)
	stageSet := set(cfg.stages...)
	visible := 0
	for _, p := range root.pairs {
		if reservedKeys[p.key] {
			continue
		}
		if strings.HasPrefix(p.key, ".") {
			continue // hidden jobs are templates: not validated, not run
		}
		visible++
		if j := c.parseJob(p, cfg, stageSet); j != nil {
			cfg.jobs = append(cfg.jobs, j)
			cfg.byName[j.name] = j
		}
	}
	if visible == 0 && len(c.errs.list) == 0 {
		c.errs.addf(root, "jobs config should contain at least one visible job")
	}
	return cfg
}

func (c *compiler) stages(root *node) []string {
	n := root.get("stages")
	if n == nil {
		n = root.get("types")
	}
	user := []string{"build", "test", "deploy"}
	if n != nil {
		items, ok := flattenSeq(n, 10)
		if !ok {
			c.errs.addf(n, "stages config should be an array of strings")
			return nil
		}
		user = user[:0:0]
		for _, it := range items {
			if !it.isStr() {
				c.errs.addf(it, "stages config should be an array of strings")
				continue
			}
			if it.str != ".pre" && it.str != ".post" {
				user = append(user, it.str)
			}
		}
	}
	out := make([]string, 0, len(user)+2)
	out = append(out, ".pre")
	seen := set()
	for _, s := range user {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return append(out, ".post")
}

// defaults merges default: over the deprecated top-level image, services,
// cache, before_script and after_script.
func (c *compiler) defaults(root *node) *node {
	d := &node{kind: mapNode, pos: root.pos}
	for _, k := range []string{"image", "services", "cache", "before_script", "after_script"} {
		if v := root.get(k); !v.isNull() {
			d.pairs = append(d.pairs, pair{key: k, keyPos: root.keyNode(k).pos, val: v})
		}
	}
	def := root.get("default")
	switch {
	case def.isNull():
	case !def.isMap():
		c.errs.addf(def, "default config should be a hash")
	default:
		if bad := unknownKeys(def, defaultKeys); bad != "" {
			c.errs.addf(def, "default config contains unknown keys: %s", bad)
		}
		for _, p := range def.pairs {
			if !p.val.isNull() {
				d.pairs = setPair(d.pairs, p)
			}
		}
	}
	return d
}

func (c *compiler) parseWorkflow(w *node, cfg *config) {
	if w.isNull() {
		return
	}
	if !w.isMap() {
		c.errs.addf(w, "workflow config should be a hash")
		return
	}
	if bad := unknownKeys(w, workflowKeys); bad != "" {
		c.errs.addf(w, "workflow config contains unknown keys: %s", bad)
	}
	if w.has("rules") {
		cfg.workflow.hasRules = true
		cfg.workflow.rules = c.parseRules("workflow", w.get("rules"), workflowRules)
	}
	if n := w.get("name"); n != nil {
		if !n.isScalar() || len(n.str) > 255 {
			c.errs.addf(n, "workflow name should be a string of at most 255 characters")
		}
		cfg.workflow.name = n.str
	}
	if a := w.get("auto_cancel"); a != nil {
		c.autoCancel("workflow:auto_cancel", a)
		cfg.workflow.autoCancel = a
	}
}

var autoCancelValues = map[string][]string{
	"on_new_commit":  {"conservative", "interruptible", "none"},
	"on_job_failure": {"none", "all"},
}

// autoCancel checks workflow:auto_cancel and workflow:rules:auto_cancel.
func (c *compiler) autoCancel(loc string, a *node) {
	if !a.isMap() {
		c.errs.addf(a, "%s config should be a hash", loc)
		return
	}
	for _, p := range a.pairs {
		allowed, ok := autoCancelValues[p.key]
		if !ok {
			c.errs.addf(&node{kind: strNode, str: p.key, pos: p.keyPos}, "%s config contains unknown keys: %s", loc, p.key)
			continue
		}
		if p.val.isNull() {
			continue
		}
		if !p.val.isStr() || !slices.Contains(allowed, p.val.str) {
			c.errs.addf(p.val, "%s %s must be one of: %s", loc, strings.ReplaceAll(p.key, "_", " "), strings.Join(allowed, ", "))
		}
	}
}
