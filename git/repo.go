package git

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

// Storage is the folder that holds every project's bare repository, named
// by project id so that renames and transfers never move data.
type Storage struct {
	Root string
}

// Path returns where project id's repository lives.
func (s Storage) Path(projectID int64) string {
	return filepath.Join(s.Root, strconv.FormatInt(projectID, 10)+".git")
}

// Repo returns the repository of a project.
func (s Storage) Repo(projectID int64) Repo { return Repo{Dir: s.Path(projectID)} }

// Init creates an empty bare repository for a project whose default branch
// is branch. An existing repository is left as it is.
func (s Storage) Init(ctx context.Context, projectID int64, branch string) (Repo, error) {
	r := s.Repo(projectID)
	if _, err := os.Stat(filepath.Join(r.Dir, "HEAD")); err == nil {
		return r, nil
	}
	if err := os.MkdirAll(s.Root, 0o750); err != nil {
		return Repo{}, fmt.Errorf("create repository folder: %w", err)
	}
	if err := ValidRefName("refs/heads/" + branch); err != nil {
		return Repo{}, err
	}
	if err := NewCommand("init", "--bare", "--quiet", "--initial-branch="+branch).Arg(r.Dir).Run(ctx, nil, nil); err != nil {
		return Repo{}, err
	}
	for _, kv := range [][2]string{
		{"uploadpack.allowFilter", "true"},
		{"uploadpack.allowAnySHA1InWant", "true"},
		{"receive.advertisePushOptions", "true"},
		{"core.logAllRefUpdates", "false"},
		{"gc.auto", "0"}, // repacking is a background job's business, not every push's
	} {
		if err := NewCommand("config", kv[0], kv[1]).Dir(r.Dir).Run(ctx, nil, nil); err != nil {
			return Repo{}, err
		}
	}
	return r, nil
}

// Remove deletes a project's repository.
func (s Storage) Remove(projectID int64) error {
	return os.RemoveAll(s.Path(projectID))
}

// Repo is one bare repository.
type Repo struct {
	Dir string
}

func (r Repo) cmd(sub string, opts ...string) *Command { return NewCommand(sub, opts...).Dir(r.Dir) }

// Refs returns the tips of the refs under the given prefixes
// (e.g. "refs/heads/", "refs/tags/"), ref name → object name. Annotated
// tags map to the tag object, as git itself records them.
func (r Repo) Refs(ctx context.Context, prefixes ...string) (map[string]string, error) {
	out, err := r.cmd("for-each-ref", "--format=%(objectname) %(refname)").Arg(prefixes...).Output(ctx)
	if err != nil {
		return nil, err
	}
	refs := map[string]string{}
	for _, line := range strings.Split(string(out), "\n") {
		if sha, ref, ok := strings.Cut(line, " "); ok {
			refs[ref] = sha
		}
	}
	return refs, nil
}

// ResolveCommit returns the commit a revision names, or gantry.ErrNotFound.
func (r Repo) ResolveCommit(ctx context.Context, rev string) (string, error) {
	out, err := r.cmd("rev-parse", "--verify", "--quiet", "--end-of-options").Arg(rev + "^{commit}").Output(ctx)
	if err != nil {
		var ge *Error
		if errors.As(err, &ge) {
			return "", fmt.Errorf("revision %q: %w", rev, gantry.ErrNotFound)
		}
		return "", err
	}
	return strings.TrimSpace(string(out)), nil
}

// UpdateRef points ref at sha (creating it); an empty sha deletes it.
func (r Repo) UpdateRef(ctx context.Context, ref, sha string) error {
	if err := ValidRefName(ref); err != nil {
		return err
	}
	if sha == "" {
		return r.cmd("update-ref", "-d").Arg(ref).Run(ctx, nil, nil)
	}
	return r.cmd("update-ref").Arg(ref, sha).Run(ctx, nil, nil)
}

