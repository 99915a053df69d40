package pipeline

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/git"
)

// ConfigPath is where a project's CI configuration lives.
const ConfigPath = ".gitlab-ci.yml"

// Errors Create returns when no pipeline is made.
var (
	// ErrNoConfig: the commit has no .gitlab-ci.yml.
	ErrNoConfig = fmt.Errorf("%w: missing CI config file", gantry.ErrInvalid)
	// ErrFiltered: workflow:rules or job rules left nothing to run.
	ErrFiltered = errors.New("pipeline filtered out")
	// ErrFilteredByWorkflow: workflow:rules matched nothing or said
	// never (it is also ErrFiltered).
	ErrFilteredByWorkflow = fmt.Errorf("%w: %s", ErrFiltered, ci.FilteredByWorkflow)
)

// VariablesError is Create's error for pipeline variables that GitLab's
// rules refuse; no pipeline is made. It is a gantry.ErrInvalid.
type VariablesError struct {
	// KeyErrors say what is wrong with keys, in GitLab's words ("can't be
	// blank"), each once.
	KeyErrors []string
}

// Error is GitLab's message for such a pipeline.
func (e *VariablesError) Error() string {
	msgs := make([]string, len(e.KeyErrors))
	for i, m := range e.KeyErrors {
		msgs[i] = "Variables key " + m
	}
	return "Failed to persist the pipeline: Validation failed: " + strings.Join(msgs, ", ")
}

// Is makes errors.Is(err, gantry.ErrInvalid) hold.
func (e *VariablesError) Is(target error) bool { return target == gantry.ErrInvalid }

func checkVariables(vars []gantry.PipelineVariable) error {
	var errs []string
	for _, v := range vars {
		for _, msg := range forge.VariableKeyErrors(v.Key) {
			if !slices.Contains(errs, msg) {
				errs = append(errs, msg)
			}
		}
	}
	if len(errs) > 0 {
		return &VariablesError{KeyErrors: errs}
	}
	return nil
}

// CreateRequest says which pipeline to create.
type CreateRequest struct {
	Project gantry.Project
	// Ref is the branch or tag: a full name ("refs/heads/x",
	// "refs/tags/x"), as pushes give it, or a short one, which must not
	// name both a branch and a tag (see ResolveRef).
	Ref       string
	SHA       string // "" resolves Ref
	BeforeSHA string // for pushes; "" or zeros for new refs
	Source    string // push, web, api, trigger, schedule, …
	User      gantry.User
	Variables []gantry.PipelineVariable
	// RefUpdateID ties a push pipeline to its event (0 otherwise).
	RefUpdateID int64
}

