package ci

import (
	"encoding/json"
	"regexp"
	"strconv"
	"strings"
)

func (c *compiler) jobRunnerKeys(loc string, n *node, d *jobDef) {
	j := &d.job
	if v, ok := nonNull(n, "image"); ok {
		j.Image = c.image(loc+":image", v)
	}
	if v, ok := nonNull(n, "services"); ok {
		j.Services = c.services(loc+":services", v)
	}
	if v, ok := nonNull(n, "variables"); ok {
		d.vars = c.variables(loc+":variables", v)
	}
	if v, ok := nonNull(n, "tags"); ok {
		j.Tags = c.strList(loc+":tags", v)
	}
	if v, ok := nonNull(n, "artifacts"); ok {
		j.Artifacts = c.artifacts(loc+":artifacts", v)
	}
	if v, ok := nonNull(n, "cache"); ok {
		j.Cache = c.caches(loc+":cache", v)
	}
	if v, ok := nonNull(n, "retry"); ok {
		j.Retry = c.retry(loc+":retry", v)
	}
	if v, ok := nonNull(n, "timeout"); ok {
		j.Timeout = c.duration(loc+" timeout", v)
	}
	if v, ok := nonNull(n, "interruptible"); ok {
		b := c.boolean(loc+" interruptible", v)
		j.Interruptible = &b
	}
	if v, ok := nonNull(n, "coverage"); ok {
		j.Coverage = c.coverage(loc+":coverage", v)
	}
	if v, ok := nonNull(n, "parallel"); ok {
		c.parallel(loc+":parallel", v, d)
	}
}

func (c *compiler) jobPipelineKeys(loc string, n *node, d *jobDef) {
	j := &d.job
	if n.has("needs") {
		v := n.get("needs")
		if !v.isNull() {
			d.needsSet = true
			d.needs = c.needDefs(loc+":needs", v)
		}
	}
	if v, ok := nonNull(n, "dependencies"); ok {
		d.depsSet = true
		d.deps = c.strList(loc+":dependencies", v)
	}
	if v, ok := nonNull(n, "environment"); ok {
		j.Environment = c.environment(loc+":environment", v)
	}
	if v, ok := nonNull(n, "resource_group"); ok {
		j.ResourceGroup = c.str(loc+" resource_group", v)
	}
	if v, ok := nonNull(n, "trigger"); ok {
		j.Trigger = c.trigger(loc+":trigger", v)
	}
}

var imageKeys = set("name", "entrypoint", "pull_policy", "docker", "kubernetes")

func (c *compiler) image(loc string, v *node) *Image {
	if v.isStr() {
		return &Image{Name: v.str}
	}
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash or a string", loc)
		return nil
	}
	if bad := unknownKeys(v, imageKeys); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	img := &Image{Name: c.str(loc+" name", orNull(v.get("name"), v)),
		Docker: c.executorOpts(loc, v, "docker"), Kubernetes: c.executorOpts(loc, v, "kubernetes")}
	if e, ok := nonNull(v, "entrypoint"); ok {
		img.Entrypoint = c.nonEmptyList(loc+" entrypoint", e)
	}
	if p, ok := nonNull(v, "pull_policy"); ok {
		img.PullPolicy = c.pullPolicy(loc, p)
	}
	return img
}

// orNull returns v, or a null node positioned at parent so that the
// "should be a string" error has a place.
func orNull(v, parent *node) *node {
	if v == nil {
		return &node{kind: nullNode, pos: parent.pos}
	}
	return v
}

// nonEmptyList reads an array of strings with at least one entry
// (entrypoint, command).
func (c *compiler) nonEmptyList(loc string, v *node) []string {
	if !v.isSeq() || len(v.items) == 0 {
		c.errs.addf(v, "%s config should be a non-empty array of strings", loc)
		return nil
	}
	return c.strList(loc, v)
}

var executorKeys = map[string]map[string]bool{
	"docker":     set("platform", "user"),
	"kubernetes": set("user"),
}