// Empty reports whether the repository has no commits at all.
func (r Repo) Empty(ctx context.Context) (bool, error) {
	refs, err := r.Refs(ctx, "refs/heads/", "refs/tags/")
	return len(refs) == 0, err
}

// ValidRefName checks a full ref name with git's own rules.
func ValidRefName(ref string) error {
	if ref == "" || strings.HasPrefix(ref, "-") {
		return fmt.Errorf("%w: ref name %q", gantry.ErrInvalid, ref)
	}
	err := NewCommand("check-ref-format").Arg(ref).Timeout(10*time.Second).Run(context.Background(), nil, nil)
	if err != nil {
		return fmt.Errorf("%w: ref name %q", gantry.ErrInvalid, ref)
	}
	return nil
}

// Commit is what the API shows of a commit.
type Commit struct {
	ID             string
	ParentIDs      []string
	Title          string
	Message        string
	AuthorName     string
	AuthorEmail    string
	AuthoredAt     time.Time
	CommitterName  string
	CommitterEmail string
	CommittedAt    time.Time
}

// commitFormat separates fields with NUL and records with a byte git
// never puts in the fields we read (0x1e, record separator).
const commitFormat = "%H%x00%P%x00%an%x00%ae%x00%aI%x00%cn%x00%ce%x00%cI%x00%B%x1e"

// Commits reads the commits the revisions name, in order.
func (r Repo) Commits(ctx context.Context, revs ...string) ([]Commit, error) {
	if len(revs) == 0 {
		return nil, nil
	}
	out, err := r.cmd("log", "--no-walk=unsorted", "--format="+commitFormat, "--end-of-options").Arg(revs...).Output(ctx)
	if err != nil {
		return nil, err
	}
	var commits []Commit
	for _, rec := range bytes.Split(out, []byte{0x1e}) {
		rec = bytes.TrimLeft(rec, "\n")
		if len(rec) == 0 {
			continue
		}
		f := strings.SplitN(string(rec), "\x00", 9)
		if len(f) != 9 {
			return nil, fmt.Errorf("git log: unexpected record %q", rec)
		}
		c := Commit{ID: f[0], AuthorName: f[2], AuthorEmail: f[3], CommitterName: f[5], CommitterEmail: f[6], Message: f[8]}
		c.ParentIDs = strings.Fields(f[1])
		c.AuthoredAt, _ = time.Parse(time.RFC3339, f[4])
		c.CommittedAt, _ = time.Parse(time.RFC3339, f[7])
		c.Title, _, _ = strings.Cut(strings.TrimSpace(c.Message), "\n")
		commits = append(commits, c)
	}
	return commits, nil
}

// Blob is a file's content at a revision.
type Blob struct {
	ID      string // blob object name
	Size    int64
	Content []byte
}

// ReadFile returns the file at path in revision rev, reading at most max
// bytes of content (Size is the full size). A missing file or revision is
// gantry.ErrNotFound.
func (r Repo) ReadFile(ctx context.Context, rev, path string, max int64) (Blob, error) {
	if strings.Contains(rev, ":") {
		return Blob{}, fmt.Errorf("%w: revision %q", gantry.ErrInvalid, rev)
	}
	spec := rev + ":" + strings.TrimPrefix(path, "/")
	var check bytes.Buffer
	if err := r.cmd("cat-file", "--batch-check=%(objectname) %(objecttype) %(objectsize)").Run(ctx, strings.NewReader(spec+"\n"), &check); err != nil {
		return Blob{}, err
	}
	fields := strings.Fields(check.String())
	if len(fields) != 3 || fields[1] != "blob" {
		return Blob{}, fmt.Errorf("file %q at %q: %w", path, rev, gantry.ErrNotFound)
	}
	size, _ := strconv.ParseInt(fields[2], 10, 64)
	b := Blob{ID: fields[0], Size: size}
	var content bytes.Buffer
	if err := r.cmd("cat-file", "blob").Arg(b.ID).Run(ctx, nil, &limitWriter{w: &content, n: max}); err != nil {
		return Blob{}, err
	}
	b.Content = content.Bytes()
	return b, nil
}