// Create compiles the project's configuration at the commit and stores the
// pipeline. A configuration error still creates a pipeline, failed with the
// error, as GitLab does; a missing configuration is ErrNoConfig and
// filtering by rules is ErrFiltered (wrapping GitLab's message). A push
// whose head commit says [ci skip] or [skip ci] gets a skipped pipeline
// without jobs.
func (s *Service) Create(ctx context.Context, req CreateRequest) (gantry.Pipeline, error) {
	if err := checkVariables(req.Variables); err != nil {
		return gantry.Pipeline{}, err
	}
	repo := s.forge.Repos().Repo(req.Project.ID)
	ref, err := resolveRef(ctx, repo, req.Ref)
	if err != nil {
		return gantry.Pipeline{}, err
	}
	sha, before, err := commitsOf(ctx, repo, ref, req)
	if err != nil {
		return gantry.Pipeline{}, err
	}
	src, err := repo.ReadFile(ctx, sha, ConfigPath, 4<<20)
	if errors.Is(err, gantry.ErrNotFound) {
		return gantry.Pipeline{}, ErrNoConfig
	} else if err != nil {
		return gantry.Pipeline{}, err
	}
	p := gantry.Pipeline{ProjectID: req.Project.ID, Ref: ref.name, Tag: ref.tag, SHA: sha, BeforeSHA: before,
		Source: req.Source, UserID: req.User.ID, Variables: req.Variables, Status: gantry.StatusCreated}
	if p.BeforeSHA == "" {
		p.BeforeSHA = gantry.ZeroSHA
	}
	if s.cfg.Variables != nil {
		if p.Protected, err = s.cfg.Variables.RefProtected(ctx, req.Project.ID, ref.name, ref.tag); err != nil {
			return gantry.Pipeline{}, err
		}
	}
	opts, err := s.compileOptions(ctx, req, &p, repo)
	if err != nil {
		return gantry.Pipeline{}, err
	}
	// A push whose head commit asks to skip CI still gets a pipeline,
	// marked skipped, without compiling anything (GitLab's behaviour).
	skip := req.Source == "push" && skipsCI(opts.CommitMessage)
	var plan *ci.Plan
	var cerr error
	if !skip {
		if plan, cerr = s.compile(ctx, src.Content, opts); ctx.Err() != nil {
			return gantry.Pipeline{}, ctx.Err() // not the configuration's fault
		}
	}
	var jobs []*gantry.Job
	switch {
	case skip:
		p.Status, p.FinishedAt = gantry.StatusSkipped, s.now()
	case cerr != nil:
		p.Status, p.YAMLErrors, p.FailureReason, p.FinishedAt = gantry.StatusFailed, cerr.Error(), "config_error", s.now()
	case plan.Filtered == ci.FilteredByWorkflow:
		return gantry.Pipeline{}, ErrFilteredByWorkflow
	case plan.Filtered != "":
		return gantry.Pipeline{}, fmt.Errorf("%w: %s", ErrFiltered, plan.Filtered)
	default:
		p.Name = plan.Workflow.Name
		if jobs, err = s.jobsFromPlan(plan, &p, req.User.ID); err != nil {
			return gantry.Pipeline{}, err
		}
	}
	if err := s.store.CreatePipeline(ctx, &p, jobs, req.RefUpdateID); err != nil {
		return gantry.Pipeline{}, err
	}
	s.log.Info("pipeline created", "project", req.Project.ID, "pipeline", p.ID, "ref", p.Ref, "source", p.Source, "status", p.Status)
	if p.Status != gantry.StatusCreated { // failed or skipped: nothing runs
		if err := s.keepCommit(ctx, p); err != nil {
			s.log.Warn("keep pipeline commit", "pipeline", p.ID, "err", err)
		}
		return s.store.Pipeline(ctx, p.ID)
	}
	s.ensureEnvironments(ctx, p, plan)
	s.cancelRedundant(ctx, p)
	if err := s.start(ctx, p); err != nil {
		// The pipeline is stored: the background loop starts it later
		// (startStalled); answering an error would invite a duplicate.
		s.log.Warn("start pipeline; retrying later", "pipeline", p.ID, "err", err)
	}
	return s.store.Pipeline(ctx, p.ID)
}

// start keeps a stored pipeline's commit in refs/pipelines/<id>, where
// its jobs fetch it from, and then advances it. Until both are done the
// pipeline stays created, and startStalled retries.
func (s *Service) start(ctx context.Context, p gantry.Pipeline) error {
	if err := s.keepCommit(ctx, p); err != nil {
		return err
	}
	return s.Advance(ctx, p.ID)
}

func (s *Service) keepCommit(ctx context.Context, p gantry.Pipeline) error {
	if err := s.forge.Repos().Repo(p.ProjectID).UpdateRef(ctx, pipelineRef(p.ID), p.SHA); err != nil {
		return fmt.Errorf("keep %s: %w", pipelineRef(p.ID), err)
	}
	return nil
}

// ensureEnvironments creates the environments the pipeline's jobs name,
// as GitLab does when it creates the jobs. A failure is logged: the
// pipeline runs without them.
func (s *Service) ensureEnvironments(ctx context.Context, p gantry.Pipeline, plan *ci.Plan) {
	var envs []gantry.Environment
	for _, j := range plan.Jobs {
		e := j.Environment
		if e == nil || e.Name == "" {
			continue
		}
		tier := e.DeploymentTier
		if tier == "" {
			tier = gantry.GuessTier(e.Name)
		}
		envs = append(envs, gantry.Environment{ProjectID: p.ProjectID, Name: e.Name, Slug: ci.EnvironmentSlug(e.Name),
			ExternalURL: e.URL, Tier: tier})
	}
	if len(envs) == 0 {
		return
	}
	if _, err := s.store.EnsureEnvironments(ctx, envs); err != nil {
		s.log.Warn("create environments", "pipeline", p.ID, "err", err)
	}
}

