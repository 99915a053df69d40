package runnerapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/pipeline"
	"github.com/gantry-ci/gantry/store"
)

// failureReasons are the failure reasons Gantry accepts from runners; the
// runner maps any other reason it would report to one of these.
var failureReasons = []string{
	gitlab.FailureScript, gitlab.FailureRunnerSystem, gitlab.FailureJobExecutionTimeout, gitlab.FailureImagePull,
	gitlab.FailureUnknown, gitlab.FailureRunnerConfiguration, gitlab.FailureRunnerExternalDependency,
	gitlab.FailureRunnerInterrupted,
}

// tokenPrefixes are masked in job logs by the runner wherever they appear.
var tokenPrefixes = []string{auth.PersonalTokenPrefix, auth.JobTokenPrefix, auth.RunnerTokenPrefix, auth.TriggerTokenPrefix}

// defaultGitDepth is GitLab's default shallow clone depth for new projects.
const defaultGitDepth = 20

// payloadInput is everything a job payload is made of, loaded up front so
// that buildPayload is a pure function.
type payloadInput struct {
	job         gantry.Job
	spec        ci.Job
	pipeline    gantry.Pipeline
	project     gantry.Project
	runner      gantry.Runner
	token       string
	externalURL string
	predefined  []ci.Variable
	ciVars      []gantry.CIVariable // already chosen for the job's environment
	deps        []dependency
	cacheKeys   map[int]string // cache index → key computed from key:files
}

// dependency is a job whose artifacts this job downloads.
type dependency struct {
	job     gantry.Job
	archive *store.Artifact // nil when it has none
	dotenv  []gantry.PipelineVariable
}

// payload loads what a job needs and builds its payload.
func (s *Server) payload(ctx context.Context, j gantry.Job, runner gantry.Runner, token string) (gitlab.JobPayload, error) {
	in := payloadInput{job: j, runner: runner, token: token, externalURL: strings.TrimSuffix(s.ExternalURL.String(), "/")}
	if err := json.Unmarshal(j.Spec, &in.spec); err != nil {
		return gitlab.JobPayload{}, fmt.Errorf("decode job %d: %w", j.ID, err)
	}
	var err error
	if in.pipeline, err = s.Store.Pipeline(ctx, j.PipelineID); err != nil {
		return gitlab.JobPayload{}, err
	}
	if in.project, err = s.Store.Project(ctx, j.ProjectID); err != nil {
		return gitlab.JobPayload{}, err
	}
	in.predefined = s.Pipelines.Predefined(ctx, in.pipeline, in.project)
	if s.Variables != nil {
		vars, err := s.Variables.CIVariables(ctx, in.project, in.pipeline.Protected)
		if err != nil {
			return gitlab.JobPayload{}, err
		}
		env := ""
		if in.spec.Environment != nil {
			env = in.spec.Environment.Name
		}
		in.ciVars = gantry.ForEnvironment(vars, env)
	}
	if in.deps, err = s.dependencies(ctx, j, in.spec); err != nil {
		return gitlab.JobPayload{}, err
	}
	in.cacheKeys = s.cacheKeys(ctx, in.project, in.pipeline.SHA, in.spec.Cache)
	if masks := maskedValues(in.ciVars); len(masks) > 0 {
		if err := s.Store.RecordJobMasks(ctx, j.ID, masks); err != nil {
			return gitlab.JobPayload{}, err
		}
	}
	return buildPayload(in), nil
}

// dependencies resolves the jobs whose artifacts and dotenv variables j
// receives: its dependencies (the compiler already applied needs and stage
// order), by name, latest attempt in the same pipeline.
func (s *Server) dependencies(ctx context.Context, j gantry.Job, spec ci.Job) ([]dependency, error) {
	if len(spec.Dependencies) == 0 {
		return nil, nil
	}
	jobs, _, err := s.Store.ListJobs(ctx, store.JobFilter{PipelineID: j.PipelineID, Ascending: true}, store.Page{Size: 10000})
	if err != nil {
		return nil, err
	}
	byName := map[string]gantry.Job{}
	for _, o := range jobs {
		byName[o.Name] = o
	}
	var deps []dependency
	for _, name := range spec.Dependencies {
		o, ok := byName[name]
		if !ok {
			continue // removed by rules, or optional
		}
		d := dependency{job: o}
		if a, err := s.Store.Artifact(ctx, o.ID, "archive"); err == nil {
			d.archive = &a
		}
		if d.dotenv, err = s.Store.JobDotenv(ctx, o.ID); err != nil {
			return nil, err
		}
		deps = append(deps, d)
	}
	return deps, nil
}