// LastCommit returns the last commit at or before rev that touched path.
func (r Repo) LastCommit(ctx context.Context, rev, path string) (string, error) {
	out, err := r.cmd("log", "-1", "--format=%H", "--end-of-options").Arg(rev).Paths(path).Output(ctx)
	return strings.TrimSpace(string(out)), err
}

// Files lists every file path in revision rev.
func (r Repo) Files(ctx context.Context, rev string) ([]string, error) {
	out, err := r.cmd("ls-tree", "-r", "-z", "--name-only", "--end-of-options").Arg(rev).Output(ctx)
	if err != nil {
		return nil, err
	}
	return splitZ(out), nil
}

// ChangedPaths lists the paths that differ between two commits.
func (r Repo) ChangedPaths(ctx context.Context, from, to string) ([]string, error) {
	out, err := r.cmd("diff", "--name-only", "-z", "--no-renames", "--end-of-options").Arg(from, to).Output(ctx)
	if err != nil {
		return nil, err
	}
	return splitZ(out), nil
}

func splitZ(out []byte) []string {
	var paths []string
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	sc.Split(func(data []byte, atEOF bool) (int, []byte, error) {
		if i := bytes.IndexByte(data, 0); i >= 0 {
			return i + 1, data[:i], nil
		}
		if atEOF && len(data) > 0 {
			return len(data), data, nil
		}
		return 0, nil, nil
	})
	for sc.Scan() {
		paths = append(paths, sc.Text())
	}
	return paths
}

type limitWriter struct {
	w interface{ Write([]byte) (int, error) }
	n int64
}

func (l *limitWriter) Write(p []byte) (int, error) {
	if l.n <= 0 {
		return len(p), nil
	}
	q := p
	if int64(len(q)) > l.n {
		q = q[:l.n]
	}
	l.n -= int64(len(q))
	if _, err := l.w.Write(q); err != nil {
		return 0, err
	}
	return len(p), nil
}

// SetHead makes branch the repository's default (what HEAD points at).
func (r Repo) SetHead(ctx context.Context, branch string) error {
	if err := ValidRefName("refs/heads/" + branch); err != nil {
		return err
	}
	return r.cmd("symbolic-ref", "HEAD").Arg("refs/heads/"+branch).Run(ctx, nil, nil)
}

// Ref is a branch or tag with the commit it points at.
type Ref struct {
	Name    string // short name ("main", "v1.0")
	Target  string // object the ref points at (a tag object for annotated tags)
	Commit  string // the commit, after peeling tags
	Message string // annotated tag message
}

// ListRefs returns the branches (kind "heads") or tags (kind "tags"),
// sorted by name.
func (r Repo) ListRefs(ctx context.Context, kind string) ([]Ref, error) {
	if kind != "heads" && kind != "tags" {
		return nil, fmt.Errorf("%w: ref kind %q", gantry.ErrInvalid, kind)
	}
	format := "--format=%(refname:lstrip=2)%00%(objectname)%00%(*objectname)%00%(contents)%1e"
	out, err := r.cmd("for-each-ref", format, "--sort=refname", "refs/"+kind+"/").Output(ctx)
	if err != nil {
		return nil, err
	}
	var refs []Ref
	for _, rec := range strings.Split(string(out), "\x1e") {
		rec = strings.TrimLeft(rec, "\n")
		f := strings.SplitN(rec, "\x00", 4)
		if len(f) != 4 {
			continue
		}
		ref := Ref{Name: f[0], Target: f[1], Commit: f[1]}
		if f[2] != "" { // annotated tag: peeled commit and message
			ref.Commit, ref.Message = f[2], strings.TrimRight(f[3], "\n")
		}
		refs = append(refs, ref)
	}
	return refs, nil
}
