package e2e

import (
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/internal/corpus"
)

// Setting a corpus test up: its project (at the mocked remote's path when
// it includes from itself), variables, mocked projects, and the pushes.

var unsafeName = regexp.MustCompile(`[^a-z0-9]+`)

// createProject creates the test's project: at the mocked remote's path
// when the test includes files from its own project, else a unique name;
// in a group when the test has group-level variables. It then creates the
// variables and the other mocked projects.
func (r *corpusRun) createProject() error {
	remote := corpus.ProjectPath(firstOf(ctxRemote(r.t.Context), ctxRemote(r.c.Context), mocksRemote(r.c.Mocks)))
	group, name := "", fmt.Sprintf("c%03d-%s", r.n, strings.Trim(unsafeName.ReplaceAllString(strings.ToLower(r.c.Name), "-"), "-"))
	vars := r.c.Variables(r.t)
	for _, v := range vars {
		if v.Level == "group_or_instance" {
			group = name + "-group"
		}
	}
	if r.c.Mocks != nil {
		for _, m := range r.c.Mocks.Projects {
			if m.Project == remote {
				group, name = filepath.Dir(remote), filepath.Base(remote)
			}
		}
	}
	p, err := r.env.newProject(group, name)
	if err != nil {
		return err
	}
	r.project = p
	for _, v := range vars {
		if err := r.env.createVariable(p, v); err != nil {
			return err
		}
	}
	if r.c.Mocks != nil {
		for _, m := range r.c.Mocks.Projects {
			if m.Project != remote {
				if err := r.mockProject(m.Project, m.Ref, m.Files); err != nil {
					return err
				}
			}
		}
	}
	return nil
}

func ctxRemote(c *corpus.GitContext) string {
	if c == nil {
		return ""
	}
	return c.Remote
}

func mocksRemote(m *corpus.Mocks) string {
	if m == nil {
		return ""
	}
	return m.GitRemoteOrigin
}

func firstOf(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

// newProject creates a project in the root user's namespace or in group
// (created once).
func (e *corpusEnv) newProject(group, name string) (*gl.Project, error) {
	opts := &gl.CreateProjectOptions{Name: gl.Ptr(name), Path: gl.Ptr(name), DefaultBranch: gl.Ptr("main")}
	if group != "" {
		id, err := e.group(group)
		if err != nil {
			return nil, err
		}
		opts.NamespaceID = gl.Ptr(id)
	}
	p, _, err := e.srv.api.Projects.CreateProject(opts)
	if err != nil {
		return nil, fmt.Errorf("create project %s/%s: %w", group, name, err)
	}
	return p, nil
}

func (e *corpusEnv) group(path string) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if id, ok := e.groups[path]; ok {
		return id, nil
	}
	var parent *int64
	if dir := filepath.Dir(path); dir != "." {
		id, ok := e.groups[dir]
		if !ok {
			return 0, fmt.Errorf("nested group %s: create %s first", path, dir)
		}
		parent = &id
	}
	base := filepath.Base(path)
	g, _, err := e.srv.api.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr(base), Path: gl.Ptr(base), ParentID: parent})
	if err != nil {
		return 0, fmt.Errorf("create group %s: %w", path, err)
	}
	e.groups[path] = g.ID
	return g.ID, nil
}

// createVariable makes a corpus variable a project variable, or a group
// variable for level group_or_instance.
func (e *corpusEnv) createVariable(p *gl.Project, v corpus.Variable) error {
	typ := gl.EnvVariableType
	if v.VariableType == "file" {
		typ = gl.FileVariableType
	}
	scope := firstOf(v.EnvironmentScope, "*")
	var err error
	if v.Level == "group_or_instance" {
		_, _, err = e.srv.api.GroupVariables.CreateVariable(p.Namespace.ID, &gl.CreateGroupVariableOptions{
			Key: gl.Ptr(v.Key), Value: gl.Ptr(v.Value), EnvironmentScope: gl.Ptr(scope), VariableType: gl.Ptr(typ)})
	} else {
		_, _, err = e.srv.api.ProjectVariables.CreateVariable(p.ID, &gl.CreateProjectVariableOptions{
			Key: gl.Ptr(v.Key), Value: gl.Ptr(v.Value), EnvironmentScope: gl.Ptr(scope), VariableType: gl.Ptr(typ)})
	}
	if err != nil {
		return fmt.Errorf("variable %s: %w", v.Key, err)
	}
	return nil
}

// mockProject creates another project the test includes files from, with
// those files on ref (HEAD: the default branch), once per path.
func (r *corpusRun) mockProject(path, ref string, files map[string]string) error {
	once, _ := r.env.projects.LoadOrStore(path, &sync.Once{})
	var err error
	once.(*sync.Once).Do(func() {
		var p *gl.Project
		if p, err = r.env.newProject(filepath.Dir(path), filepath.Base(path)); err != nil {
			return
		}
		tree := map[string]string{}
		for dst, src := range files {
			b, rerr := os.ReadFile(filepath.Join(r.c.Dir, src))
			if rerr != nil {
				err = rerr
				return
			}
			tree[dst] = string(b)
		}
		branch := ref
		if ref == "" || ref == "HEAD" {
			branch = "main"
		}
		wt := filepath.Join(r.work, "mock")
		if err = r.git("", "init", "-q", "-b", branch, wt); err == nil {
			_, err = r.commit(wt, tree, "mock files")
		}
		if err == nil {
			err = r.git(wt, "push", "-q", r.env.pushURL(p), branch)
		}
	})
	return err
}

