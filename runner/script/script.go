package script

import (
	"fmt"
	"net/url"
	"path"
	"strconv"
	"strings"
)

// Job is what script generation needs about one job, with paths as the
// shell that runs the script sees them.
type Job struct {
	// ProjectDir is CI_PROJECT_DIR, where the checkout lives.
	ProjectDir string
	// TmpDir holds file variables and git credentials for this job; it is
	// outside ProjectDir and removed after the job.
	TmpDir string
	// Variables are final: expanded, deduplicated, runner variables added.
	Variables Variables
	Git       Git
	// Hooks from config.toml and the payload.
	PreGetSources, PostGetSources []string
	PreBuild, PostBuild           []string
	// Debug turns on shell tracing (CI_DEBUG_TRACE).
	Debug bool
}

// Git describes the checkout of get_sources.
type Git struct {
	RepoURL  string // with credentials, as git_info.repo_url
	Sha      string
	Ref      string
	Refspecs []string
	Depth    int
	// Strategy is none, fetch or clone.
	Strategy          string
	Checkout          bool
	CleanFlags        string // "none" disables git clean
	FetchExtraFlags   []string
	SubmoduleStrategy string // none, normal, recursive
	SubmoduleDepth    int
	UserAgent         string
}

// ANSI colours for script echo lines.
const (
	green  = "\x1b[32;1m"
	yellow = "\x1b[0;33m"
	reset  = "\x1b[0;m"
)

// Quote returns s as one shell word in ANSI-C quoting ($'…'), safe for any
// byte.
func Quote(s string) string {
	var b strings.Builder
	b.WriteString("$'")
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' || c == '\'':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c == '\n':
			b.WriteString(`\n`)
		case c == '\t':
			b.WriteString(`\t`)
		case c < 0x20 || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		default:
			b.WriteByte(c)
		}
	}
	b.WriteByte('\'')
	return b.String()
}

// body accumulates the lines run inside the eval wrapper.
type body struct{ strings.Builder }

func (b *body) line(format string, args ...any) {
	fmt.Fprintf(b, format, args...)
	b.WriteByte('\n')
}

func (b *body) echo(color, msg string) { b.line("echo %s", Quote(color+msg+reset)) }

// wrap turns a body into the stdin payload: errexit and pipefail, and the
// body evaluated with stdin from /dev/null so user commands cannot read the rest
// of the script.
func wrap(b *body) string {
	return "set -eo pipefail\nset +o noclobber\neval " + Quote(b.String()) + " </dev/null\nexit 0\n"
}

// environment exports the job's variables; file variables are written
// into TmpDir and the variable holds the path.
func (j *Job) environment(b *body, extra ...string) {
	if j.TmpDir != "" {
		b.line("mkdir -p %s", Quote(j.TmpDir))
	}
	for _, v := range j.Variables {
		if !validName(v.Key) {
			continue
		}
		if v.File && j.TmpDir != "" {
			p := path.Join(j.TmpDir, v.Key)
			b.line("printf '%%s' %s > %s", Quote(v.Value), Quote(p))
			b.line("export %s=%s", v.Key, Quote(p))
			continue
		}
		b.line("export %s=%s", v.Key, Quote(v.Value))
	}
	for i := 0; i+1 < len(extra); i += 2 {
		b.line("export %s=%s", extra[i], Quote(extra[i+1]))
	}
}

// commands echoes each command in green ("$ cmd") and runs it, as GitLab
// Runner does; a multi-line command shows its first line only.
func commands(b *body, lines []string) {
	for _, l := range lines {
		shown := l
		if first, _, ok := strings.Cut(strings.TrimSpace(l), "\n"); ok {
			shown = first + " # collapsed multi-line command"
		}
		b.echo(green, "$ "+shown)
		b.line("%s", l)
	}
}

// Prepare is the prepare_script stage.
func Prepare(j *Job) string {
	var b body
	b.line(`echo "Running on $(hostname 2>/dev/null || cat /etc/hostname)..."`)
	return wrap(&b)
}

// Step runs before_script+script (one payload step) in the project
// directory, between the config's pre_build and post_build scripts.
func Step(j *Job, lines []string) string {
	var b body
	j.environment(&b)
	if j.Debug {
		b.line("set -o xtrace")
	}
	b.line("cd %s", Quote(j.ProjectDir))
	for _, l := range j.PreBuild {
		b.line("%s", l)
	}
	commands(&b, lines)
	for _, l := range j.PostBuild {
		b.line("%s", l)
	}
	return wrap(&b)
}

// AfterScript runs after_script in a fresh shell with CI_JOB_STATUS set
// (success, failed, canceled).
func AfterScript(j *Job, lines []string, status string) string {
	var b body
	j.environment(&b, "CI_JOB_STATUS", status)
	if j.Debug {
		b.line("set -o xtrace")
	}
	b.line("cd %s", Quote(j.ProjectDir))
	b.echo(green, "Running after script...")
	commands(&b, lines)
	return wrap(&b)
}

