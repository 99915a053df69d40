// Package gitlab holds GitLab's wire types: the REST v4 shapes and the runner
// protocol (shared/gitlab/RUNNER_PROTOCOL.md). Both the server side
// (api, runnerapi) and the runner use them, so a field added here is seen by
// both ends of every exchange.
package gitlab

import (
	"encoding/json"
	"time"
)

// RunnerInfo describes the runner process in every runner-authenticated
// request (`info`). GitLab records it on the runner manager.
type RunnerInfo struct {
	Name         string            `json:"name,omitempty"`
	Version      string            `json:"version,omitempty"`
	Revision     string            `json:"revision,omitempty"`
	Platform     string            `json:"platform,omitempty"`
	Architecture string            `json:"architecture,omitempty"`
	Executor     string            `json:"executor,omitempty"`
	Shell        string            `json:"shell,omitempty"`
	Features     RunnerFeatures    `json:"features"`
	Config       RunnerConfigInfo  `json:"config"`
	Labels       map[string]string `json:"labels,omitempty"`
}

// RunnerConfigInfo is `info.config`; gpus is always present.
type RunnerConfigInfo struct {
	GPUs string `json:"gpus"`
}

// RunnerFeatures is `info.features`. Every key is always sent, as GitLab
// Runner does, so no field is omitempty.
type RunnerFeatures struct {
	Variables               bool `json:"variables"`
	Image                   bool `json:"image"`
	Services                bool `json:"services"`
	Artifacts               bool `json:"artifacts"`
	Cache                   bool `json:"cache"`
	FallbackCacheKeys       bool `json:"fallback_cache_keys"`
	Shared                  bool `json:"shared"`
	UploadMultipleArtifacts bool `json:"upload_multiple_artifacts"`
	UploadRawArtifacts      bool `json:"upload_raw_artifacts"`
	Session                 bool `json:"session"`
	Terminal                bool `json:"terminal"`
	Refspecs                bool `json:"refspecs"`
	Masking                 bool `json:"masking"`
	Proxy                   bool `json:"proxy"`
	RawVariables            bool `json:"raw_variables"`
	ArtifactsExclude        bool `json:"artifacts_exclude"`
	MultiBuildSteps         bool `json:"multi_build_steps"`
	TraceReset              bool `json:"trace_reset"`
	TraceChecksum           bool `json:"trace_checksum"`
	TraceSize               bool `json:"trace_size"`
	VaultSecrets            bool `json:"vault_secrets"`
	Cancelable              bool `json:"cancelable"`
	ReturnExitCode          bool `json:"return_exit_code"`
	ServiceVariables        bool `json:"service_variables"`
	ServiceMultipleAliases  bool `json:"service_multiple_aliases"`
	ImageExecutorOpts       bool `json:"image_executor_opts"`
	ServiceExecutorOpts     bool `json:"service_executor_opts"`
	CancelGracefully        bool `json:"cancel_gracefully"`
	NativeStepsIntegration  bool `json:"native_steps_integration"`
	TwoPhaseJobCommit       bool `json:"two_phase_job_commit"`
	JobInputs               bool `json:"job_inputs"`
}

// VerifyRunnerRequest is the body of POST /api/v4/runners/verify.
type VerifyRunnerRequest struct {
	Token    string     `json:"token"`
	SystemID string     `json:"system_id,omitempty"`
	Info     RunnerInfo `json:"info"`
}

// RegisterRunnerRequest is the body of the legacy POST /api/v4/runners,
// authenticated by a registration token. TagList is comma-separated.
type RegisterRunnerRequest struct {
	Token           string     `json:"token"`
	Description     string     `json:"description,omitempty"`
	MaintenanceNote string     `json:"maintenance_note,omitempty"`
	Info            RunnerInfo `json:"info"`
	Locked          bool       `json:"locked"`
	AccessLevel     string     `json:"access_level,omitempty"`
	RunUntagged     bool       `json:"run_untagged"`
	MaximumTimeout  int        `json:"maximum_timeout,omitempty"`
	Paused          bool       `json:"paused"`
	TagList         string     `json:"tag_list,omitempty"`
}

// RunnerCredentials answers verify (200) and legacy registration (201):
// the runner's id and authentication token. TokenExpiresAt is nil when the
// token does not expire and encodes as null, never "".
type RunnerCredentials struct {
	ID             int64      `json:"id"`
	Token          string     `json:"token"`
	TokenExpiresAt *time.Time `json:"token_expires_at"`
}

