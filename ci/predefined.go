package ci

import (
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// zeroSHA is CI_COMMIT_BEFORE_SHA for new refs, merge requests and manual
// runs.
const zeroSHA = "0000000000000000000000000000000000000000"

// Predefined returns the pipeline-level predefined variables GitLab makes
// available to include:, workflow:rules and rules (the "pre" and "pipe"
// phases of CI_YAML_SEMANTICS.md), computed from opts. Job-level ones
// (CI_JOB_*, CI_NODE_*, CI_ENVIRONMENT_*) are added per job by JobVariables;
// persisted ones (CI_PIPELINE_ID, CI_JOB_ID, CI_JOB_TOKEN) and runner-side
// ones are the server's and the runner's business. The server reuses this
// for the job payload.
func Predefined(opts Options) []Variable {
	var vs []Variable
	add := func(k, v string) { vs = append(vs, Variable{Key: k, Value: v}) }
	add("CI", "true")
	add("GITLAB_CI", "true")
	addServer(add, opts)
	addProject(add, opts)
	add("CI_PIPELINE_SOURCE", opts.Source)
	if opts.PipelineIID > 0 {
		add("CI_PIPELINE_IID", strconv.FormatInt(opts.PipelineIID, 10))
	}
	if !opts.PipelineCreatedAt.IsZero() {
		add("CI_PIPELINE_CREATED_AT", opts.PipelineCreatedAt.UTC().Format(time.RFC3339))
	}
	addCommit(add, opts)
	if u := opts.User; u.Login != "" || u.ID != 0 {
		add("GITLAB_USER_ID", strconv.FormatInt(u.ID, 10))
		add("GITLAB_USER_LOGIN", u.Login)
		add("GITLAB_USER_NAME", u.Name)
		add("GITLAB_USER_EMAIL", u.Email)
	}
	for _, k := range slices.Sorted(maps.Keys(opts.MergeRequest)) {
		add(k, opts.MergeRequest[k])
	}
	return vs
}

func addServer(add func(k, v string), opts Options) {
	if opts.ServerURL == "" {
		return
	}
	u, err := url.Parse(strings.TrimRight(opts.ServerURL, "/"))
	if err != nil || u.Host == "" {
		return
	}
	port := u.Port()
	if port == "" {
		port = "443"
		if u.Scheme == "http" {
			port = "80"
		}
	}
	base := u.Scheme + "://" + u.Host + strings.TrimRight(u.Path, "/")
	add("CI_SERVER", "yes")
	add("CI_SERVER_URL", base)
	add("CI_SERVER_HOST", u.Hostname())
	add("CI_SERVER_PORT", port)
	add("CI_SERVER_PROTOCOL", u.Scheme)
	add("CI_SERVER_NAME", "Gantry")
	if opts.ServerVersion != "" {
		add("CI_SERVER_VERSION", opts.ServerVersion)
	}
	add("CI_API_V4_URL", base+"/api/v4")
	add("CI_API_GRAPHQL_URL", base+"/api/graphql")
	if opts.Project.Path != "" {
		add("CI_PROJECT_URL", base+"/"+opts.Project.Path)
	}
}

func addProject(add func(k, v string), opts Options) {
	p := opts.Project
	if p.ID != 0 {
		add("CI_PROJECT_ID", strconv.FormatInt(p.ID, 10))
	}
	if p.Path != "" {
		name, ns := p.Path, ""
		if i := strings.LastIndexByte(p.Path, '/'); i >= 0 {
			ns, name = p.Path[:i], p.Path[i+1:]
		}
		root, _, _ := strings.Cut(ns, "/")
		title := p.Title
		if title == "" {
			title = name
		}
		add("CI_PROJECT_NAME", name)
		add("CI_PROJECT_TITLE", title)
		add("CI_PROJECT_PATH", p.Path)
		add("CI_PROJECT_PATH_SLUG", Slug(p.Path))
		add("CI_PROJECT_NAMESPACE", ns)
		add("CI_PROJECT_ROOT_NAMESPACE", root)
	}
	if p.Visibility != "" {
		add("CI_PROJECT_VISIBILITY", p.Visibility)
	}
	if p.RepositoryURL != "" {
		add("CI_REPOSITORY_URL", p.RepositoryURL)
	}
	if opts.DefaultBranch != "" {
		add("CI_DEFAULT_BRANCH", opts.DefaultBranch)
	}
	add("CI_CONFIG_PATH", opts.configPath())
}

func addCommit(add func(k, v string), opts Options) {
	if opts.SHA != "" {
		add("CI_COMMIT_SHA", opts.SHA)
		short := opts.SHA
		if len(short) > 8 {
			short = short[:8]
		}
		add("CI_COMMIT_SHORT_SHA", short)
	}
	before := opts.BeforeSHA
	if before == "" {
		before = zeroSHA
	}
	add("CI_COMMIT_BEFORE_SHA", before)
	add("CI_COMMIT_REF_NAME", opts.Ref)
	add("CI_COMMIT_REF_SLUG", Slug(opts.Ref))
	if opts.Tag {
		add("CI_COMMIT_TAG", opts.Ref)
	} else if opts.Source != "merge_request_event" {
		add("CI_COMMIT_BRANCH", opts.Ref)
	}
	add("CI_COMMIT_REF_PROTECTED", strconv.FormatBool(opts.Protected))
	if opts.CommitMessage != "" {
		title, desc, _ := strings.Cut(opts.CommitMessage, "\n")
		add("CI_COMMIT_MESSAGE", opts.CommitMessage)
		add("CI_COMMIT_TITLE", title)
		add("CI_COMMIT_DESCRIPTION", strings.TrimLeft(desc, "\n"))
	}
	if opts.CommitAuthor != "" {
		add("CI_COMMIT_AUTHOR", opts.CommitAuthor)
	}
	if !opts.CommitTimestamp.IsZero() {
		add("CI_COMMIT_TIMESTAMP", opts.CommitTimestamp.Format(time.RFC3339))
	}
}

func (o Options) configPath() string {
	if o.ConfigPath == "" {
		return ".gitlab-ci.yml"
	}
	return o.ConfigPath
}

// Slug is GitLab's ref/path slug (Gitlab::Utils.slugify): lowercased,
// every character outside [a-z0-9] replaced by "-" (runs are not
// collapsed), cut to 63 characters, leading and trailing "-" removed.
func Slug(s string) string {
	b := make([]byte, 0, len(s))
	for _, r := range s {
		switch {
		case r >= 'A' && r <= 'Z':
			b = append(b, byte(r+'a'-'A'))
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9':
			b = append(b, byte(r))
		default:
			b = append(b, '-')
		}
		if len(b) == 63 {
			break
		}
	}
	return strings.Trim(string(b), "-")
}