// executorOpts validates image/service docker: and kubernetes: options
// (non-empty scalar values of known keys) and keeps them as JSON.
func (c *compiler) executorOpts(loc string, v *node, key string) json.RawMessage {
	if !v.has(key) {
		return nil
	}
	o := v.get(key)
	if !o.isMap() {
		c.errs.addf(v.keyNode(key), "%s %s config should be a hash", loc, key)
		return nil
	}
	if bad := unknownKeys(o, executorKeys[key]); bad != "" {
		c.errs.addf(firstUnknown(o, executorKeys[key]), "%s %s config contains unknown keys: %s", loc, key, bad)
	}
	for _, p := range o.pairs {
		if !p.val.isScalar() || p.val.kind == boolNode || p.val.str == "" {
			c.errs.addf(orNull(p.val, o), "%s %s:%s should be a non-empty string", loc, key, p.key)
		}
	}
	return o.rawJSON()
}

func (c *compiler) pullPolicy(loc string, v *node) []string {
	if v.isSeq() && len(v.items) == 0 {
		c.errs.addf(v, "%s pull_policy config can't be an empty array", loc)
		return nil
	}
	ps := c.strList(loc+" pull_policy", v)
	for _, p := range ps {
		if p != "always" && p != "never" && p != "if-not-present" {
			c.errs.addf(v, "%s pull_policy should be always, never or if-not-present", loc)
		}
	}
	return ps
}

var serviceKeys = set("name", "entrypoint", "command", "alias", "pull_policy", "variables", "docker", "kubernetes")

func (c *compiler) services(loc string, v *node) []Service {
	items, ok := flattenSeq(v, 1)
	if !ok {
		c.errs.addf(v, "%s config should be a array", loc)
		return nil
	}
	out := make([]Service, 0, len(items))
	for _, it := range items {
		if it.isStr() {
			out = append(out, Service{Name: it.str})
			continue
		}
		if !it.isMap() {
			c.errs.addf(it, "%s:service config should be a hash or a string", loc)
			continue
		}
		if bad := unknownKeys(it, serviceKeys); bad != "" {
			c.errs.addf(it, "%s:service config contains unknown keys: %s", loc, bad)
		}
		s := Service{Name: c.str(loc+":service name", orNull(it.get("name"), it)),
			Docker: c.executorOpts(loc+":service", it, "docker"), Kubernetes: c.executorOpts(loc+":service", it, "kubernetes")}
		if a, ok := nonNull(it, "alias"); ok {
			s.Alias = c.str(loc+":service alias", a)
		}
		if e, ok := nonNull(it, "entrypoint"); ok {
			s.Entrypoint = c.nonEmptyList(loc+":service entrypoint", e)
		}
		if e, ok := nonNull(it, "command"); ok {
			s.Command = c.nonEmptyList(loc+":service command", e)
		}
		if p, ok := nonNull(it, "pull_policy"); ok {
			s.PullPolicy = c.pullPolicy(loc+":service", p)
		}
		if vs, ok := nonNull(it, "variables"); ok {
			s.Variables = c.variables(loc+":service:variables", vs)
		}
		out = append(out, s)
	}
	return out
}

var variableKeys = set("value", "description", "options", "expand")

// variables reads a variables: hash. Values are strings or numbers, or
// hashes with value/description/options/expand; null is an empty value.
func (c *compiler) variables(loc string, v *node) []Variable {
	if v.isNull() {
		return nil
	}
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash of key value pairs", loc)
		return nil
	}
	out := make([]Variable, 0, len(v.pairs))
	for _, p := range v.pairs {
		val := p.val
		vr := Variable{Key: p.key}
		switch {
		case val.isNull():
		case val.kind == strNode || val.kind == intNode || val.kind == floatNode:
			vr.Value = val.str
		case val.isMap():
			if !c.variableHash(loc, p.key, val, &vr) {
				continue
			}
		case val.kind == boolNode:
			c.errs.addf(val, "%s config should be a hash of key value pairs, value can be a hash (quote %s: YAML reads it as a boolean)", loc, p.key)
			continue
		default:
			c.errs.addf(val, "%s config should be a hash of key value pairs, value can be a hash", loc)
			continue
		}
		out = append(out, vr)
	}
	return out
}

