package gitlab

// Job states a runner reports in UpdateJobRequest.State and a server
// returns in the Job-Status header.
const (
	JobStateRunning   = "running"
	JobStateSuccess   = "success"
	JobStateFailed    = "failed"
	JobStateCanceling = "canceling"
	JobStateCanceled  = "canceled"
	JobStatePending   = "pending"
)

// Failure reasons a runner may report (§3.3).
const (
	FailureScript                   = "script_failure"
	FailureRunnerSystem             = "runner_system_failure"
	FailureJobExecutionTimeout      = "job_execution_timeout"
	FailureImagePull                = "image_pull_failure"
	FailureUnknown                  = "unknown_failure"
	FailureRunnerConfiguration      = "runner_configuration_error"
	FailureRunnerExternalDependency = "runner_external_dependency_failure"
	FailureRunnerInterrupted        = "runner_interrupted"
	FailureJobCanceled              = "job_canceled"
)

// Headers of the job endpoints.
const (
	HeaderJobToken            = "JOB-TOKEN"
	HeaderRunnerToken         = "RUNNER-TOKEN"
	HeaderJobStatus           = "Job-Status"
	HeaderLastUpdate          = "X-GitLab-Last-Update"
	HeaderTraceUpdateInterval = "X-GitLab-Trace-Update-Interval"
	// HeaderBuildsPolling is "yes" on a 204 to a job request that was held
	// (Workhorse's long poll): the runner asks again at once instead of
	// after check_interval.
	HeaderBuildsPolling = "Gitlab-Ci-Builds-Polling"
)

// UpdateJobRequest is the body of PUT /api/v4/jobs/:id: the two-phase
// commit ({state: running}), keep-alives and the final state.
type UpdateJobRequest struct {
	Info          RunnerInfo `json:"info"`
	Token         string     `json:"token"`
	State         string     `json:"state"`
	FailureReason string     `json:"failure_reason,omitempty"`
	// ExitCode is omitted when 0.
	ExitCode int       `json:"exit_code,omitempty"`
	Output   JobOutput `json:"output"`
	// Checksum duplicates Output.Checksum for older servers.
	Checksum string `json:"checksum,omitempty"`
}

// JobOutput summarises the whole log: "crc32:%08x" of the bytes and its size.
type JobOutput struct {
	Checksum string `json:"checksum,omitempty"`
	Bytesize int64  `json:"bytesize,omitempty"`
}