// cacheKeys computes keys of cache:key:files entries: the prefix (if any)
// and a hash of the named files' content at the pipeline's commit, so the
// cache changes exactly when those files do.
func (s *Server) cacheKeys(ctx context.Context, p gantry.Project, sha string, caches []ci.Cache) map[int]string {
	keys := map[int]string{}
	repo := s.Forge.Repos().Repo(p.ID)
	for i, c := range caches {
		if len(c.KeyFiles) == 0 {
			continue
		}
		h := sha256.New()
		found := false
		for _, f := range c.KeyFiles {
			if b, err := repo.ReadFile(ctx, sha, f, 0); err == nil {
				fmt.Fprintf(h, "%s %s\n", f, b.ID)
				found = true
			}
		}
		key := "default"
		if found {
			key = hex.EncodeToString(h.Sum(nil))[:40]
		}
		if c.KeyPrefix != "" {
			key = c.KeyPrefix + "-" + key
		}
		keys[i] = key
	}
	return keys
}

// maskedValues returns the values of the masked variables among vars:
// with the job token, what must never appear in the job's stored log.
func maskedValues(vars []gantry.CIVariable) []string {
	var out []string
	for _, v := range vars {
		if v.Masked && v.Value != "" {
			out = append(out, v.Value)
		}
	}
	return out
}

func pipelineFailure(reason string) pipeline.Result {
	return pipeline.Result{Failed: true, FailureReason: reason}
}

// buildPayload turns a job into GitLab's job payload (RUNNER_PROTOCOL.md §2.4).
func buildPayload(in payloadInput) gitlab.JobPayload {
	j, p, proj := in.job, in.pipeline, in.project
	timeout := j.TimeoutSecs
	if in.runner.MaximumTimeout > 0 && (timeout == 0 || in.runner.MaximumTimeout < timeout) {
		timeout = in.runner.MaximumTimeout
	}
	return gitlab.JobPayload{
		ID: j.ID, Token: in.token, AllowGitFetch: true,
		JobInfo: gitlab.JobInfo{ID: j.ID, Name: j.Name, Stage: j.Stage, ProjectID: proj.ID, ProjectName: proj.Name,
			ProjectFullPath: proj.FullPath(), PipelineID: p.ID, NamespaceID: proj.Namespace.ID,
			RootNamespaceID: rootNamespace(proj), UserID: j.UserID,
			TimeInQueueSeconds: queueTime(j), ProjectJobsRunningOnInstanceRunnersCount: "+Inf"},
		GitInfo:      gitInfo(in),
		RunnerInfo:   gitlab.JobRunnerInfo{Timeout: timeout},
		Variables:    variables(in, timeout),
		Steps:        steps(in.spec, timeout),
		Image:        image(in.spec.Image),
		Services:     services(in.spec.Services),
		Artifacts:    artifacts(in.spec.Artifacts),
		Cache:        caches(in.spec.Cache, in.cacheKeys),
		Credentials:  []gitlab.JobCredentials{},
		Dependencies: dependencyList(in),
		Features:     gitlab.JobFeatures{TraceSections: true, TokenMaskPrefixes: tokenPrefixes, FailureReasons: failureReasons},
		Hooks:        hooks(in.spec.Hooks),
	}
}

func rootNamespace(p gantry.Project) int64 {
	// The namespace id of the top of the path is not loaded; GitLab only
	// uses it for labels. The project's own namespace is close enough
	// for a top-level namespace.
	if p.Namespace.ParentID == 0 {
		return p.Namespace.ID
	}
	return 0
}

func queueTime(j gantry.Job) float64 {
	if j.QueuedAt.IsZero() || j.StartedAt.IsZero() {
		return 0
	}
	return j.StartedAt.Sub(j.QueuedAt).Seconds()
}

// repoURL is the clone URL with the job token as credentials, as GitLab
// sends it.
func repoURL(in payloadInput) string {
	scheme, rest, _ := strings.Cut(in.externalURL, "://")
	return scheme + "://gitlab-ci-token:" + in.token + "@" + rest + "/" + in.project.FullPath() + ".git"
}