func (c *compiler) variableHash(loc, key string, val *node, vr *Variable) bool {
	if bad := unknownKeys(val, variableKeys); bad != "" {
		c.errs.addf(val, "%s:%s config contains unknown keys: %s", loc, key, bad)
		return false
	}
	if x := val.get("value"); !x.isNull() {
		if !x.isScalar() || x.kind == boolNode {
			c.errs.addf(x, "%s:%s value should be a string", loc, key)
			return false
		}
		vr.Value = x.str
	}
	if x := val.get("description"); x != nil {
		vr.Description = x.scalarText()
	}
	if x := val.get("options"); x != nil {
		if !x.isSeq() {
			c.errs.addf(x, "%s:%s options should be an array of strings", loc, key)
			return false
		}
		vr.Options = c.strList(loc+":"+key+" options", x)
		if len(vr.Options) > 0 && !contains(vr.Options, vr.Value) {
			c.errs.addf(x, "%s:%s config value must be present in options", loc, key)
		}
	}
	if x := val.get("expand"); x != nil {
		vr.Raw = !c.boolean(loc+":"+key+" expand", x)
	}
	return true
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

var retryWhens = set("always", "unknown_failure", "script_failure", "api_failure",
	"stuck_or_timeout_failure", "runner_system_failure", "runner_unsupported",
	"stale_schedule", "job_execution_timeout", "archived_failure", "unmet_prerequisites",
	"scheduler_failure", "data_integrity_failure")

func (c *compiler) retry(loc string, v *node) *Retry {
	max := func(x *node) int {
		i, ok := x.intValue()
		if !ok || x.kind != intNode || i < 0 || i > 2 {
			c.errs.addf(x, "%s config should be an integer between 0 and 2 or a hash", loc)
		}
		return i
	}
	if v.kind == intNode {
		return &Retry{Max: max(v)}
	}
	if !v.isMap() {
		c.errs.addf(v, "%s config should be an integer between 0 and 2 or a hash", loc)
		return nil
	}
	if bad := unknownKeys(v, set("max", "when", "exit_codes")); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	r := &Retry{}
	if m, ok := nonNull(v, "max"); ok {
		r.Max = max(m)
	}
	if w, ok := nonNull(v, "when"); ok {
		r.When = c.strList(loc+" when", w)
		for _, x := range r.When {
			if !retryWhens[x] {
				c.errs.addf(w, "%s:when contains unknown values: %s", loc, x)
			}
		}
	}
	if e, ok := nonNull(v, "exit_codes"); ok {
		r.ExitCodes = c.intList(loc+":exit_codes", e)
		seen := map[int]bool{}
		for _, code := range r.ExitCodes {
			if seen[code] {
				c.errs.addf(e, "%s:exit_codes config has duplicate entries: %d", loc, code)
				break
			}
			seen[code] = true
		}
	}
	return r
}

func (c *compiler) coverage(loc string, v *node) string {
	s := c.str(loc, v)
	if s == "" {
		return ""
	}
	if len(s) < 2 || s[0] != '/' || s[len(s)-1] != '/' {
		c.errs.addf(v, "%s config must be a regular expression", loc)
		return s
	}
	if _, err := regexp.Compile(s[1 : len(s)-1]); err != nil {
		c.errs.addf(v, "%s config must be a regular expression", loc)
	}
	return s
}

// durationRE accepts GitLab's human durations: "3600", "1h 30m",
// "2 hours", "1 day 2 hrs", "30 minutes", "1w".
var durationRE = regexp.MustCompile(`^\s*(\d+(\.\d+)?\s*(s|sec|secs|second|seconds|m|min|mins|minute|minutes|h|hr|hrs|hour|hours|d|day|days|w|wk|wks|week|weeks|mo|mos|month|months|y|yr|yrs|year|years)?\s*(and\s*)?,?\s*)+$`)

func (c *compiler) duration(loc string, v *node) string {
	if v.kind == intNode {
		return v.str
	}
	s := c.str(loc, v)
	if s != "" && !durationRE.MatchString(strings.ToLower(s)) && s != "never" {
		c.errs.addf(v, "%s should be a duration", loc)
	}
	return s
}

var envKeys = set("name", "url", "action", "on_stop", "auto_stop_in", "kubernetes", "deployment_tier")
var envActions = set("start", "prepare", "stop", "verify", "access")
var envTiers = set("production", "staging", "testing", "development", "other")

func (c *compiler) environment(loc string, v *node) *Environment {
	if v.isStr() {
		return &Environment{Name: v.str, Action: "start"}
	}
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash or a string", loc)
		return nil
	}
	if bad := unknownKeys(v, envKeys); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	e := &Environment{Action: "start", Kubernetes: v.get("kubernetes").rawJSON()}
	e.Name = c.str(loc+" name", orNull(v.get("name"), v))
	get := func(k string) string {
		if x, ok := nonNull(v, k); ok {
			return c.str(loc+" "+k, x)
		}
		return ""
	}
	e.URL, e.OnStop, e.AutoStopIn, e.DeploymentTier = get("url"), get("on_stop"), get("auto_stop_in"), get("deployment_tier")
	if a := get("action"); a != "" {
		if !envActions[a] {
			c.errs.addf(v.get("action"), "%s action should be start, prepare, stop, verify or access", loc)
		}
		e.Action = a
	}
	if e.DeploymentTier != "" && !envTiers[e.DeploymentTier] {
		c.errs.addf(v.get("deployment_tier"), "%s deployment_tier must be one of production, staging, testing, development, other", loc)
	}
	return e
}