// UnregisterRunnerRequest is the body of DELETE /api/v4/runners and, with
// SystemID, of DELETE /api/v4/runners/managers.
type UnregisterRunnerRequest struct {
	Token    string `json:"token"`
	SystemID string `json:"system_id,omitempty"`
}

// ResetTokenRequest is the body of POST /api/v4/runners/reset_authentication_token.
type ResetTokenRequest struct {
	Token string `json:"token"`
}

// ResetTokenResponse is its 201 reply.
type ResetTokenResponse struct {
	Token          string     `json:"token"`
	TokenExpiresAt *time.Time `json:"token_expires_at,omitempty"`
}

// SessionInfo is the optional `session` of a job request ([session_server]).
type SessionInfo struct {
	URL           string `json:"url,omitempty"`
	Certificate   string `json:"certificate,omitempty"`
	Authorization string `json:"authorization,omitempty"`
}

// JobRequest is the body of POST /api/v4/jobs/request.
type JobRequest struct {
	Info       RunnerInfo   `json:"info"`
	Token      string       `json:"token"`
	SystemID   string       `json:"system_id,omitempty"`
	LastUpdate string       `json:"last_update,omitempty"`
	Session    *SessionInfo `json:"session,omitempty"`
}

// JobPayload is the 201 reply of POST /api/v4/jobs/request: everything a
// runner needs to run one job.
type JobPayload struct {
	ID            int64                      `json:"id"`
	Token         string                     `json:"token"`
	AllowGitFetch bool                       `json:"allow_git_fetch"`
	JobInfo       JobInfo                    `json:"job_info"`
	GitInfo       GitInfo                    `json:"git_info"`
	RunnerInfo    JobRunnerInfo              `json:"runner_info"`
	Variables     []JobVariable              `json:"variables"`
	Steps         []JobStep                  `json:"steps"`
	Image         JobImage                   `json:"image"`
	Services      []JobImage                 `json:"services"`
	Artifacts     []JobArtifact              `json:"artifacts"`
	Cache         []JobCache                 `json:"cache"`
	Credentials   []JobCredentials           `json:"credentials"`
	Dependencies  []JobDependency            `json:"dependencies"`
	Features      JobFeatures                `json:"features"`
	Hooks         []JobHook                  `json:"hooks,omitempty"`
	Secrets       map[string]json.RawMessage `json:"secrets,omitempty"`
	// Run is the CI-steps `run` keyword: a string holding a JSON array.
	// It must be omitted, never null, when unused.
	Run           string          `json:"run,omitempty"`
	Inputs        json.RawMessage `json:"inputs,omitempty"`
	PolicyOptions json.RawMessage `json:"policy_options,omitempty"`
}

// JobInfo is `job_info`. ProjectJobsRunningOnInstanceRunnersCount is a
// string on the wire (e.g. "+Inf").
type JobInfo struct {
	ID                                       int64   `json:"id,omitempty"`
	Name                                     string  `json:"name"`
	Stage                                    string  `json:"stage"`
	ProjectID                                int64   `json:"project_id"`
	ProjectName                              string  `json:"project_name"`
	ProjectFullPath                          string  `json:"project_full_path,omitempty"`
	PipelineID                               int64   `json:"pipeline_id,omitempty"`
	NamespaceID                              int64   `json:"namespace_id,omitempty"`
	RootNamespaceID                          int64   `json:"root_namespace_id,omitempty"`
	OrganizationID                           int64   `json:"organization_id,omitempty"`
	UserID                                   int64   `json:"user_id,omitempty"`
	ScopedUserID                             *int64  `json:"scoped_user_id,omitempty"`
	InstanceID                               string  `json:"instance_id,omitempty"`
	InstanceUUID                             string  `json:"instance_uuid,omitempty"`
	TimeInQueueSeconds                       float64 `json:"time_in_queue_seconds,omitempty"`
	ProjectJobsRunningOnInstanceRunnersCount string  `json:"project_jobs_running_on_instance_runners_count,omitempty"`
	QueueSize                                int64   `json:"queue_size,omitempty"`
	QueueDepth                               int64   `json:"queue_depth,omitempty"`
}

// GitInfo is `git_info`: where and what to check out. Sha must be at least 8
// characters; Protected is null when unknown.
type GitInfo struct {
	RepoURL          string   `json:"repo_url"`
	RepoObjectFormat string   `json:"repo_object_format,omitempty"`
	Ref              string   `json:"ref"`
	Sha              string   `json:"sha"`
	BeforeSha        string   `json:"before_sha"`
	RefType          string   `json:"ref_type"`
	Refspecs         []string `json:"refspecs"`
	Depth            int      `json:"depth"`
	Protected        *bool    `json:"protected,omitempty"`
}