// skipsCI reports whether a commit message says [ci skip] or [skip ci], in
// any case.
func skipsCI(message string) bool {
	m := strings.ToLower(message)
	return strings.Contains(m, "[ci skip]") || strings.Contains(m, "[skip ci]")
}

func pipelineRef(id int64) string { return "refs/pipelines/" + strconv.FormatInt(id, 10) }

// branchOrTag is the branch or tag a pipeline runs for.
type branchOrTag struct {
	name string
	tag  bool
}

func (r branchOrTag) full() string {
	if r.tag {
		return "refs/tags/" + r.name
	}
	return "refs/heads/" + r.name
}

// ResolveRef says which branch or tag ref names in a project, as pipeline
// creation reads it: a full name ("refs/heads/x", "refs/tags/x") names
// one; a short name must name a branch or a tag, not both. Otherwise the
// error is gantry.ErrInvalid with GitLab's reason ("Reference not found",
// "Ref is ambiguous").
func (s *Service) ResolveRef(ctx context.Context, projectID int64, ref string) (name string, tag bool, err error) {
	r, err := resolveRef(ctx, s.forge.Repos().Repo(projectID), ref)
	return r.name, r.tag, err
}

func resolveRef(ctx context.Context, repo git.Repo, ref string) (branchOrTag, error) {
	candidates := []string{"refs/heads/" + ref, "refs/tags/" + ref}
	if strings.HasPrefix(ref, "refs/heads/") || strings.HasPrefix(ref, "refs/tags/") {
		candidates = []string{ref}
	}
	refs, err := repo.Refs(ctx, candidates...)
	if err != nil {
		return branchOrTag{}, err
	}
	var found []string
	for _, c := range candidates {
		if _, ok := refs[c]; ok {
			found = append(found, c)
		}
	}
	switch len(found) {
	case 0:
		return branchOrTag{}, fmt.Errorf("%w: Reference not found", gantry.ErrInvalid)
	case 1:
	default:
		return branchOrTag{}, fmt.Errorf("%w: Ref is ambiguous", gantry.ErrInvalid)
	}
	if name, ok := strings.CutPrefix(found[0], "refs/tags/"); ok {
		return branchOrTag{name: name, tag: true}, nil
	}
	return branchOrTag{name: strings.TrimPrefix(found[0], "refs/heads/")}, nil
}

// commitsOf returns the commit a pipeline runs and the one before it. A
// push gives the objects its ref pointed at, which for an annotated tag
// is the tag object: the pipeline's sha (CI_COMMIT_SHA, commit statuses)
// is the commit it tags.
func commitsOf(ctx context.Context, repo git.Repo, ref branchOrTag, req CreateRequest) (sha, before string, err error) {
	rev := req.SHA
	if rev == "" {
		rev = ref.full()
	}
	sha, err = repo.ResolveCommit(ctx, rev)
	if errors.Is(err, gantry.ErrNotFound) {
		return "", "", fmt.Errorf("%w: Commit not found", gantry.ErrInvalid)
	} else if err != nil {
		return "", "", err
	}
	before = req.BeforeSHA
	if ref.tag && before != "" && before != gantry.ZeroSHA {
		if peeled, err := repo.ResolveCommit(ctx, before); err == nil {
			before = peeled
		}
	}
	return sha, before, nil
}

// options is what a pipeline's compilation and its jobs' predefined
// variables are computed from.
func (s *Service) options(ctx context.Context, proj gantry.Project, p *gantry.Pipeline, user gantry.User, repo git.Repo) ci.Options {
	opts := ci.Options{
		ConfigPath: ConfigPath,
		Project: ci.Project{ID: proj.ID, Path: proj.FullPath(), Title: proj.Name, Visibility: string(proj.Visibility),
			RepositoryURL: s.url("/" + proj.FullPath() + ".git")},
		ServerURL: strings.TrimSuffix(s.cfg.ExternalURL.String(), "/"), ServerVersion: gantry.GitLabVersion,
		Ref: p.Ref, Tag: p.Tag, SHA: p.SHA, BeforeSHA: p.BeforeSHA, Source: p.Source,
		DefaultBranch: proj.DefaultBranch, Protected: p.Protected,
		User:              ci.User{ID: user.ID, Login: user.Username, Name: user.Name, Email: user.Email},
		PipelineCreatedAt: p.CreatedAt, PipelineIID: p.IID,
	}
	if opts.PipelineCreatedAt.IsZero() {
		opts.PipelineCreatedAt = s.now()
	}
	if c, ok := s.commits.commit(ctx, repo, proj.ID, p.SHA); ok {
		opts.CommitMessage, opts.CommitTimestamp = c.Message, c.AuthoredAt
		opts.CommitAuthor = c.AuthorName + " <" + c.AuthorEmail + ">"
	}
	return opts
}

