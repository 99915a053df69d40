package ci

import (
	"strings"
)

// jobDef is a validated job before evaluation: the Job template plus what
// evaluation needs (rules, filters, needs selectors, parallel settings).
type jobDef struct {
	name    string
	at      *node
	job     Job
	whenSet bool
	afSet   bool

	rules    []*rule
	hasRules bool
	only     *filter
	except   *filter

	needs    []needDef
	needsSet bool
	deps     []string
	depsSet  bool

	vars        []Variable
	inheritVars inheritSpec
	parallel    int
	matrix      [][]Variable
}

// inheritSpec is inherit:default or inherit:variables: everything, nothing
// or a list of names.
type inheritSpec struct {
	none bool
	keys map[string]bool
}

func (s inheritSpec) allows(key string) bool {
	if s.none {
		return false
	}
	return s.keys == nil || s.keys[key]
}

var jobKeys = set("tags", "script", "run", "image", "services", "start_in", "artifacts", "cache",
	"dependencies", "before_script", "after_script", "hooks", "coverage", "retry", "parallel",
	"interruptible", "timeout", "resource_group", "release", "environment", "secrets", "trigger",
	"needs", "only", "except", "rules", "allow_failure", "when", "extends", "variables", "stage",
	"type", "inherit", "id_tokens", "identity", "dast_configuration", "pages", "manual_confirmation")

var jobWhens = set("on_success", "on_failure", "always", "manual", "delayed")

// parseJob validates one visible job. It returns nil when the job is too
// broken to evaluate; the errors are in c.errs.
func (c *compiler) parseJob(p pair, cfg *config, stages map[string]bool) *jobDef {
	loc := "jobs:" + p.key
	keyAt := &node{kind: strNode, str: p.key, pos: p.keyPos}
	if len(p.key) > 255 {
		c.errs.addf(keyAt, "%s name is too long (maximum is 255 characters)", loc)
		return nil
	}
	n := p.val
	if !n.isMap() {
		c.errs.addf(keyAt, "%s config should be a hash", loc)
		return nil
	}
	if bad := unknownKeys(n, jobKeys); bad != "" {
		c.errs.addf(firstUnknown(n, jobKeys), "%s config contains unknown keys: %s", loc, bad)
		return nil
	}
	d := &jobDef{name: p.key, at: keyAt}
	d.job.Name = p.key
	inheritDefault := c.inherit(loc, n, "default")
	d.inheritVars = c.inherit(loc, n, "variables")
	n = applyDefaults(n, cfg.defaults, inheritDefault)

	_, hasScript := nonNull(n, "script")
	_, hasTrigger := nonNull(n, "trigger")
	_, hasRun := nonNull(n, "run")
	switch {
	case !hasScript && !hasTrigger && !hasRun:
		c.errs.addf(keyAt, "%s config should implement the script:, run:, or trigger: keyword", loc)
		return nil
	case hasTrigger && (hasScript || hasRun):
		c.errs.addf(keyAt, "%s config contains unknown keys: %s", loc, map[bool]string{true: "script", false: "run"}[hasScript])
		return nil
	case hasRun && (p.val.has("script") || p.val.has("before_script") || p.val.has("after_script")):
		c.errs.addf(keyAt, "%s config run cannot be combined with script, before_script or after_script", loc)
		return nil
	}
	c.jobStage(loc, n, d, stages)
	c.jobScripts(loc, n, d)
	c.jobWhen(loc, n, d)
	c.jobRunnerKeys(loc, n, d)
	c.jobPipelineKeys(loc, n, d)
	c.jobPassThrough(loc, n, d)
	return d
}

// nonNull returns key's value when it is present and not null.
func nonNull(n *node, key string) (*node, bool) {
	v := n.get(key)
	return v, !v.isNull()
}

// applyDefaults returns the job with default: values for the keys it does
// not set (a job value replaces the default, it is never merged).
func applyDefaults(job, defaults *node, inherit inheritSpec) *node {
	var pairs []pair
	for _, p := range defaults.pairs {
		if !inherit.allows(p.key) {
			continue
		}
		if v := job.get(p.key); !v.isNull() {
			continue
		}
		if pairs == nil {
			pairs = append(make([]pair, 0, len(job.pairs)+len(defaults.pairs)), job.pairs...)
		}
		pairs = setPair(pairs, p)
	}
	if pairs == nil {
		return job
	}
	return job.withPairs(pairs)
}

