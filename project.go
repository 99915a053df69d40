package gantry

import "time"

// Visibility says who may see a project or group.
type Visibility string

// Visibility levels, as GitLab names them.
const (
	Private  Visibility = "private"
	Internal Visibility = "internal"
	Public   Visibility = "public"
)

// Valid reports whether v is a known visibility level.
func (v Visibility) Valid() bool { return v == Private || v == Internal || v == Public }

// AccessLevel is a member's role, with GitLab's numeric values.
type AccessLevel int

// Access levels, as GitLab numbers them.
const (
	NoAccess   AccessLevel = 0
	Guest      AccessLevel = 10
	Reporter   AccessLevel = 20
	Developer  AccessLevel = 30
	Maintainer AccessLevel = 40
	Owner      AccessLevel = 50
)

// Valid reports whether l is an assignable member role.
func (l AccessLevel) Valid() bool {
	switch l {
	case Guest, Reporter, Developer, Maintainer, Owner:
		return true
	}
	return false
}

// NamespaceKind tells a user's personal namespace from a group.
type NamespaceKind string

// Namespace kinds.
const (
	UserNamespace  NamespaceKind = "user"
	GroupNamespace NamespaceKind = "group"
)

// Namespace is a user's personal namespace or a group. Groups nest:
// FullPath is "parent/child", and members of a parent group are members of
// everything below it.
type Namespace struct {
	ID          int64
	Kind        NamespaceKind
	Name        string
	Path        string // last path segment
	FullPath    string // every segment from the root, joined by "/"
	ParentID    int64  // 0 for top-level namespaces
	OwnerID     int64  // the user of a user namespace; 0 for groups
	Visibility  Visibility
	Description string
	CreatedAt   time.Time
}

// Project is a Git repository with its settings.
type Project struct {
	ID             int64
	Namespace      Namespace
	Name           string
	Path           string
	Description    string
	Visibility     Visibility
	DefaultBranch  string
	CreatorID      int64
	CreatedAt      time.Time
	LastActivityAt time.Time
	// Empty reports that the repository has no branches or tags yet.
	Empty bool
}

// FullPath is the project's path with its namespace: "group/sub/project".
func (p Project) FullPath() string { return p.Namespace.FullPath + "/" + p.Path }

// Member is a user's role on a project or group. Inherited reports that the
// role comes from an ancestor group rather than this source itself.
type Member struct {
	User        User
	AccessLevel AccessLevel
	ExpiresAt   time.Time // zero: never
	CreatedAt   time.Time
	Inherited   bool
}

// RefUpdate records that a branch or tag moved. Before or After is
// ZeroSHA when the ref was created or deleted. Ref updates are the durable
// events that pipelines and mirrors consume.
type RefUpdate struct {
	ID        int64
	ProjectID int64
	UserID    int64 // 0 when the pusher is unknown (found by reconciliation)
	Ref       string
	Before    string
	After     string
	CreatedAt time.Time
}

// ZeroSHA is Git's all-zero object name for a ref that does not exist.
const ZeroSHA = "0000000000000000000000000000000000000000"
