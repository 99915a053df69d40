package gitlab

import "time"

// Version is GET /api/v4/version.
type Version struct {
	Version    string `json:"version"`
	Revision   string `json:"revision"`
	Enterprise bool   `json:"enterprise"`
	KAS        struct {
		Enabled bool `json:"enabled"`
	} `json:"kas"`
	Gantry string `json:"gantry_version"`
}

// Error is every API error body: a string, or field → messages.
type Error struct {
	Message any `json:"message"`
}

// UserBasic is the short user shape embedded in other entities.
type UserBasic struct {
	ID        int64  `json:"id"`
	Username  string `json:"username"`
	Name      string `json:"name"`
	State     string `json:"state"`
	Locked    bool   `json:"locked"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

// User is a user as /users/:id and /user show it. Email and IsAdmin are
// only filled for the user themself and for admins.
type User struct {
	UserBasic
	CreatedAt        *time.Time `json:"created_at"`
	Bio              string     `json:"bio"`
	PublicEmail      string     `json:"public_email"`
	Email            string     `json:"email,omitempty"`
	IsAdmin          *bool      `json:"is_admin,omitempty"`
	CanCreateGroup   *bool      `json:"can_create_group,omitempty"`
	CanCreateProject *bool      `json:"can_create_project,omitempty"`
	TwoFactorEnabled bool       `json:"two_factor_enabled"`
	External         bool       `json:"external"`
	PrivateProfile   bool       `json:"private_profile"`
	NamespaceID      int64      `json:"namespace_id,omitempty"`
}

// PersonalAccessToken is /personal_access_tokens; Token is set only in the
// response that creates it.
type PersonalAccessToken struct {
	ID          int64      `json:"id"`
	Name        string     `json:"name"`
	Revoked     bool       `json:"revoked"`
	CreatedAt   *time.Time `json:"created_at"`
	Description string     `json:"description"`
	Scopes      []string   `json:"scopes"`
	UserID      int64      `json:"user_id"`
	LastUsedAt  *time.Time `json:"last_used_at"`
	Active      bool       `json:"active"`
	ExpiresAt   *string    `json:"expires_at"` // "2006-01-02"
	Token       string     `json:"token,omitempty"`
}

// Namespace is the namespace shape embedded in projects.
type Namespace struct {
	ID        int64  `json:"id"`
	Name      string `json:"name"`
	Path      string `json:"path"`
	Kind      string `json:"kind"`
	FullPath  string `json:"full_path"`
	ParentID  *int64 `json:"parent_id"`
	AvatarURL string `json:"avatar_url"`
	WebURL    string `json:"web_url"`
}

// Group is /groups/:id.
type Group struct {
	ID                   int64      `json:"id"`
	WebURL               string     `json:"web_url"`
	Name                 string     `json:"name"`
	Path                 string     `json:"path"`
	Description          string     `json:"description"`
	Visibility           string     `json:"visibility"`
	FullName             string     `json:"full_name"`
	FullPath             string     `json:"full_path"`
	ParentID             *int64     `json:"parent_id"`
	CreatedAt            *time.Time `json:"created_at"`
	AvatarURL            string     `json:"avatar_url"`
	ProjectCreationLevel string     `json:"project_creation_level"`
	SubgroupCreationLvl  string     `json:"subgroup_creation_level"`
	RequestAccessEnabled bool       `json:"request_access_enabled"`
}

// Project is /projects/:id.
type Project struct {
	ID                int64        `json:"id"`
	Description       string       `json:"description"`
	Name              string       `json:"name"`
	NameWithNamespace string       `json:"name_with_namespace"`
	Path              string       `json:"path"`
	PathWithNamespace string       `json:"path_with_namespace"`
	CreatedAt         *time.Time   `json:"created_at"`
	DefaultBranch     string       `json:"default_branch"`
	TagList           []string     `json:"tag_list"`
	Topics            []string     `json:"topics"`
	SSHURLToRepo      string       `json:"ssh_url_to_repo"`
	HTTPURLToRepo     string       `json:"http_url_to_repo"`
	WebURL            string       `json:"web_url"`
	ReadmeURL         *string      `json:"readme_url"`
	AvatarURL         *string      `json:"avatar_url"`
	ForksCount        int          `json:"forks_count"`
	StarCount         int          `json:"star_count"`
	LastActivityAt    *time.Time   `json:"last_activity_at"`
	Namespace         Namespace    `json:"namespace"`
	Links             ProjectLinks `json:"_links"`
	EmptyRepo         bool         `json:"empty_repo"`
	Archived          bool         `json:"archived"`
	Visibility        string       `json:"visibility"`
	Owner             *UserBasic   `json:"owner,omitempty"`
	CreatorID         int64        `json:"creator_id"`
	OpenIssuesCount   int          `json:"open_issues_count"`
	JobsEnabled       bool         `json:"jobs_enabled"`
	BuildsAccessLevel string       `json:"builds_access_level"`
	CIConfigPath      string       `json:"ci_config_path"`
	Permissions       *Permissions `json:"permissions,omitempty"`
}

// ProjectLinks is a project's _links.
type ProjectLinks struct {
	Self          string `json:"self"`
	RepoBranches  string `json:"repo_branches"`
	Members       string `json:"members"`
	Events        string `json:"events"`
	MergeRequests string `json:"merge_requests"`
	Issues        string `json:"issues"`
	Labels        string `json:"labels"`
}

// Permissions is the caller's own access shown on GET /projects/:id.
type Permissions struct {
	ProjectAccess *AccessInfo `json:"project_access"`
	GroupAccess   *AccessInfo `json:"group_access"`
}

// AccessInfo is one level in Permissions.
type AccessInfo struct {
	AccessLevel       int `json:"access_level"`
	NotificationLevel int `json:"notification_level"`
}

// Member is /projects/:id/members and /groups/:id/members.
type Member struct {
	UserBasic
	AccessLevel     int        `json:"access_level"`
	CreatedAt       *time.Time `json:"created_at"`
	ExpiresAt       *string    `json:"expires_at"` // "2006-01-02"
	MembershipState string     `json:"membership_state"`
}

// Commit is the commit shape of branches, tags and /repository/commits.
type Commit struct {
	ID             string            `json:"id"`
	ShortID        string            `json:"short_id"`
	CreatedAt      *time.Time        `json:"created_at"`
	ParentIDs      []string          `json:"parent_ids"`
	Title          string            `json:"title"`
	Message        string            `json:"message"`
	AuthorName     string            `json:"author_name"`
	AuthorEmail    string            `json:"author_email"`
	AuthoredDate   *time.Time        `json:"authored_date"`
	CommitterName  string            `json:"committer_name"`
	CommitterEmail string            `json:"committer_email"`
	CommittedDate  *time.Time        `json:"committed_date"`
	Trailers       map[string]string `json:"trailers"`
	WebURL         string            `json:"web_url"`
}

// Branch is /repository/branches.
type Branch struct {
	Name               string `json:"name"`
	Commit             Commit `json:"commit"`
	Merged             bool   `json:"merged"`
	Protected          bool   `json:"protected"`
	DevelopersCanPush  bool   `json:"developers_can_push"`
	DevelopersCanMerge bool   `json:"developers_can_merge"`
	CanPush            bool   `json:"can_push"`
	Default            bool   `json:"default"`
	WebURL             string `json:"web_url"`
}

// Tag is /repository/tags.
type Tag struct {
	Name      string  `json:"name"`
	Message   string  `json:"message"`
	Target    string  `json:"target"`
	Commit    Commit  `json:"commit"`
	Release   any     `json:"release"`
	Protected bool    `json:"protected"`
	CreatedAt *string `json:"created_at"`
}

// RepositoryFile is GET /repository/files/:path.
type RepositoryFile struct {
	FileName        string `json:"file_name"`
	FilePath        string `json:"file_path"`
	Size            int64  `json:"size"`
	Encoding        string `json:"encoding"`
	Content         string `json:"content"`
	ContentSHA256   string `json:"content_sha256"`
	Ref             string `json:"ref"`
	BlobID          string `json:"blob_id"`
	CommitID        string `json:"commit_id"`
	LastCommitID    string `json:"last_commit_id"`
	ExecuteFilemode bool   `json:"execute_filemode"`
}
