package ci

import (
	"encoding/json"

	"github.com/gantry-ci/gantry"
)

// GitLab's messages for a pipeline that is not created (Plan.Filtered).
const (
	FilteredByWorkflow = "Pipeline filtered out by workflow rules."
	FilteredNoJobs     = "No stages / jobs for this pipeline."
)

// Plan is a compiled pipeline: what the server stores and schedules. Every
// type in it round-trips through encoding/json, since the server keeps each
// job as JSON and later turns it into a runner payload.
type Plan struct {
	// Stages in execution order, without stages that ended up empty.
	Stages []string `json:"stages"`
	// Jobs in stage order, then in the order the configuration defines
	// them; parallel jobs are expanded.
	Jobs []*Job `json:"jobs"`
	// Variables are the global YAML variables with workflow:rules
	// variables applied, in definition order.
	Variables []Variable `json:"variables,omitempty"`
	Workflow  Workflow   `json:"workflow"`
	// Filtered is set, with GitLab's message, when no pipeline is created:
	// workflow:rules matched nothing or said never (FilteredByWorkflow),
	// or no job remained (FilteredNoJobs).
	Filtered string `json:"filtered,omitempty"`
	// Warnings are GitLab-like warnings (for example a job with
	// when:manual in rules but no allow_failure).
	Warnings []string `json:"warnings,omitempty"`
	// MergedYAML is the configuration after includes, !reference and
	// extends: what GitLab's CI Lint reports as merged_yaml.
	MergedYAML string `json:"merged_yaml,omitempty"`
}

// Workflow is what workflow: contributed.
type Workflow struct {
	Name       string          `json:"name,omitempty"`
	AutoCancel json.RawMessage `json:"auto_cancel,omitempty"`
	// RuleVariables are the variables of the matched workflow rule; they
	// are already merged into Plan.Variables.
	RuleVariables []Variable `json:"rule_variables,omitempty"`
}

// Variable is a YAML-level variable. Raw is expand:false: the value is used
// as written, without expanding $references.
type Variable struct {
	Key         string   `json:"key"`
	Value       string   `json:"value"`
	Raw         bool     `json:"raw,omitempty"`
	Description string   `json:"description,omitempty"`
	Options     []string `json:"options,omitempty"`
}

// Job is one job of the plan, with defaults, extends and rules applied.
// Values the runner expands (image, services, cache keys, artifact names,
// scripts) are kept as written.
type Job struct {
	Name  string `json:"name"`
	Stage string `json:"stage"`
	// StageIndex is the position of Stage in Plan.Stages.
	StageIndex int `json:"stage_index"`
	// When is on_success, on_failure, always, manual or delayed.
	When    string `json:"when"`
	StartIn string `json:"start_in,omitempty"`
	// AllowFailure and AllowFailureExitCodes: a failure with one of the
	// exit codes is allowed; AllowFailure alone allows every failure.
	AllowFailure          bool  `json:"allow_failure"`
	AllowFailureExitCodes []int `json:"allow_failure_exit_codes,omitempty"`
	// Needs is nil when the job follows stage order and empty (not nil)
	// for needs: [].
	Needs []Need `json:"needs"`
	// Dependencies is whose artifacts the job downloads, resolved: the
	// explicit list, else the needs with artifacts, else every job of an
	// earlier stage.
	Dependencies []string `json:"dependencies"`

	BeforeScript []string `json:"before_script,omitempty"`
	Script       []string `json:"script,omitempty"`
	AfterScript  []string `json:"after_script,omitempty"`

	Image    *Image    `json:"image,omitempty"`
	Services []Service `json:"services,omitempty"`
	// Variables are the job's YAML variables resolved: global ones the job
	// inherits, then the job's, then the matched rule's.
	Variables []Variable `json:"variables,omitempty"`
	// Tags are expanded by GitLab (unknown references are kept).
	Tags          []string     `json:"tags,omitempty"`
	Artifacts     *Artifacts   `json:"artifacts,omitempty"`
	Cache         []Cache      `json:"cache,omitempty"`
	Retry         *Retry       `json:"retry,omitempty"`
	Timeout       string       `json:"timeout,omitempty"`
	Environment   *Environment `json:"environment,omitempty"`
	ResourceGroup string       `json:"resource_group,omitempty"`
	Interruptible *bool        `json:"interruptible,omitempty"`
	Coverage      string       `json:"coverage,omitempty"`
	Parallel      *Parallel    `json:"parallel,omitempty"`
	Trigger       *Trigger     `json:"trigger,omitempty"`
	// Rule is the outcome of rules or only/except for this job.
	Rule RuleOutcome `json:"rule"`
	// Only and Except are the legacy filters as written (normalised).
	Only   *Filter `json:"only,omitempty"`
	Except *Filter `json:"except,omitempty"`

	// Pass-through keywords the runner or later features use, as JSON.
	Hooks    json.RawMessage `json:"hooks,omitempty"`
	IDTokens json.RawMessage `json:"id_tokens,omitempty"`
	Secrets  json.RawMessage `json:"secrets,omitempty"`
	Release  json.RawMessage `json:"release,omitempty"`
	Pages    json.RawMessage `json:"pages,omitempty"`
	Identity string          `json:"identity,omitempty"`
	Inherit  json.RawMessage `json:"inherit,omitempty"`
	Dast     json.RawMessage `json:"dast_configuration,omitempty"`
	Run      json.RawMessage `json:"run,omitempty"`
}