func (c *compiler) inherit(loc string, job *node, key string) inheritSpec {
	inh := job.get("inherit")
	if inh.isNull() {
		return inheritSpec{}
	}
	if !inh.isMap() {
		c.errs.addf(inh, "%s:inherit config should be a hash", loc)
		return inheritSpec{}
	}
	if bad := unknownKeys(inh, set("default", "variables")); bad != "" {
		c.errs.addf(inh, "%s:inherit config contains unknown keys: %s", loc, bad)
	}
	v := inh.get(key)
	switch {
	case v.isNull():
		return inheritSpec{}
	case v.kind == boolNode:
		return inheritSpec{none: !v.boolValue()}
	case v.isSeq():
		s := inheritSpec{keys: map[string]bool{}}
		for _, it := range v.items {
			if !it.isStr() {
				c.errs.addf(it, "%s:inherit:%s config should be a boolean or an array of strings", loc, key)
				continue
			}
			s.keys[it.str] = true
		}
		return s
	}
	c.errs.addf(v, "%s:inherit:%s config should be a boolean or an array of strings", loc, key)
	return inheritSpec{}
}

func (c *compiler) jobStage(loc string, n *node, d *jobDef, stages map[string]bool) {
	st := n.get("stage")
	if st.isNull() {
		st = n.get("type")
	}
	d.job.Stage = "test"
	if st.isNull() {
		if !stages["test"] {
			c.errs.addf(d.at, "%s chosen stage test does not exist; available stages are %s", loc, c.stageList())
		}
		return
	}
	if !st.isScalar() {
		c.errs.addf(st, "%s stage should be a string", loc)
		return
	}
	d.job.Stage = st.str
	if !stages[st.str] {
		c.errs.addf(st, "%s chosen stage %s does not exist; available stages are %s", loc, st.str, c.stageList())
	}
}

func (c *compiler) stageList() string {
	return strings.Join(c.stageOrder, ", ")
}

func (c *compiler) jobScripts(loc string, n *node, d *jobDef) {
	for _, k := range []string{"before_script", "script", "after_script"} {
		v, ok := nonNull(n, k)
		if !ok {
			continue
		}
		lines := c.script(loc+":"+k, v)
		switch k {
		case "before_script":
			d.job.BeforeScript = lines
		case "script":
			d.job.Script = lines
			if lines != nil && (len(lines) == 0 || len(lines) == 1 && lines[0] == "") {
				c.errs.addf(v, "%s:script config can't be blank", loc)
			}
		case "after_script":
			d.job.AfterScript = lines
		}
	}
	if h, ok := nonNull(n, "hooks"); ok {
		c.hooks(loc+":hooks", h)
		d.job.Hooks = h.rawJSON()
	}
}

// script reads a string or an array of strings nested up to 10 levels,
// flattened (the form !reference produces).
func (c *compiler) script(loc string, v *node) []string {
	if v.isStr() {
		return []string{v.str}
	}
	bad := func() []string {
		c.errs.addf(v, "%s config should be a string or a nested array of strings up to 10 levels deep", loc)
		return nil
	}
	items, ok := flattenSeq(v, 10)
	if !ok {
		return bad()
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if !it.isStr() {
			return bad()
		}
		out = append(out, it.str)
	}
	return out
}

func (c *compiler) jobWhen(loc string, n *node, d *jobDef) {
	d.job.When = "on_success"
	if w, ok := nonNull(n, "when"); ok {
		d.whenSet = true
		switch {
		case w.isStr() && w.str == "never":
			c.errs.addf(w, "%s when:never can only be used in a rules section or workflow:rules", loc)
		case !w.isStr() || !jobWhens[w.str]:
			c.errs.addf(w, "%s when should be one of: on_success, on_failure, always, manual, delayed", loc)
		default:
			d.job.When = w.str
		}
	}
	if v, ok := nonNull(n, "allow_failure"); ok {
		d.afSet = true
		d.job.AllowFailure, d.job.AllowFailureExitCodes = c.allowFailure(loc+" allow_failure", v)
	}
	if v, ok := nonNull(n, "start_in"); ok {
		d.job.StartIn = c.duration(loc+" start_in", v)
		if d.job.When != "delayed" && !n.has("rules") {
			c.errs.addf(v, "%s start in must be blank when not delayed", loc)
		}
	}
	if d.job.When == "delayed" && d.job.StartIn == "" {
		c.errs.addf(d.at, "%s start in can't be blank", loc)
	}
	if n.has("rules") {
		d.hasRules = true
		d.rules = c.parseRules(loc, n.get("rules"), jobRules)
		if n.has("only") || n.has("except") {
			c.errs.addf(d.at, "%s may not be used with `rules`: only, except", loc)
		}
	}
	d.only = c.filter(loc+":only", n.get("only"))
	d.except = c.filter(loc+":except", n.get("except"))
	d.job.Only, d.job.Except = d.only.public(), d.except.public()
}

