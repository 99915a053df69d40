package ci

import (
	"fmt"
	"strings"
)

// linker resolves needs and dependencies once every instance is known.
type linker struct {
	c        *compiler
	cfg      *config
	stageIdx map[string]int
	byBase   map[string][]*instance // every instance of a job, kept or not
}

func (c *compiler) link(cfg *config, insts []*instance) error {
	l := &linker{c: c, cfg: cfg, stageIdx: map[string]int{}, byBase: map[string][]*instance{}}
	for i, s := range cfg.stages {
		l.stageIdx[s] = i
	}
	for _, in := range insts {
		l.byBase[in.def.name] = append(l.byBase[in.def.name], in)
	}
	for _, in := range insts {
		if !in.keep {
			continue
		}
		if err := l.needs(in); err != nil {
			return err
		}
		if err := l.dependencies(in, insts); err != nil {
			return err
		}
	}
	return l.cycles(insts)
}

func (l *linker) fail(in *instance, at *node, format string, args ...any) error {
	if at == nil {
		at = in.def.at
	}
	return errorf(at, format, args...)
}

func (l *linker) needs(in *instance) error {
	j := in.job
	if !in.def.needsSet && in.needs == nil {
		return nil
	}
	j.Needs = make([]Need, 0, len(in.needs))
	loc := "jobs:" + in.def.name + ":needs"
	for _, nd := range in.needs {
		if nd.pipeline != "" || nd.project != "" {
			j.Needs = append(j.Needs, Need{Job: nd.job, Artifacts: nd.artifacts, Optional: nd.optional,
				Pipeline: nd.pipeline, Project: nd.project, Ref: nd.ref})
			continue
		}
		if nd.job == in.def.name {
			return l.fail(in, nd.at, "The pipeline has circular dependencies: self-dependency: %s.", j.Name)
		}
		producers, ok := l.byBase[nd.job]
		if !ok {
			if nd.optional {
				continue
			}
			return l.fail(in, nd.at, "%s: undefined need: %s", loc, nd.job)
		}
		if l.stageIdx[producers[0].job.Stage] > l.stageIdx[j.Stage] {
			return l.fail(in, nd.at, "%s: need %s is not defined in current or prior stages", loc, nd.job)
		}
		names, err := l.needTargets(in, nd, producers)
		if err != nil {
			return l.fail(in, nd.at, "%v", err)
		}
		for _, name := range names {
			p := l.find(producers, name)
			if !p.keep {
				if nd.optional {
					continue
				}
				return l.fail(in, nd.at, "'%s' job needs '%s' job, but '%s' is not in the pipeline (its rules or only/except excluded it)", j.Name, name, name)
			}
			j.Needs = append(j.Needs, Need{Job: name, Artifacts: nd.artifacts, Optional: nd.optional})
		}
	}
	return nil
}

func (l *linker) needTargets(in *instance, nd needDef, producers []*instance) ([]string, error) {
	if len(nd.matrix) > 0 {
		jobs := make([]*Job, len(producers))
		for i, p := range producers {
			jobs[i] = p.job
		}
		hasMatrix := len(producers[0].def.matrix) > 0
		return selectInstances(in.job.Name, in.matrix, nd, jobs, hasMatrix)
	}
	names := make([]string, len(producers))
	for i, p := range producers {
		names[i] = p.job.Name
	}
	return names, nil
}

func (l *linker) find(producers []*instance, name string) *instance {
	for _, p := range producers {
		if p.job.Name == name {
			return p
		}
	}
	return producers[0]
}