func (s *Service) compileOptions(ctx context.Context, req CreateRequest, p *gantry.Pipeline, repo git.Repo) (ci.Options, error) {
	opts := s.options(ctx, req.Project, p, req.User, repo)
	opts.Includer = &repoIncluder{repo: repo, sha: p.SHA, forge: s.forge, user: req.User}
	if p.Source == "push" && p.BeforeSHA != gantry.ZeroSHA && !p.Tag {
		paths, err := repo.ChangedPaths(ctx, p.BeforeSHA, p.SHA)
		if err == nil {
			opts.ChangedPaths = orEmptyStrings(paths)
		}
	}
	if s.cfg.Variables != nil {
		vars, err := s.cfg.Variables.CIVariables(ctx, req.Project, p.Protected)
		if err != nil {
			return ci.Options{}, err
		}
		for _, v := range vars {
			opts.CIVariables = append(opts.CIVariables, ci.Variable{Key: v.Key, Value: v.Value, Raw: v.Raw})
		}
	}
	for _, v := range p.Variables {
		opts.PipelineVariables = append(opts.PipelineVariables, ci.Variable{Key: v.Key, Value: v.Value})
	}
	return opts, nil
}

// Predefined returns the pipeline-level predefined variables of a stored
// pipeline (CI_COMMIT_*, CI_PROJECT_*, CI_SERVER_*, GITLAB_USER_*, …), for
// its jobs' payloads.
func (s *Service) Predefined(ctx context.Context, p gantry.Pipeline, proj gantry.Project) []ci.Variable {
	user, _ := s.store.User(ctx, p.UserID)
	opts := s.options(ctx, proj, &p, user, s.forge.Repos().Repo(proj.ID))
	return ci.Predefined(opts)
}

func orEmptyStrings(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func (s *Service) url(path string) string {
	return strings.TrimSuffix(s.cfg.ExternalURL.String(), "/") + path
}

// jobsFromPlan turns compiled jobs into stored jobs (status created).
func (s *Service) jobsFromPlan(plan *ci.Plan, p *gantry.Pipeline, userID int64) ([]*gantry.Job, error) {
	jobs := make([]*gantry.Job, 0, len(plan.Jobs))
	for _, cj := range plan.Jobs {
		spec, err := json.Marshal(cj)
		if err != nil {
			return nil, fmt.Errorf("encode job %s: %w", cj.Name, err)
		}
		j := &gantry.Job{Name: cj.Name, Stage: cj.Stage, StageIndex: cj.StageIndex, Status: gantry.StatusCreated,
			When: cj.When, AllowFailure: cj.AllowFailure || len(cj.AllowFailureExitCodes) > 0, Tags: cj.Tags,
			ResourceGroup: cj.ResourceGroup, Interruptible: cj.Interruptible != nil && *cj.Interruptible,
			Spec: spec, UserID: userID, Protected: p.Protected, TimeoutSecs: int(s.cfg.DefaultTimeout / time.Second)}
		if cj.Needs != nil {
			j.Needs = []string{}
			for _, n := range cj.Needs {
				if n.Pipeline == "" && n.Project == "" {
					j.Needs = append(j.Needs, n.Job)
				}
			}
		}
		if cj.Timeout != "" {
			if d, err := gantry.ParseDuration(cj.Timeout); err == nil && d > 0 {
				j.TimeoutSecs = int(d / time.Second)
			}
		}
		if cj.StartIn != "" {
			if d, err := gantry.ParseDuration(cj.StartIn); err == nil {
				j.StartIn = d
			}
		}
		jobs = append(jobs, j)
	}
	return jobs, nil
}
