package ci

import (
	"crypto/sha256"
	"math/big"
	"strconv"
	"strings"
)

// instance is one job of the pipeline-to-be: a jobDef, or one of its
// parallel copies.
type instance struct {
	def    *jobDef
	job    *Job
	matrix []Variable // nil unless parallel:matrix
	needs  []needDef
	keep   bool
}

// evaluate applies workflow:rules, expands parallel jobs, evaluates job
// rules and only/except, then resolves needs, dependencies and stages.
func (c *compiler) evaluate(cfg *config) (*Plan, error) {
	plan := &Plan{Stages: []string{}, Jobs: []*Job{}}
	predefined := layer(Predefined(c.opts))
	top := layer(c.opts.CIVariables, c.opts.PipelineVariables)
	globals := cfg.variables
	base := stack(top, layer(globals), predefined)
	autoCancel := cfg.workflow.autoCancel
	if cfg.workflow.hasRules {
		r, err := c.firstMatch(cfg.workflow.rules, base)
		if err != nil {
			return nil, err
		}
		if r == nil || r.when == "never" {
			plan.Filtered = FilteredByWorkflow
			return plan, nil
		}
		if len(r.variables) > 0 {
			plan.Workflow.RuleVariables = r.variables
			globals = mergeVars(globals, r.variables)
			base = stack(top, layer(globals), predefined)
		}
		if r.autoCancel.isMap() {
			autoCancel = deepMerge(autoCancel, r.autoCancel) // the rule's settings win
		}
	}
	plan.Variables = globals
	plan.Workflow.Name = base.expand(cfg.workflow.name)
	if autoCancel != nil {
		plan.Workflow.AutoCancel = autoCancel.rawJSON()
	}
	insts, err := c.instances(cfg)
	if err != nil {
		return nil, err
	}
	ev := &jobEval{c: c, cfg: cfg, top: top, predefined: predefined, globals: globals,
		globalLayer: layer(globals)}
	for _, in := range insts {
		if err := ev.include(in); err != nil {
			return nil, err
		}
	}
	if err := c.link(cfg, insts); err != nil {
		return nil, err
	}
	c.assemble(plan, cfg, insts)
	return plan, nil
}

// instances expands parallel: and parallel:matrix into separate jobs.
func (c *compiler) instances(cfg *config) ([]*instance, error) {
	var out []*instance
	for _, d := range cfg.jobs {
		switch {
		case len(d.matrix) > 0:
			for i, m := range d.matrix {
				j := d.job
				j.Name = matrixName(d.name, m)
				j.Parallel = &Parallel{Index: i + 1, Total: len(d.matrix), Base: d.name, Matrix: m}
				out = append(out, &instance{def: d, job: &j, matrix: m, needs: d.needs})
			}
		case d.parallel > 0:
			for i := 1; i <= d.parallel; i++ {
				j := d.job
				j.Name = d.name + " " + strconv.Itoa(i) + "/" + strconv.Itoa(d.parallel)
				j.Parallel = &Parallel{Index: i, Total: d.parallel, Base: d.name}
				out = append(out, &instance{def: d, job: &j, needs: d.needs})
			}
		default:
			j := d.job
			out = append(out, &instance{def: d, job: &j, needs: d.needs})
		}
		if len(out) > c.lim.MaxJobs {
			return nil, errorf(d.at, "the pipeline has too many jobs (more than %d)", c.lim.MaxJobs)
		}
	}
	return out, nil
}

// mergeVars returns base with over applied: same keys replaced in place,
// new keys appended.
func mergeVars(base, over []Variable) []Variable {
	out := make([]Variable, len(base), len(base)+len(over))
	copy(out, base)
	for _, v := range over {
		replaced := false
		for i := range out {
			if out[i].Key == v.Key {
				out[i] = v
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, v)
		}
	}
	return out
}

// JobPredefined returns the job-level predefined variables GitLab makes
// available to rules and, later, to the job: CI_JOB_NAME(_SLUG),
// CI_JOB_STAGE, CI_NODE_INDEX/TOTAL, CI_JOB_MANUAL and CI_ENVIRONMENT_*.
func JobPredefined(j *Job) []Variable {
	vs := []Variable{
		{Key: "CI_JOB_NAME", Value: j.Name},
		{Key: "CI_JOB_NAME_SLUG", Value: Slug(j.Name)},
		{Key: "CI_JOB_STAGE", Value: j.Stage},
		{Key: "CI_NODE_TOTAL", Value: "1"},
	}
	if j.Parallel != nil {
		vs[3].Value = strconv.Itoa(j.Parallel.Total)
		vs = append(vs, Variable{Key: "CI_NODE_INDEX", Value: strconv.Itoa(j.Parallel.Index)})
	}
	if j.When == "manual" {
		vs = append(vs, Variable{Key: "CI_JOB_MANUAL", Value: "true"})
	}
	if e := j.Environment; e != nil {
		vs = append(vs, Variable{Key: "CI_ENVIRONMENT_NAME", Value: e.Name},
			Variable{Key: "CI_ENVIRONMENT_SLUG", Value: EnvironmentSlug(e.Name)},
			Variable{Key: "CI_ENVIRONMENT_ACTION", Value: e.Action})
		if e.URL != "" {
			vs = append(vs, Variable{Key: "CI_ENVIRONMENT_URL", Value: e.URL})
		}
		if e.DeploymentTier != "" {
			vs = append(vs, Variable{Key: "CI_ENVIRONMENT_TIER", Value: e.DeploymentTier})
		}
	}
	return vs
}

// EnvironmentSlug is GitLab's environment slug (CI_ENVIRONMENT_SLUG): the name
// lowercased with every other character than a-z and 0-9 made a dash,
// "env-" in front unless it starts with a letter, dashes squeezed. When
// that changed the name or is longer than 24 characters, the first 17
// characters and "-" and the last 6 base-36 digits of the name's SHA-256
// keep it unique; otherwise a trailing dash is dropped.
func EnvironmentSlug(name string) string {
	b := []byte(strings.ToLower(name))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	s := string(b)
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "env-" + s
	}
	for strings.Contains(s, "--") {
		s = strings.ReplaceAll(s, "--", "-")
	}
	if len(s) <= 24 && s == name {
		return strings.TrimSuffix(s, "-")
	}
	sum := sha256.Sum256([]byte(name))
	digits := new(big.Int).SetBytes(sum[:]).Text(36)
	return s[:min(len(s), 17)] + "-" + digits[max(0, len(digits)-6):]
}
