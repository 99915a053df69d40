package gantry

import "time"

// Status is the state of a pipeline or a job, with GitLab's names.
type Status string

// Statuses, as GitLab names them.
const (
	StatusCreated            Status = "created"
	StatusWaitingForResource Status = "waiting_for_resource"
	StatusPreparing          Status = "preparing"
	StatusPending            Status = "pending"
	StatusRunning            Status = "running"
	StatusSuccess            Status = "success"
	StatusFailed             Status = "failed"
	StatusCanceling          Status = "canceling"
	StatusCanceled           Status = "canceled"
	StatusSkipped            Status = "skipped"
	StatusManual             Status = "manual"
	StatusScheduled          Status = "scheduled"
)

// Completed reports whether s is final: success, failed, canceled or skipped.
func (s Status) Completed() bool {
	switch s {
	case StatusSuccess, StatusFailed, StatusCanceled, StatusSkipped:
		return true
	}
	return false
}

// Executing reports whether a runner holds the job (running or canceling).
func (s Status) Executing() bool { return s == StatusRunning || s == StatusCanceling }

// Cancelable reports whether a job or pipeline in status s can be canceled.
func (s Status) Cancelable() bool {
	switch s {
	case StatusCreated, StatusWaitingForResource, StatusPreparing, StatusPending, StatusRunning, StatusScheduled:
		return true
	}
	return false
}

// Pipeline is one run of a project's CI configuration at a commit.
type Pipeline struct {
	ID        int64 // instance-wide
	IID       int64 // per project
	ProjectID int64
	Ref       string
	Tag       bool
	SHA       string
	BeforeSHA string
	Source    string // push, web, api, trigger, schedule, …
	Status    Status
	// Protected says the ref was protected when the pipeline was created;
	// protected variables and runners follow it.
	Protected bool
	UserID    int64
	Name      string // workflow:name
	// YAMLErrors holds the configuration errors of a pipeline that failed
	// before any job ran.
	YAMLErrors    string
	FailureReason string
	// Variables are the pipeline variables it was created with (API,
	// trigger, schedule); they override everything else.
	Variables  []PipelineVariable
	CreatedAt  time.Time
	UpdatedAt  time.Time
	StartedAt  time.Time
	FinishedAt time.Time
}

// PipelineVariable is a variable given when a pipeline is created.
type PipelineVariable struct {
	Key   string
	Value string
	File  bool
}

// Job is one job of a pipeline. Spec is the compiled job (ci.Job as JSON),
// opaque here: the pipeline and runner API packages read it.
type Job struct {
	ID           int64
	PipelineID   int64
	ProjectID    int64
	Name         string
	Stage        string
	StageIndex   int
	Status       Status
	When         string // on_success, on_failure, always, manual, delayed
	AllowFailure bool
	// Needs lists the jobs this one waits for; nil means stage order.
	Needs         []string
	Tags          []string
	ResourceGroup string
	Interruptible bool
	Spec          []byte
	// Retried marks an attempt that a later attempt (a retry) replaced.
	Retried       bool
	Attempt       int
	RunnerID      int64
	UserID        int64
	FailureReason string
	ExitCode      int
	Coverage      *float64
	TimeoutSecs   int
	// GracefulCancel: the runner holding the job can cancel it gracefully.
	GracefulCancel bool
	// StartIn delays a when:delayed job after its prerequisites finish.
	StartIn     time.Duration
	Protected   bool
	CreatedAt   time.Time
	QueuedAt    time.Time
	StartedAt   time.Time
	FinishedAt  time.Time
	ScheduledAt time.Time // when a delayed job starts
	UpdatedAt   time.Time
	ErasedAt    time.Time
	// LastContactAt is when the job's runner was last heard from.
	LastContactAt time.Time
}

// RunnerType is a runner's scope.
type RunnerType string

// Runner types, as GitLab names them.
const (
	InstanceRunner RunnerType = "instance_type"
	GroupRunner    RunnerType = "group_type"
	ProjectRunner  RunnerType = "project_type"
)

// Runner is a registered runner (GitLab's runner, not a machine running it).
type Runner struct {
	ID              int64
	Type            RunnerType
	GroupID         int64   // group runners
	ProjectIDs      []int64 // project runners
	Description     string
	MaintenanceNote string
	Tags            []string
	RunUntagged     bool
	Locked          bool
	// RefProtectedOnly is GitLab's access_level ref_protected: the runner
	// only runs jobs of protected refs.
	RefProtectedOnly bool
	Paused           bool
	MaximumTimeout   int // seconds; 0 means no limit
	CreatorID        int64
	CreatedAt        time.Time
	ContactedAt      time.Time
	TokenExpiresAt   time.Time
}

// RunnerManager is one machine (system_id) running a runner's token.
type RunnerManager struct {
	ID           int64
	RunnerID     int64
	SystemID     string
	Version      string
	Revision     string
	Platform     string
	Architecture string
	Executor     string
	IPAddress    string
	CreatedAt    time.Time
	ContactedAt  time.Time
}