func gitInfo(in payloadInput) gitlab.GitInfo {
	p := in.pipeline
	depth := defaultGitDepth
	if v, ok := lookup(in, "GIT_DEPTH"); ok {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 {
			depth = n
		}
	}
	refType, refspecs := "branch", []string{"+refs/pipelines/" + itoa(p.ID) + ":refs/pipelines/" + itoa(p.ID)}
	switch {
	case depth == 0:
		refspecs = append(refspecs, "+refs/heads/*:refs/remotes/origin/*", "+refs/tags/*:refs/tags/*")
	case p.Tag:
		refspecs = append(refspecs, "+refs/tags/"+p.Ref+":refs/tags/"+p.Ref)
	default:
		refspecs = append(refspecs, "+refs/heads/"+p.Ref+":refs/remotes/origin/"+p.Ref)
	}
	if p.Tag {
		refType = "tag"
	}
	protected := p.Protected
	return gitlab.GitInfo{RepoURL: repoURL(in), Ref: p.Ref, Sha: p.SHA, BeforeSha: p.BeforeSHA, RefType: refType,
		Refspecs: refspecs, Depth: depth, Protected: &protected}
}

// lookup finds a variable the job will see (YAML, CI/CD or pipeline).
func lookup(in payloadInput, key string) (string, bool) {
	val, ok := "", false
	for _, v := range in.spec.Variables {
		if v.Key == key {
			val, ok = v.Value, true
		}
	}
	for _, v := range in.ciVars {
		if v.Key == key {
			val, ok = v.Value, true
		}
	}
	for _, v := range in.pipeline.Variables {
		if v.Key == key {
			val, ok = v.Value, true
		}
	}
	return val, ok
}

// variables lists the job's variables in GitLab's precedence order, lowest
// first: the runner lets later duplicates win. Predefined, then YAML
// (global and job, already merged by the compiler), then dotenv of
// dependencies, then CI/CD variables (instance, group, project), then
// pipeline variables.
func variables(in payloadInput, timeout int) []gitlab.JobVariable {
	var out []gitlab.JobVariable
	pub := func(k, v string) { out = append(out, gitlab.JobVariable{Key: k, Value: v, Public: true}) }
	secret := func(k, v string) { out = append(out, gitlab.JobVariable{Key: k, Value: v, Masked: true}) }
	for _, v := range in.predefined {
		if v.Key != "CI_REPOSITORY_URL" {
			pub(v.Key, v.Value)
		}
	}
	for _, v := range ci.JobPredefined(&in.spec) {
		pub(v.Key, v.Value)
	}
	j, p := in.job, in.pipeline
	projectURL := in.externalURL + "/" + in.project.FullPath()
	pub("CI_JOB_ID", itoa(j.ID))
	pub("CI_JOB_URL", projectURL+"/-/jobs/"+itoa(j.ID))
	pub("CI_JOB_STARTED_AT", j.StartedAt.UTC().Format(time.RFC3339))
	pub("CI_JOB_TIMEOUT", strconv.Itoa(timeout))
	secret("CI_JOB_TOKEN", in.token)
	pub("CI_PIPELINE_ID", itoa(p.ID))
	pub("CI_PIPELINE_URL", projectURL+"/-/pipelines/"+itoa(p.ID))
	if p.Name != "" {
		pub("CI_PIPELINE_NAME", p.Name)
	}
	pub("CI_PROJECT_NAMESPACE_ID", itoa(in.project.Namespace.ID))
	pub("CI_PROJECT_DESCRIPTION", in.project.Description)
	pub("CI_REGISTRY_USER", "gitlab-ci-token")
	secret("CI_REGISTRY_PASSWORD", in.token)
	out = append(out, gitlab.JobVariable{Key: "CI_REPOSITORY_URL", Value: repoURL(in)})
	pub("CI_RUNNER_ID", itoa(in.runner.ID))
	pub("CI_RUNNER_DESCRIPTION", in.runner.Description)
	pub("CI_RUNNER_TAGS", runnerTags(in.runner.Tags))
	for _, v := range in.spec.Variables {
		out = append(out, gitlab.JobVariable{Key: v.Key, Value: v.Value, Public: true, Raw: v.Raw})
	}
	for _, d := range in.deps {
		for _, v := range d.dotenv {
			out = append(out, gitlab.JobVariable{Key: v.Key, Value: v.Value, Public: true})
		}
	}
	for _, v := range in.ciVars {
		out = append(out, gitlab.JobVariable{Key: v.Key, Value: v.Value, Masked: v.Masked, File: v.File, Raw: v.Raw})
	}
	for _, v := range p.Variables {
		out = append(out, gitlab.JobVariable{Key: v.Key, Value: v.Value, File: v.File})
	}
	return out
}

func runnerTags(tags []string) string {
	b, _ := json.Marshal(orEmpty(tags))
	return string(b)
}