// dependencies validates dependencies: and resolves the artifact sources.
func (l *linker) dependencies(in *instance, insts []*instance) error {
	j, d := in.job, in.def
	loc := "jobs:" + d.name
	if !d.depsSet {
		j.Dependencies = l.defaultDependencies(in, insts)
		return nil
	}
	j.Dependencies = []string{}
	for _, dep := range d.deps {
		producers, ok := l.byBase[dep]
		if !ok {
			return l.fail(in, nil, "%s:dependencies: undefined dependency: %s", loc, dep)
		}
		if len(j.Needs) > 0 && !l.inNeeds(j, dep, producers) {
			return l.fail(in, nil, "%s dependencies the %s should be part of needs", loc, dep)
		}
		if l.stageIdx[producers[0].job.Stage] >= l.stageIdx[j.Stage] && !l.inNeeds(j, dep, producers) {
			return l.fail(in, nil, "%s:dependencies: dependency %s is not defined in prior stages", loc, dep)
		}
		for _, p := range producers {
			if !p.keep {
				return l.fail(in, nil, "%s:dependencies: job %s is not in the pipeline (its rules or only/except excluded it)", loc, p.job.Name)
			}
			// With needs, artifacts come only from needed jobs that keep
			// them (needs:artifacts: false wins, as GitLab intersects the two).
			if j.Needs == nil || l.needsArtifacts(j, p.job.Name) {
				j.Dependencies = append(j.Dependencies, p.job.Name)
			}
		}
	}
	return nil
}

func (l *linker) inNeeds(j *Job, dep string, producers []*instance) bool {
	for _, n := range j.Needs {
		for _, p := range producers {
			if n.Job == p.job.Name {
				return true
			}
		}
		if n.Job == dep {
			return true
		}
	}
	return false
}

// needsArtifacts reports whether j needs the job named name with its
// artifacts.
func (l *linker) needsArtifacts(j *Job, name string) bool {
	for _, n := range j.Needs {
		if n.Job == name && n.Artifacts && n.Pipeline == "" && n.Project == "" {
			return true
		}
	}
	return false
}

// defaultDependencies: the needs with artifacts, else every kept job of
// an earlier stage.
func (l *linker) defaultDependencies(in *instance, insts []*instance) []string {
	j := in.job
	deps := []string{}
	if j.Needs != nil {
		for _, n := range j.Needs {
			if n.Artifacts && n.Pipeline == "" && n.Project == "" {
				deps = append(deps, n.Job)
			}
		}
		return deps
	}
	me := l.stageIdx[j.Stage]
	for _, o := range insts {
		if o.keep && l.stageIdx[o.job.Stage] < me {
			deps = append(deps, o.job.Name)
		}
	}
	return deps
}

// cycles rejects needs cycles (possible since needs may point within a
// stage).
func (l *linker) cycles(insts []*instance) error {
	byName := map[string]*instance{}
	for _, in := range insts {
		if in.keep {
			byName[in.job.Name] = in
		}
	}
	state := map[string]int{} // 1 visiting, 2 done
	var path []string
	var visit func(name string) error
	visit = func(name string) error {
		switch state[name] {
		case 1:
			return fmt.Errorf("The pipeline has circular dependencies: %s", strings.Join(append(path, name), " -> "))
		case 2:
			return nil
		}
		state[name] = 1
		path = append(path, name)
		for _, n := range byName[name].job.Needs {
			if _, ok := byName[n.Job]; ok && n.Pipeline == "" && n.Project == "" {
				if err := visit(n.Job); err != nil {
					return err
				}
			}
		}
		path = path[:len(path)-1]
		state[name] = 2
		return nil
	}
	for _, in := range insts {
		if in.keep {
			if err := visit(in.job.Name); err != nil {
				return errorf(in.def.at, "%v", err)
			}
		}
	}
	return nil
}

// assemble drops empty stages and orders the kept jobs by stage.
func (c *compiler) assemble(plan *Plan, cfg *config, insts []*instance) {
	used := map[string]bool{}
	onlyEdges := true
	for _, in := range insts {
		if in.keep {
			used[in.job.Stage] = true
			if in.job.Stage != ".pre" && in.job.Stage != ".post" {
				onlyEdges = false
			}
		}
	}
	if len(used) == 0 || onlyEdges {
		plan.Filtered = FilteredNoJobs
		return
	}
	for _, s := range cfg.stages {
		if !used[s] {
			continue
		}
		idx := len(plan.Stages)
		plan.Stages = append(plan.Stages, s)
		for _, in := range insts {
			if in.keep && in.job.Stage == s {
				in.job.StageIndex = idx
				plan.Jobs = append(plan.Jobs, in.job)
			}
		}
	}
}