// allowFailure reads a boolean or {exit_codes: int | [int]}.
func (c *compiler) allowFailure(loc string, v *node) (bool, []int) {
	if v.kind == boolNode {
		return v.boolValue(), nil
	}
	if v.isMap() {
		if bad := unknownKeys(v, set("exit_codes")); bad != "" {
			c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
		}
		codes := c.intList(loc+":exit_codes", v.get("exit_codes"))
		return false, codes
	}
	c.errs.addf(v, "%s config should be a hash or a boolean value", loc)
	return false, nil
}

func (c *compiler) intList(loc string, v *node) []int {
	if v.isNull() {
		c.errs.addf(v, "%s can't be blank", loc)
		return nil
	}
	items := []*node{v}
	if v.isSeq() {
		items = v.items
	}
	out := make([]int, 0, len(items))
	for _, it := range items {
		i, ok := it.intValue()
		if !ok || it.kind != intNode {
			c.errs.addf(it, "%s should be an array of integers or an integer", loc)
			return nil
		}
		out = append(out, i)
	}
	return out
}

func (c *compiler) boolean(loc string, v *node) bool {
	if v.kind != boolNode {
		c.errs.addf(v, "%s config should be a boolean value", loc)
		return false
	}
	return v.boolValue()
}

func (c *compiler) str(loc string, v *node) string {
	if !v.isScalar() || v.kind == boolNode {
		c.errs.addf(v, "%s config should be a string", loc)
		return ""
	}
	return v.str
}

func (c *compiler) strList(loc string, v *node) []string {
	if v.isStr() {
		return []string{v.str}
	}
	items, ok := flattenSeq(v, 1)
	if !ok {
		c.errs.addf(v, "%s config should be an array of strings", loc)
		return nil
	}
	out := make([]string, 0, len(items))
	for _, it := range items {
		if !it.isScalar() || it.kind == boolNode {
			c.errs.addf(it, "%s config should be an array of strings", loc)
			return nil
		}
		out = append(out, it.str)
	}
	return out
}

func (c *compiler) jobPassThrough(loc string, n *node, d *jobDef) {
	j := &d.job
	if v, ok := nonNull(n, "id_tokens"); ok {
		c.idTokens(loc+":id_tokens", v)
	}
	if v, ok := nonNull(n, "secrets"); ok {
		c.secrets(loc+":secrets", v)
	}
	if v, ok := nonNull(n, "dast_configuration"); ok {
		c.dastConfiguration(loc+":dast_configuration", v)
	}
	if v, ok := nonNull(n, "run"); ok {
		c.runSteps(loc+":run", v)
	}
	j.IDTokens = n.get("id_tokens").rawJSON()
	j.Secrets = n.get("secrets").rawJSON()
	j.Release = n.get("release").rawJSON()
	j.Pages = n.get("pages").rawJSON()
	j.Inherit = n.get("inherit").rawJSON()
	j.Dast = n.get("dast_configuration").rawJSON()
	j.Run = n.get("run").rawJSON()
	if v, ok := nonNull(n, "identity"); ok {
		j.Identity = c.identity(loc+" identity", v)
	}
}

var hookKeys = set("pre_get_sources_script")

func (c *compiler) hooks(loc string, h *node) {
	if !h.isMap() {
		c.errs.addf(h, "%s config should be a hash", loc)
		return
	}
	if bad := unknownKeys(h, hookKeys); bad != "" {
		c.errs.addf(firstUnknown(h, hookKeys), "%s config contains unknown keys: %s", loc, bad)
	}
	for _, p := range h.pairs {
		if hookKeys[p.key] {
			c.script(loc+":"+p.key, orNull(p.val, h))
		}
	}
}
