package gitlab

import "time"

// PipelineBasic is a pipeline in lists and embedded in jobs.
type PipelineBasic struct {
	ID        int64      `json:"id"`
	IID       int64      `json:"iid"`
	ProjectID int64      `json:"project_id"`
	SHA       string     `json:"sha"`
	Ref       string     `json:"ref"`
	Status    string     `json:"status"`
	Source    string     `json:"source"`
	CreatedAt *time.Time `json:"created_at"`
	UpdatedAt *time.Time `json:"updated_at"`
	WebURL    string     `json:"web_url"`
	Name      *string    `json:"name"`
}

// Pipeline is GET /projects/:id/pipelines/:pipeline_id.
type Pipeline struct {
	PipelineBasic
	BeforeSHA      string          `json:"before_sha"`
	Tag            bool            `json:"tag"`
	YAMLErrors     *string         `json:"yaml_errors"`
	User           *UserBasic      `json:"user"`
	StartedAt      *time.Time      `json:"started_at"`
	FinishedAt     *time.Time      `json:"finished_at"`
	CommittedAt    *time.Time      `json:"committed_at"`
	Duration       *int64          `json:"duration"`
	QueuedDuration *int64          `json:"queued_duration"`
	Coverage       *string         `json:"coverage"`
	DetailedStatus *DetailedStatus `json:"detailed_status"`
}

// DetailedStatus is what the UI shows of a status.
type DetailedStatus struct {
	Icon        string `json:"icon"`
	Text        string `json:"text"`
	Label       string `json:"label"`
	Group       string `json:"group"`
	Tooltip     string `json:"tooltip"`
	HasDetails  bool   `json:"has_details"`
	DetailsPath string `json:"details_path"`
}

// Job is GET /projects/:id/jobs/:job_id.
type Job struct {
	ID                int64         `json:"id"`
	Status            string        `json:"status"`
	Stage             string        `json:"stage"`
	Name              string        `json:"name"`
	Ref               string        `json:"ref"`
	Tag               bool          `json:"tag"`
	Coverage          *float64      `json:"coverage"`
	AllowFailure      bool          `json:"allow_failure"`
	CreatedAt         *time.Time    `json:"created_at"`
	StartedAt         *time.Time    `json:"started_at"`
	FinishedAt        *time.Time    `json:"finished_at"`
	ErasedAt          *time.Time    `json:"erased_at"`
	Duration          *float64      `json:"duration"`
	QueuedDuration    *float64      `json:"queued_duration"`
	User              *UserBasic    `json:"user"`
	Commit            *Commit       `json:"commit"`
	Pipeline          PipelineBasic `json:"pipeline"`
	WebURL            string        `json:"web_url"`
	Artifacts         []JobFile     `json:"artifacts"`
	ArtifactsFile     *JobFile      `json:"artifacts_file,omitempty"`
	ArtifactsExpireAt *time.Time    `json:"artifacts_expire_at"`
	Runner            *RunnerBasic  `json:"runner"`
	TagList           []string      `json:"tag_list"`
	FailureReason     string        `json:"failure_reason,omitempty"`
	Archived          bool          `json:"archived"`
	// Stuck: pending, and no online runner can take it (GitLab's UI
	// field; the REST entity lacks it).
	Stuck   bool            `json:"stuck"`
	Project JobProjectField `json:"project"`
}

// JobProjectField is a job's "project".
type JobProjectField struct {
	CIJobTokenScopeEnabled bool `json:"ci_job_token_scope_enabled"`
}

// JobFile is one artifact file of a job.
type JobFile struct {
	FileType   string `json:"file_type,omitempty"`
	Size       int64  `json:"size"`
	Filename   string `json:"filename"`
	FileFormat string `json:"file_format,omitempty"`
}

// RunnerBasic is a runner in lists and embedded in jobs.
type RunnerBasic struct {
	ID          int64   `json:"id"`
	Description string  `json:"description"`
	IPAddress   *string `json:"ip_address"`
	Active      bool    `json:"active"`
	Paused      bool    `json:"paused"`
	IsShared    bool    `json:"is_shared"`
	RunnerType  string  `json:"runner_type"`
	Name        *string `json:"name"`
	Online      bool    `json:"online"`
	Status      string  `json:"status"`
}

// Runner is GET /runners/:id.
type Runner struct {
	RunnerBasic
	TagList         []string        `json:"tag_list"`
	RunUntagged     bool            `json:"run_untagged"`
	Locked          bool            `json:"locked"`
	MaximumTimeout  *int            `json:"maximum_timeout"`
	AccessLevel     string          `json:"access_level"`
	Version         *string         `json:"version"`
	Revision        *string         `json:"revision"`
	Platform        *string         `json:"platform"`
	Architecture    *string         `json:"architecture"`
	ContactedAt     *time.Time      `json:"contacted_at"`
	CreatedAt       *time.Time      `json:"created_at"`
	MaintenanceNote string          `json:"maintenance_note"`
	Projects        []RunnerProject `json:"projects"`
	Groups          []RunnerGroup   `json:"groups"`
}

// RunnerProject is a project a runner is assigned to.
type RunnerProject struct {
	ID                int64  `json:"id"`
	Name              string `json:"name"`
	Path              string `json:"path"`
	PathWithNamespace string `json:"path_with_namespace"`
}

// RunnerGroup is the group of a group runner.
type RunnerGroup struct {
	ID     int64  `json:"id"`
	Name   string `json:"name"`
	WebURL string `json:"web_url"`
}

// RunnerManager is GET /runners/:id/managers.
type RunnerManager struct {
	ID           int64      `json:"id"`
	SystemID     string     `json:"system_id"`
	Version      string     `json:"version"`
	Revision     string     `json:"revision"`
	Platform     string     `json:"platform"`
	Architecture string     `json:"architecture"`
	CreatedAt    *time.Time `json:"created_at"`
	ContactedAt  *time.Time `json:"contacted_at"`
	IPAddress    string     `json:"ip_address"`
	Status       string     `json:"status"`
}

// CommitStatus is /repository/commits/:sha/statuses.
type CommitStatus struct {
	ID           int64      `json:"id"`
	SHA          string     `json:"sha"`
	Ref          string     `json:"ref"`
	Status       string     `json:"status"`
	Name         string     `json:"name"`
	TargetURL    string     `json:"target_url"`
	Description  *string    `json:"description"`
	CreatedAt    *time.Time `json:"created_at"`
	StartedAt    *time.Time `json:"started_at"`
	FinishedAt   *time.Time `json:"finished_at"`
	AllowFailure bool       `json:"allow_failure"`
	Coverage     *float64   `json:"coverage"`
	PipelineID   int64      `json:"pipeline_id"`
	Author       *UserBasic `json:"author"`
}

// PipelineVariable is GET /projects/:id/pipelines/:pid/variables.
type PipelineVariable struct {
	Key          string `json:"key"`
	Value        string `json:"value"`
	VariableType string `json:"variable_type"`
}
