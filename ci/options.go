package ci

import (
	"context"
	"time"
)

// Includer reads the files a configuration includes. The server implements
// it on top of git at the pipeline's sha; `gantry ci lint` implements the
// local part from a directory. Methods return an error wrapping
// gantry.ErrNotFound when the file does not exist and gantry.ErrForbidden
// when the caller may not read it; any other error aborts the compilation.
type Includer interface {
	// Local reads a file of the pipeline's project at its sha. path has no
	// leading slash.
	Local(ctx context.Context, path string) ([]byte, error)
	// Files lists every file path of the pipeline's project at its sha, for
	// local include globs and rules:exists.
	Files(ctx context.Context) ([]string, error)
	// Project reads path from another project at ref ("" means its
	// default branch).
	Project(ctx context.Context, project, ref, path string) ([]byte, error)
	// Template reads one of GitLab's CI templates by name, for example
	// "Jobs/Build.gitlab-ci.yml".
	Template(ctx context.Context, name string) ([]byte, error)
	// Remote fetches an include:remote URL. It is only called for URLs the
	// allowlist in Options permits.
	Remote(ctx context.Context, url string) ([]byte, error)
}

// Options is everything a compilation depends on besides the YAML bytes.
type Options struct {
	// ConfigPath is the main file's path in the repository, for messages
	// and CI_CONFIG_PATH; default ".gitlab-ci.yml".
	ConfigPath string

	Project   Project
	ServerURL string // e.g. "https://gantry.example.com"
	// ServerVersion is reported as CI_SERVER_VERSION.
	ServerVersion string

	// Ref is the branch or tag name; Tag says which.
	Ref string
	Tag bool
	// SHA and BeforeSHA are commit ids; BeforeSHA is 40 zeros (or empty)
	// for new refs.
	SHA, BeforeSHA  string
	CommitMessage   string
	CommitAuthor    string // "Name <email>"
	CommitTimestamp time.Time
	// Source is the pipeline source: push, web, api, schedule, trigger,
	// merge_request_event, pipeline, parent_pipeline, ...
	Source        string
	DefaultBranch string
	Protected     bool
	User          User
	// MergeRequest carries CI_MERGE_REQUEST_* variables for MR pipelines.
	MergeRequest map[string]string
	// PipelineCreatedAt is reported as CI_PIPELINE_CREATED_AT when set.
	PipelineCreatedAt time.Time
	// PipelineIID is the per-project pipeline number, when known.
	PipelineIID int64

	// ChangedPaths are the paths changed against the diff base. nil means
	// there is no diff base, and then rules:changes is always true.
	ChangedPaths []string

	// CIVariables are the instance, group and project CI/CD variables,
	// already merged by the caller (closest scope wins).
	CIVariables []Variable
	// PipelineVariables (API, trigger, schedule, manual run) override
	// everything else.
	PipelineVariables []Variable
	// Inputs are pipeline inputs for a main file with a spec header.
	Inputs map[string]any

	// Includer resolves include:. nil allows configurations without
	// includes only.
	Includer Includer
	// RemoteAllowlist lists host names (or "*.domain" patterns) that
	// include:remote may fetch from. Empty disables remote includes, which
	// would otherwise let any committer make the server fetch any URL.
	RemoteAllowlist []string

	Limits Limits
}

// Project is the identity of the project a pipeline runs in.
type Project struct {
	ID            int64
	Path          string // "group/sub/name"
	Title         string // display name; default: the last path segment
	Visibility    string // public, internal or private
	RepositoryURL string // clone URL for jobs, optional
}

// User is the user that triggered the pipeline.
type User struct {
	ID    int64
	Login string
	Name  string
	Email string
}

// Limits bound what a compilation may consume. Zero fields take GitLab's
// defaults.
type Limits struct {
	MaxIncludes     int // files included in total; GitLab: 150
	MaxIncludeDepth int // nesting of includes; GitLab: 100
	MaxFileSize     int // bytes of one file
	MaxTotalSize    int // bytes of all files together
	MaxDepth        int // YAML nesting depth; GitLab: 100
	MaxNodes        int // YAML values produced, counting alias expansion
	MaxJobs         int // jobs after parallel expansion
}

func (l Limits) withDefaults() Limits {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&l.MaxIncludes, 150)
	def(&l.MaxIncludeDepth, 100)
	def(&l.MaxFileSize, 4<<20)
	def(&l.MaxTotalSize, 30<<20)
	def(&l.MaxDepth, 100)
	def(&l.MaxNodes, 2_000_000)
	def(&l.MaxJobs, 5000)
	return l
}
