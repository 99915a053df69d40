package ci

// jobEval decides, per job instance, whether it is in the pipeline and
// with which when/allow_failure/variables.
type jobEval struct {
	c           *compiler
	cfg         *config
	top         map[string]Variable // CI + pipeline variables
	predefined  map[string]Variable
	globals     []Variable
	globalLayer map[string]Variable
}

// inheritedGlobals returns the global variables the job inherits.
func (ev *jobEval) inheritedGlobals(d *jobDef) ([]Variable, map[string]Variable) {
	spec := d.inheritVars
	switch {
	case spec.none:
		return nil, nil
	case spec.keys == nil:
		return ev.globals, ev.globalLayer
	}
	var vs []Variable
	for _, v := range ev.globals {
		if spec.keys[v.Key] {
			vs = append(vs, v)
		}
	}
	return vs, layer(vs)
}

func (ev *jobEval) include(in *instance) error {
	d, j := in.def, in.job
	globals, globalLayer := ev.inheritedGlobals(d)
	own := mergeVars(d.vars, in.matrix)
	jobLayer := layer(JobPredefined(j), own)
	layers := []map[string]Variable{ev.top, jobLayer}
	if globalLayer != nil {
		layers = append(layers, globalLayer)
	}
	sc := stack(append(layers, ev.predefined)...)

	var matched *rule
	switch {
	case d.hasRules:
		r, err := ev.c.firstMatch(d.rules, sc)
		if err != nil {
			return err
		}
		if r == nil || r.when == "never" {
			return nil
		}
		matched = r
		for i, x := range d.rules {
			if x == r {
				j.Rule = RuleOutcome{Source: "rules", Matched: i + 1}
			}
		}
	default:
		if !ev.filtersAllow(d, sc) {
			return nil
		}
		j.Rule = RuleOutcome{Source: "only_except"}
		if d.only == nil && d.except == nil {
			j.Rule.Source = "default"
		}
	}
	ev.applyRule(in, matched)
	vars := mergeVars(globals, own)
	if matched != nil && len(matched.variables) > 0 {
		vars = mergeVars(vars, matched.variables)
		sc = stack(append([]map[string]Variable{ev.top, layer(matched.variables)}, sc.layers[1:]...)...)
	}
	j.Variables = vars
	ev.expandGitLabSide(j, sc)
	in.keep = true
	return nil
}

// filtersAllow evaluates only/except, with GitLab's default of
// only: [branches, tags] unless workflow:rules is used.
func (ev *jobEval) filtersAllow(d *jobDef, sc *scope) bool {
	only := d.only
	if only == nil && !ev.cfg.workflow.hasRules {
		only = &filter{refs: []string{"branches", "tags"}}
	}
	if only != nil && !ev.c.filterMatches(only, sc) {
		return false
	}
	if d.except != nil && ev.c.filterMatches(d.except, sc) {
		return false
	}
	return true
}

// applyRule sets when, allow_failure, start_in, needs and interruptible
// from the matched rule (nil without rules).
func (ev *jobEval) applyRule(in *instance, r *rule) {
	d, j := in.def, in.job
	fromJob := r == nil || r.when == ""
	if !fromJob {
		j.When = r.when
	}
	switch {
	case r != nil && r.allowFailure != nil:
		j.AllowFailure, j.AllowFailureExitCodes = *r.allowFailure, r.exitCodes
		if r.exitCodes != nil {
			j.AllowFailure = false
		}
	case d.afSet:
	default:
		// A manual job is optional when when:manual comes from the job; a
		// rule that says when:manual makes it blocking.
		j.AllowFailure = j.When == "manual" && fromJob
	}
	if r == nil {
		return
	}
	if r.startIn != "" {
		j.StartIn = r.startIn
	}
	if j.When != "delayed" {
		j.StartIn = ""
	}
	if r.needsSet {
		in.needs = r.needs
	}
	if r.interruptible != nil {
		j.Interruptible = r.interruptible
	}
}

// expandGitLabSide expands the keywords GitLab itself expands:
// environment name and url, tags, resource_group, cache:key:files and
// trigger targets.
// Unknown references are kept.
func (ev *jobEval) expandGitLabSide(j *Job, sc *scope) {
	if e := j.Environment; e != nil {
		c := *e
		c.Name, c.URL = sc.expand(c.Name), sc.expand(c.URL)
		j.Environment = &c
	}
	if len(j.Tags) > 0 {
		tags := make([]string, len(j.Tags))
		for i, t := range j.Tags {
			tags[i] = sc.expand(t)
		}
		j.Tags = tags
	}
	j.ResourceGroup = sc.expand(j.ResourceGroup)
	if len(j.Cache) > 0 {
		// cache:key:files name the files whose content the server hashes.
		caches := append([]Cache(nil), j.Cache...)
		for i, c := range caches {
			if len(c.KeyFiles) > 0 {
				files := make([]string, len(c.KeyFiles))
				for k, f := range c.KeyFiles {
					files[k] = sc.expand(f)
				}
				caches[i].KeyFiles = files
			}
		}
		j.Cache = caches
	}
	if t := j.Trigger; t != nil {
		c := *t
		c.Project, c.Branch = sc.expand(c.Project), sc.expand(c.Branch)
		j.Trigger = &c
	}
}
