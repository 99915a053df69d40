package ci

import (
	"context"
	"errors"
)

// LintResult is GitLab's CI Lint API answer
// (POST /projects/:id/ci/lint), extended with stages: the shape `gantry ci
// lint --json` prints and the server's lint endpoint returns.
type LintResult struct {
	Valid      bool      `json:"valid"`
	Errors     []string  `json:"errors"`
	Warnings   []string  `json:"warnings"`
	MergedYAML string    `json:"merged_yaml"`
	Stages     []string  `json:"stages"`
	Jobs       []LintJob `json:"jobs"`
	// Positioned holds Errors with their positions, for tools.
	Positioned []*Error `json:"-"`
}

// LintJob is one job as CI Lint lists it.
type LintJob struct {
	Name         string            `json:"name"`
	Stage        string            `json:"stage"`
	BeforeScript []string          `json:"before_script"`
	Script       []string          `json:"script"`
	AfterScript  []string          `json:"after_script"`
	TagList      []string          `json:"tag_list"`
	Environment  *string           `json:"environment"`
	When         string            `json:"when"`
	AllowFailure bool              `json:"allow_failure"`
	Needs        []string          `json:"needs"`
	Variables    map[string]string `json:"variables"`
	Image        *string           `json:"image"`
	Only         *Filter           `json:"only"`
	Except       *Filter           `json:"except"`
}

// Lint compiles src like Compile and reports the outcome as CI Lint does:
// configuration errors and "no pipeline" outcomes make the result
// invalid; only other failures (an Includer error, ctx cancelled) are
// returned as an error.
func Lint(ctx context.Context, src []byte, opts Options) (*LintResult, error) {
	res := &LintResult{Errors: []string{}, Warnings: []string{}, Stages: []string{}, Jobs: []LintJob{}}
	plan, err := Compile(ctx, src, opts)
	var list Errors
	switch {
	case errors.As(err, &list):
		for _, e := range list {
			res.Errors = append(res.Errors, e.Error())
			res.Positioned = append(res.Positioned, e)
		}
		return res, nil
	case err != nil:
		return nil, err
	}
	res.MergedYAML = plan.MergedYAML
	res.Warnings = append(res.Warnings, plan.Warnings...)
	if plan.Filtered != "" {
		res.Errors = append(res.Errors, plan.Filtered)
		return res, nil
	}
	res.Valid = true
	res.Stages = plan.Stages
	for _, j := range plan.Jobs {
		res.Jobs = append(res.Jobs, lintJob(j))
	}
	return res, nil
}

func lintJob(j *Job) LintJob {
	lj := LintJob{Name: j.Name, Stage: j.Stage, BeforeScript: nonNil(j.BeforeScript),
		Script: nonNil(j.Script), AfterScript: nonNil(j.AfterScript), TagList: nonNil(j.Tags),
		When: j.When, AllowFailure: j.AllowFailure, Only: j.Only, Except: j.Except,
		Variables: make(map[string]string, len(j.Variables))}
	if j.Environment != nil {
		lj.Environment = &j.Environment.Name
	}
	if j.Image != nil {
		lj.Image = &j.Image.Name
	}
	if j.Needs != nil {
		lj.Needs = make([]string, 0, len(j.Needs))
		for _, n := range j.Needs {
			lj.Needs = append(lj.Needs, n.Job)
		}
	}
	for _, v := range j.Variables {
		lj.Variables[v.Key] = v.Value
	}
	return lj
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