// Need is one needs: entry. Pipeline/Project/Ref describe cross-pipeline or
// cross-project needs, which download artifacts but add no DAG edge.
type Need struct {
	Job       string `json:"job"`
	Artifacts bool   `json:"artifacts"`
	Optional  bool   `json:"optional,omitempty"`
	Pipeline  string `json:"pipeline,omitempty"`
	Project   string `json:"project,omitempty"`
	Ref       string `json:"ref,omitempty"`
}

// Image is a job image. Name is runner-expanded.
type Image struct {
	Name       string          `json:"name"`
	Entrypoint []string        `json:"entrypoint,omitempty"`
	PullPolicy []string        `json:"pull_policy,omitempty"`
	Docker     json.RawMessage `json:"docker,omitempty"`
	Kubernetes json.RawMessage `json:"kubernetes,omitempty"`
}

// Service is a service container.
type Service struct {
	Name       string          `json:"name"`
	Alias      string          `json:"alias,omitempty"`
	Entrypoint []string        `json:"entrypoint,omitempty"`
	Command    []string        `json:"command,omitempty"`
	PullPolicy []string        `json:"pull_policy,omitempty"`
	Variables  []Variable      `json:"variables,omitempty"`
	Docker     json.RawMessage `json:"docker,omitempty"`
	Kubernetes json.RawMessage `json:"kubernetes,omitempty"`
}

// Artifacts is artifacts: with GitLab's defaults filled in (when:
// on_success).
type Artifacts struct {
	Name      string              `json:"name,omitempty"`
	Paths     []string            `json:"paths,omitempty"`
	Exclude   []string            `json:"exclude,omitempty"`
	Untracked bool                `json:"untracked,omitempty"`
	When      string              `json:"when"`
	ExpireIn  string              `json:"expire_in,omitempty"`
	ExposeAs  string              `json:"expose_as,omitempty"`
	Public    *bool               `json:"public,omitempty"`
	Access    string              `json:"access,omitempty"`
	Reports   map[string][]string `json:"reports,omitempty"`
	// CoverageReport is reports:coverage_report ({coverage_format, path}).
	CoverageReport json.RawMessage `json:"coverage_report,omitempty"`
}

// DownloadLevel is the role a user needs to download the artifacts through
// the API, from access: and public: as GitLab reads them: any (NoAccess,
// whoever may see the job) for all or by default, Developer for
// developer or public: false, Maintainer for maintainer; ok is false for
// none: nobody may. When both keys are given the stricter wins. Jobs that
// need the artifacts get them through the runner API whatever this says.
func (a *Artifacts) DownloadLevel() (level gantry.AccessLevel, ok bool) {
	if a == nil {
		return gantry.NoAccess, true
	}
	if a.Public != nil && !*a.Public {
		level = gantry.Developer
	}
	switch a.Access {
	case "none":
		return 0, false
	case "developer":
		level = max(level, gantry.Developer)
	case "maintainer":
		level = max(level, gantry.Maintainer)
	}
	return level, true
}

// Cache is one cache: entry with defaults filled in (key "default",
// policy pull-push, when on_success).
type Cache struct {
	Key          string   `json:"key"`
	KeyFiles     []string `json:"key_files,omitempty"`
	KeyPrefix    string   `json:"key_prefix,omitempty"`
	Paths        []string `json:"paths,omitempty"`
	Untracked    bool     `json:"untracked,omitempty"`
	Unprotect    bool     `json:"unprotect,omitempty"`
	Policy       string   `json:"policy"`
	When         string   `json:"when"`
	FallbackKeys []string `json:"fallback_keys,omitempty"`
}

// Retry is retry: in its long form. Max is 0..2.
type Retry struct {
	Max       int      `json:"max"`
	When      []string `json:"when,omitempty"`
	ExitCodes []int    `json:"exit_codes,omitempty"`
}

// Environment is environment: with Name and URL expanded by GitLab's rules.
type Environment struct {
	Name           string          `json:"name"`
	URL            string          `json:"url,omitempty"`
	OnStop         string          `json:"on_stop,omitempty"`
	Action         string          `json:"action"`
	AutoStopIn     string          `json:"auto_stop_in,omitempty"`
	DeploymentTier string          `json:"deployment_tier,omitempty"`
	Kubernetes     json.RawMessage `json:"kubernetes,omitempty"`
}

// Parallel is set on jobs created by parallel: N or parallel:matrix.
// Index is 1-based (CI_NODE_INDEX), Total is CI_NODE_TOTAL.
type Parallel struct {
	Index  int        `json:"index"`
	Total  int        `json:"total"`
	Base   string     `json:"base"`
	Matrix []Variable `json:"matrix,omitempty"`
}

// Trigger describes a trigger job (child or multi-project pipeline).
type Trigger struct {
	Project  string          `json:"project,omitempty"`
	Branch   string          `json:"branch,omitempty"`
	Strategy string          `json:"strategy,omitempty"`
	Include  json.RawMessage `json:"include,omitempty"`
	Forward  json.RawMessage `json:"forward,omitempty"`
	Inputs   json.RawMessage `json:"inputs,omitempty"`
}

// RuleOutcome records why the job is in the plan: which rule matched
// (1-based index, 0 for none or no rules) and what it set.
type RuleOutcome struct {
	Source  string `json:"source"` // "rules", "only_except" or "default"
	Matched int    `json:"matched,omitempty"`
}

// Filter is a normalised only:/except: entry.
type Filter struct {
	Refs       []string `json:"refs,omitempty"`
	Variables  []string `json:"variables,omitempty"`
	Changes    []string `json:"changes,omitempty"`
	Kubernetes string   `json:"kubernetes,omitempty"`
}