// JobRunnerInfo is `runner_info`. Timeout is in seconds; ≤0 means 7200.
type JobRunnerInfo struct {
	Timeout          int    `json:"timeout"`
	UUID             string `json:"uuid,omitempty"`
	RunnerSessionURL string `json:"runner_session_url,omitempty"`
}

// JobVariable is one entry of `variables`. GitLab omits file and raw when
// false.
type JobVariable struct {
	Key    string `json:"key"`
	Value  string `json:"value"`
	Public bool   `json:"public"`
	Masked bool   `json:"masked"`
	File   bool   `json:"file,omitempty"`
	Raw    bool   `json:"raw,omitempty"`
}

// Step names and conditions of `steps[]`.
const (
	StepScript      = "script"
	StepAfterScript = "after_script"
	StepRelease     = "release"

	WhenOnSuccess = "on_success"
	WhenOnFailure = "on_failure"
	WhenAlways    = "always"
)

// JobStep is one entry of `steps`. Timeout is in seconds.
type JobStep struct {
	Name         string   `json:"name"`
	Script       []string `json:"script"`
	Timeout      int      `json:"timeout"`
	When         string   `json:"when"`
	AllowFailure bool     `json:"allow_failure"`
}

// JobImage is `image` and each of `services`.
type JobImage struct {
	Name         string          `json:"name"`
	Alias        string          `json:"alias,omitempty"`
	Command      []string        `json:"command,omitempty"`
	Entrypoint   []string        `json:"entrypoint,omitempty"`
	Ports        []JobPort       `json:"ports,omitempty"`
	Variables    []JobVariable   `json:"variables,omitempty"`
	PullPolicy   []string        `json:"pull_policy,omitempty"`
	ExecutorOpts json.RawMessage `json:"executor_opts,omitempty"`
}

// JobPort is one entry of `image.ports`.
type JobPort struct {
	Number   int    `json:"number"`
	Protocol string `json:"protocol,omitempty"`
	Name     string `json:"name,omitempty"`
}

// JobArtifact is one entry of `artifacts`: one upload request each.
type JobArtifact struct {
	Name           string   `json:"name"`
	Untracked      bool     `json:"untracked"`
	Paths          []string `json:"paths"`
	Exclude        []string `json:"exclude"`
	When           string   `json:"when"`
	ArtifactType   string   `json:"artifact_type"`
	ArtifactFormat string   `json:"artifact_format"`
	ExpireIn       string   `json:"expire_in"`
}

// Cache policies of `cache[].policy`.
const (
	CachePolicyPullPush = "pull-push"
	CachePolicyPull     = "pull"
	CachePolicyPush     = "push"
)

// JobCache is one entry of `cache`.
type JobCache struct {
	Key          string   `json:"key"`
	Untracked    bool     `json:"untracked"`
	Policy       string   `json:"policy"`
	Paths        []string `json:"paths"`
	When         string   `json:"when"`
	FallbackKeys []string `json:"fallback_keys,omitempty"`
}

// JobCredentials is one entry of `credentials`; only Type "registry" is used.
type JobCredentials struct {
	Type     string `json:"type"`
	URL      string `json:"url"`
	Username string `json:"username"`
	Password string `json:"password"`
}

// JobDependency is one entry of `dependencies`: a job whose artifacts are
// downloaded when ArtifactsFile.Filename is set.
type JobDependency struct {
	ID            int64            `json:"id"`
	Token         string           `json:"token"`
	Name          string           `json:"name"`
	ArtifactsFile JobArtifactsFile `json:"artifacts_file"`
}

// JobArtifactsFile names a dependency's archive.
type JobArtifactsFile struct {
	Filename string `json:"filename"`
	Size     int64  `json:"size"`
}

// JobFeatures is the payload's `features`.
type JobFeatures struct {
	TraceSections     bool            `json:"trace_sections"`
	TokenMaskPrefixes []string        `json:"token_mask_prefixes,omitempty"`
	FailureReasons    []string        `json:"failure_reasons,omitempty"`
	Tracing           json.RawMessage `json:"tracing,omitempty"`
}

// JobHook is one entry of `hooks` (pre/post_get_sources_script).
type JobHook struct {
	Name   string   `json:"name"`
	Script []string `json:"script"`
}