// GetSources is the get_sources stage: hooks around a git fetch, clone or
// nothing, per GIT_STRATEGY.
func GetSources(j *Job) string {
	var b body
	j.environment(&b)
	for _, l := range j.PreGetSources {
		b.line("%s", l)
	}
	g := j.Git
	switch g.Strategy {
	case "none", "empty":
		b.echo(green, "Skipping Git repository setup")
		b.line("mkdir -p %s", Quote(j.ProjectDir))
		if g.Strategy == "empty" {
			b.line("find %s -mindepth 1 -delete", Quote(j.ProjectDir))
		}
	default:
		j.fetch(&b)
	}
	for _, l := range j.PostGetSources {
		b.line("%s", l)
	}
	return wrap(&b)
}

func (j *Job) fetch(b *body) {
	g := j.Git
	dir := Quote(j.ProjectDir)
	remote, creds, bare := splitCredentials(g.RepoURL)
	if g.Strategy == "clone" {
		b.line("rm -rf %s", dir)
	}
	if g.Depth > 0 {
		b.echo(green, fmt.Sprintf("Fetching changes with git depth set to %d...", g.Depth))
	} else {
		b.echo(green, "Fetching changes...")
	}
	b.line("mkdir -p %s", dir)
	b.line("git -c init.defaultBranch=none init %s", dir) // no default-branch hint
	b.line("cd %s", dir)
	// Credentials live in an included config in TmpDir, not in .git/config,
	// so they go away with the job (GitLab Runner's insteadOf rewrite).
	if creds != "" && j.TmpDir != "" {
		conf := path.Join(j.TmpDir, "git-credentials.conf")
		b.line("git config -f %s url.%s.insteadOf %s", Quote(conf), Quote(creds), Quote(bare))
		b.line("git config include.path %s", Quote(conf))
	} else if creds != "" {
		remote = g.RepoURL
	}
	b.line("if git remote add origin %s 2>/dev/null; then echo %s; else git remote set-url origin %s; fi",
		Quote(remote), Quote(green+"Created fresh repository."+reset), Quote(remote))
	b.line("%s", fetchCommand(g))
	if !g.Checkout {
		b.echo(green, "Skipping Git checkout")
	} else {
		short := g.Sha
		if len(short) > 8 {
			short = short[:8]
		}
		b.echo(green, fmt.Sprintf("Checking out %s as detached HEAD (ref is %s)...", short, g.Ref))
		b.line("git -c advice.detachedHead=false checkout -f -q %s", Quote(g.Sha))
		if g.CleanFlags != "none" {
			flags := g.CleanFlags
			if flags == "" {
				flags = "-ffdx"
			}
			b.line("git clean %s", flags) // user-controlled flags, as in GitLab
		}
	}
	j.submodules(b)
}

// fetchCommand is the git fetch of the job's refspecs; with depth 0 a
// shallow repository from an earlier job is completed.
func fetchCommand(g Git) string {
	args := []string{"git"}
	if g.UserAgent != "" {
		args = append(args, "-c", Quote("http.userAgent="+g.UserAgent))
	}
	args = append(args, "fetch", "origin", "--no-recurse-submodules")
	for _, r := range g.Refspecs {
		args = append(args, Quote(r))
	}
	if g.Depth > 0 {
		args = append(args, "--depth", strconv.Itoa(g.Depth))
	}
	args = append(args, "--prune", "--quiet")
	for _, f := range g.FetchExtraFlags {
		args = append(args, Quote(f))
	}
	fetch := strings.Join(args, " ")
	if g.Depth <= 0 {
		// A repository cloned shallow before must be completed.
		fetch = fmt.Sprintf("if [ -f .git/shallow ]; then %s --unshallow; else %s; fi", fetch, fetch)
	}
	return fetch
}

func (j *Job) submodules(b *body) {
	g := j.Git
	switch g.SubmoduleStrategy {
	case "normal", "recursive":
		rec := ""
		if g.SubmoduleStrategy == "recursive" {
			rec = " --recursive"
		}
		depth := ""
		if g.SubmoduleDepth > 0 {
			depth = " --depth " + strconv.Itoa(g.SubmoduleDepth)
		}
		b.echo(green, "Updating/initializing submodules"+strings.ReplaceAll(rec, " --", " ")+"...")
		b.line("git submodule sync%s", rec)
		b.line("git submodule update --init%s%s", rec, depth)
	default:
		b.echo(green, "Skipping Git submodules setup")
	}
}

// splitCredentials returns raw without user info, and the host prefixes
// with (scheme://user:pass@host/) and without credentials that an
// insteadOf rule maps; both empty when raw has none.
func splitCredentials(raw string) (remote, credPrefix, barePrefix string) {
	u, err := url.Parse(raw)
	if err != nil || u.User == nil {
		return raw, "", ""
	}
	credPrefix = (&url.URL{Scheme: u.Scheme, User: u.User, Host: u.Host, Path: "/"}).String()
	barePrefix = (&url.URL{Scheme: u.Scheme, Host: u.Host, Path: "/"}).String()
	u.User = nil
	return u.String(), credPrefix, barePrefix
}
