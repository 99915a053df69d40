package runnertest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/gantry-ci/gantry/gitlab"
)

// Spec describes a job to build a GitLab-shaped payload from.
type Spec struct {
	ID          int64
	Name        string // default "test"
	Project     string // path, default group/project
	Sha         string
	Pipeline    int64 // default 7
	Script      []string
	AfterScript []string
	Variables   []gitlab.JobVariable
	Artifacts   []gitlab.JobArtifact
	Cache       []gitlab.JobCache
	Deps        []gitlab.JobDependency
	Image       gitlab.JobImage
	Services    []gitlab.JobImage
	Timeout     int // seconds, default 3600
	Depth       int // default 20
}

// Payload builds the job payload GitLab would send for spec, with the
// predefined variables the runner reads.
func (s *Server) Payload(sp Spec) *gitlab.JobPayload {
	if sp.Name == "" {
		sp.Name = "test"
	}
	if sp.Project == "" {
		sp.Project = "group/project"
	}
	if sp.Pipeline == 0 {
		sp.Pipeline = 7
	}
	if sp.Timeout == 0 {
		sp.Timeout = 3600
	}
	if sp.Depth == 0 {
		sp.Depth = 20
	}
	token := fmt.Sprintf("glcbt-jobtoken%d", sp.ID)
	u, _ := url.Parse(s.URL)
	repo := fmt.Sprintf("%s://gitlab-ci-token:%s@%s/%s.git", u.Scheme, token, u.Host, sp.Project)
	name := sp.Project[strings.LastIndex(sp.Project, "/")+1:]
	pub := func(k, v string) gitlab.JobVariable { return gitlab.JobVariable{Key: k, Value: v, Public: true} }
	vars := []gitlab.JobVariable{
		pub("CI", "true"), pub("GITLAB_CI", "true"), pub("CI_SERVER_URL", s.URL), pub("CI_SERVER_HOST", u.Hostname()),
		pub("CI_JOB_ID", fmt.Sprint(sp.ID)), pub("CI_JOB_NAME", sp.Name), pub("CI_JOB_STAGE", "test"),
		{Key: "CI_JOB_TOKEN", Value: token, Masked: true},
		pub("CI_PIPELINE_ID", fmt.Sprint(sp.Pipeline)), pub("CI_PROJECT_ID", "1"), pub("CI_PROJECT_NAME", name),
		pub("CI_PROJECT_PATH", sp.Project), pub("CI_COMMIT_SHA", sp.Sha), pub("CI_COMMIT_REF_NAME", "main"),
		{Key: "CI_REPOSITORY_URL", Value: repo},
	}
	steps := []gitlab.JobStep{{Name: "script", Script: sp.Script, Timeout: sp.Timeout, When: "on_success"}}
	if len(sp.AfterScript) > 0 {
		steps = append(steps, gitlab.JobStep{Name: "after_script", Script: sp.AfterScript, Timeout: sp.Timeout, When: "always", AllowFailure: true})
	}
	for i := range sp.Deps {
		if sp.Deps[i].Token == "" {
			sp.Deps[i].Token = token
		}
	}
	return &gitlab.JobPayload{
		ID: sp.ID, Token: token, AllowGitFetch: true,
		JobInfo: gitlab.JobInfo{Name: sp.Name, Stage: "test", ProjectID: 1, ProjectName: name, ProjectFullPath: sp.Project, PipelineID: sp.Pipeline},
		GitInfo: gitlab.GitInfo{
			RepoURL: repo, RepoObjectFormat: "sha1", Ref: "main", Sha: sp.Sha,
			BeforeSha: strings.Repeat("0", 40), RefType: "branch", Depth: sp.Depth,
			Refspecs: []string{fmt.Sprintf("+refs/pipelines/%d:refs/pipelines/%d", sp.Pipeline, sp.Pipeline), "+refs/heads/main:refs/remotes/origin/main"},
		},
		RunnerInfo:   gitlab.JobRunnerInfo{Timeout: sp.Timeout},
		Variables:    append(vars, sp.Variables...),
		Steps:        steps,
		Artifacts:    sp.Artifacts,
		Image:        sp.Image,
		Services:     sp.Services,
		Cache:        sp.Cache,
		Dependencies: sp.Deps,
		Features: gitlab.JobFeatures{
			TraceSections: true, TokenMaskPrefixes: []string{"glpat-", "glcbt-"},
			FailureReasons: []string{"unknown_failure", "script_failure", "api_failure", "stuck_or_timeout_failure", "runner_system_failure", "job_execution_timeout"},
		},
	}
}

func writeBody(w http.ResponseWriter, p *gitlab.JobPayload) {
	_ = json.NewEncoder(w).Encode(p)
}