func orEmpty[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// steps are GitLab's: before_script and script in one step that runs on
// success, after_script in another that always runs and may fail.
func steps(spec ci.Job, timeout int) []gitlab.JobStep {
	script := append(append([]string{}, spec.BeforeScript...), spec.Script...)
	out := []gitlab.JobStep{{Name: gitlab.StepScript, Script: orEmpty(script), Timeout: timeout, When: gitlab.WhenOnSuccess}}
	if len(spec.AfterScript) > 0 {
		out = append(out, gitlab.JobStep{Name: gitlab.StepAfterScript, Script: spec.AfterScript, Timeout: timeout,
			When: gitlab.WhenAlways, AllowFailure: true})
	}
	return out
}

func executorOpts(docker, kubernetes json.RawMessage) json.RawMessage {
	opts := map[string]json.RawMessage{}
	if len(docker) > 0 {
		opts["docker"] = docker
	}
	if len(kubernetes) > 0 {
		opts["kubernetes"] = kubernetes
	}
	if len(opts) == 0 {
		return nil
	}
	b, _ := json.Marshal(opts)
	return b
}

func image(img *ci.Image) gitlab.JobImage {
	if img == nil {
		return gitlab.JobImage{}
	}
	return gitlab.JobImage{Name: img.Name, Entrypoint: img.Entrypoint, PullPolicy: img.PullPolicy,
		ExecutorOpts: executorOpts(img.Docker, img.Kubernetes)}
}

func services(svcs []ci.Service) []gitlab.JobImage {
	out := make([]gitlab.JobImage, 0, len(svcs))
	for _, s := range svcs {
		img := gitlab.JobImage{Name: s.Name, Alias: s.Alias, Entrypoint: s.Entrypoint, Command: s.Command,
			PullPolicy: s.PullPolicy, ExecutorOpts: executorOpts(s.Docker, s.Kubernetes)}
		for _, v := range s.Variables {
			img.Variables = append(img.Variables, gitlab.JobVariable{Key: v.Key, Value: v.Value, Public: true})
		}
		out = append(out, img)
	}
	return out
}

// artifacts sends one archive entry for paths/untracked and one per
// report, as GitLab does (reports are always uploaded, gzipped).
func artifacts(a *ci.Artifacts) []gitlab.JobArtifact {
	out := []gitlab.JobArtifact{}
	if a == nil {
		return out
	}
	if len(a.Paths) > 0 || a.Untracked {
		out = append(out, gitlab.JobArtifact{Name: a.Name, Untracked: a.Untracked, Paths: a.Paths, Exclude: orEmpty(a.Exclude),
			When: a.When, ArtifactType: "archive", ArtifactFormat: "zip", ExpireIn: a.ExpireIn})
	}
	for _, typ := range slices.Sorted(maps.Keys(a.Reports)) {
		out = append(out, gitlab.JobArtifact{Name: typ, Paths: a.Reports[typ], Exclude: []string{}, When: gitlab.WhenAlways,
			ArtifactType: typ, ArtifactFormat: "gzip", ExpireIn: a.ExpireIn})
	}
	return out
}

func caches(cs []ci.Cache, keys map[int]string) []gitlab.JobCache {
	out := make([]gitlab.JobCache, 0, len(cs))
	for i, c := range cs {
		key := c.Key
		if k, ok := keys[i]; ok {
			key = k
		}
		out = append(out, gitlab.JobCache{Key: key, Untracked: c.Untracked, Policy: c.Policy, Paths: orEmpty(c.Paths),
			When: c.When, FallbackKeys: c.FallbackKeys})
	}
	return out
}

func dependencyList(in payloadInput) []gitlab.JobDependency {
	out := []gitlab.JobDependency{}
	for _, d := range in.deps {
		dep := gitlab.JobDependency{ID: d.job.ID, Name: d.job.Name, Token: in.token}
		if d.archive != nil {
			dep.ArtifactsFile = gitlab.JobArtifactsFile{Filename: d.archive.Filename, Size: d.archive.Size}
		}
		out = append(out, dep)
	}
	return out
}

func hooks(raw json.RawMessage) []gitlab.JobHook {
	if len(raw) == 0 {
		return nil
	}
	var h map[string][]string
	if json.Unmarshal(raw, &h) != nil {
		return nil
	}
	var out []gitlab.JobHook
	for _, name := range slices.Sorted(maps.Keys(h)) {
		out = append(out, gitlab.JobHook{Name: name, Script: h[name]})
	}
	return out
}