var triggerKeys = set("project", "branch", "strategy", "include", "forward", "inputs")

// projectPathRE is the shape GitLab's schema requires of project paths:
// "group/project" (no leading or trailing slash) or a variable.
var projectPathRE = regexp.MustCompile(`^(?:[^\s/]+(?:/[^\s/]+)+|\$\S+)$`)

func (c *compiler) projectPath(loc string, v *node) string {
	s := c.str(loc, v)
	if !projectPathRE.MatchString(s) || strings.ContainsAny(s, "#?") {
		c.errs.addf(v, "%s should be a project path like group/project", loc)
	}
	return s
}

var triggerIncludeKeys = set("local", "template", "artifact", "job", "project", "file", "ref", "remote", "component", "inputs")

// triggerInclude validates trigger:include entries (child pipelines).
func (c *compiler) triggerInclude(loc string, v *node) {
	items := []*node{v}
	if v.isSeq() {
		items = v.items
	}
	for _, it := range items {
		if it.isStr() {
			continue
		}
		if !it.isMap() {
			c.errs.addf(it, "%s config should be a string or an array of hashes", loc)
			continue
		}
		if bad := unknownKeys(it, triggerIncludeKeys); bad != "" {
			c.errs.addf(firstUnknown(it, triggerIncludeKeys), "%s config contains unknown keys: %s", loc, bad)
		}
		switch {
		case it.has("project") && !it.has("file"):
			c.errs.addf(it, "%s project requires file", loc)
		case it.has("file") && !it.has("project"):
			c.errs.addf(it, "%s file requires project", loc)
		case it.has("artifact") != it.has("job"):
			c.errs.addf(it, "%s artifact and job must be used together", loc)
		}
		if p := it.get("project"); p != nil {
			c.projectPath(loc+" project", p)
		}
	}
}

func (c *compiler) trigger(loc string, v *node) *Trigger {
	if v.isStr() {
		return &Trigger{Project: c.projectPath(loc, v)}
	}
	if !v.isMap() {
		c.errs.addf(v, "%s config should be a hash or a string", loc)
		return nil
	}
	if bad := unknownKeys(v, triggerKeys); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	t := &Trigger{Include: v.get("include").rawJSON(), Forward: v.get("forward").rawJSON(),
		Inputs: v.get("inputs").rawJSON()}
	if x, ok := nonNull(v, "project"); ok {
		t.Project = c.projectPath(loc+" project", x)
	}
	if x, ok := nonNull(v, "include"); ok {
		c.triggerInclude(loc+":include", x)
	}
	if x, ok := nonNull(v, "branch"); ok {
		t.Branch = c.str(loc+" branch", x)
	}
	if x, ok := nonNull(v, "strategy"); ok {
		t.Strategy = c.str(loc+" strategy", x)
		if t.Strategy != "depend" && t.Strategy != "mirror" {
			c.errs.addf(x, "%s strategy should be depend or mirror", loc)
		}
	}
	if v.has("project") && t.Project == "" {
		c.errs.addf(v, "%s project can't be blank", loc)
	}
	if t.Project == "" && t.Include == nil {
		c.errs.addf(v, "%s config must specify either project or include", loc)
	}
	if t.Project != "" && t.Include != nil {
		c.errs.addf(v, "%s config must specify either project or include, not both", loc)
	}
	return t
}

func itoa(i int) string { return strconv.Itoa(i) }