func (e *corpusEnv) pushURL(p *gl.Project) string {
	return gittest.URLWithAuth(e.srv.URL+"/"+p.PathWithNamespace+".git", "root", rootToken)
}

// caseFiles reads the test's project folder (<case>/<cwd>) without the
// corpus's expect.json, applies file: (the chosen config becomes
// .gitlab-ci.yml: Gantry has no per-project CI config path yet) and
// setup.write_files, and adds the files the project includes from itself.
func (r *corpusRun) caseFiles() (map[string]string, error) {
	root := filepath.Join(r.c.Dir, r.t.Cwd)
	files := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "expect.json" && r.t.Cwd == "" {
			return nil
		}
		b, err := os.ReadFile(p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	if f := r.t.File; f != "" && f != ".gitlab-ci.yml" {
		content, ok := files[f]
		if !ok {
			return nil, fmt.Errorf("config file %s is not in the case", f)
		}
		files[".gitlab-ci.yml"] = content
	}
	if r.t.Setup != nil {
		for p, c := range r.t.Setup.WriteFiles {
			files[p] = c
		}
	}
	for p, c := range r.ownMockFiles(files) {
		files[p] = c
	}
	return files, nil
}

// ownMockFiles are the files the test includes from its own project
// (mocks.projects naming it), taken from the case's files.
func (r *corpusRun) ownMockFiles(caseFiles map[string]string) map[string]string {
	out := map[string]string{}
	if r.c.Mocks == nil {
		return out
	}
	for _, m := range r.c.Mocks.Projects {
		if m.Project != r.project.PathWithNamespace {
			continue
		}
		for dst, src := range m.Files {
			out[dst] = caseFiles[src]
		}
	}
	return out
}

// pushCase pushes the case to master with git. With context.changed_files,
// a first push ([skip ci]) holds the case without those files and the
// second adds them, so that rules:changes sees exactly them. When the
// pipeline is to be created through the API (pipeline variables, or no
// pipeline expected), the push itself skips CI.
func (r *corpusRun) pushCase() (string, error) {
	files, err := r.caseFiles()
	if err != nil {
		return "", err
	}
	url := r.env.pushURL(r.project)
	if own := r.ownMockFiles(files); len(own) > 0 {
		// include:project without ref reads this project's default branch.
		main := filepath.Join(r.work, "main")
		if err := r.git("", "init", "-q", "-b", "main", main); err != nil {
			return "", err
		}
		if _, err := r.commit(main, own, "included files [skip ci]"); err != nil {
			return "", err
		}
		if err := r.git(main, "push", "-q", url, "main"); err != nil {
			return "", err
		}
	}
	wt := filepath.Join(r.work, "repo")
	if err := r.git("", "init", "-q", "-b", corpusBranch, wt); err != nil {
		return "", err
	}
	if changed := r.changedFiles(); changed != nil {
		base := map[string]string{}
		for p, c := range files {
			if !contains(changed, p) {
				base[p] = c
			}
		}
		if _, err := r.commit(wt, base, "base [skip ci]"); err != nil {
			return "", err
		}
		if err := r.git(wt, "push", "-q", url, corpusBranch); err != nil {
			return "", err
		}
		for _, p := range changed {
			files[p] = files[p] + "changed\n"
		}
	}
	msg := corpusMessage
	if r.viaAPI() {
		msg += " [skip ci]"
	}
	sha, err := r.commit(wt, files, msg)
	if err != nil {
		return "", err
	}
	return sha, r.git(wt, "push", "-q", url, corpusBranch)
}

func (r *corpusRun) changedFiles() []string {
	for _, c := range []*corpus.GitContext{r.t.Context, r.c.Context} {
		if c != nil && c.ChangedFiles != nil && r.t.Options["evaluate_rule_changes"] != false {
			return *c.ChangedFiles
		}
	}
	return nil
}

// viaAPI: the pipeline is created with POST /projects/:id/pipeline, which
// carries pipeline variables and reports workflow:rules filtering.
func (r *corpusRun) viaAPI() bool {
	return len(r.t.Variables) > 0 || r.t.GitlabOutcome == "no_pipeline"
}

func contains(list []string, s string) bool {
	for _, e := range list {
		if e == s {
			return true
		}
	}
	return false
}

// commit replaces the work tree's files with files and commits them.
func (r *corpusRun) commit(wt string, files map[string]string, msg string) (string, error) {
	if err := r.git(wt, "rm", "-rq", "--ignore-unmatch", "."); err != nil {
		return "", err
	}
	for p, c := range files {
		full := filepath.Join(wt, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			return "", err
		}
	}
	if err := r.git(wt, "add", "-A", "-f"); err != nil {
		return "", err
	}
	if err := r.git(wt, "commit", "-q", "--allow-empty", "-m", msg); err != nil {
		return "", err
	}
	out, err := exec.Command("git", "-C", wt, "rev-parse", "HEAD").Output()
	return strings.TrimSpace(string(out)), err
}

func (r *corpusRun) git(dir string, args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = gittest.Env(r.work)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", args[0], err, out)
	}
	return nil
}
