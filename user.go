package gantry

import "time"

// UserState says whether a user may sign in.
type UserState string

// User states, as GitLab names them.
const (
	UserActive  UserState = "active"
	UserBlocked UserState = "blocked"
)

// User is a person or bot with a namespace of their own.
type User struct {
	ID        int64
	Username  string
	Name      string
	Email     string
	Admin     bool
	State     UserState
	CreatedAt time.Time
}

// Active reports whether the user may authenticate.
func (u User) Active() bool { return u.State == UserActive }

// Scope limits what a personal access token may do.
type Scope string

// Personal access token scopes, as GitLab names them.
const (
	ScopeAPI             Scope = "api"
	ScopeReadAPI         Scope = "read_api"
	ScopeReadUser        Scope = "read_user"
	ScopeReadRepository  Scope = "read_repository"
	ScopeWriteRepository Scope = "write_repository"
	ScopeCreateRunner    Scope = "create_runner"
)

// Scopes lists every scope a token may carry.
var Scopes = []Scope{ScopeAPI, ScopeReadAPI, ScopeReadUser, ScopeReadRepository, ScopeWriteRepository, ScopeCreateRunner}

// ValidScope reports whether s is a known scope.
func ValidScope(s Scope) bool {
	for _, k := range Scopes {
		if k == s {
			return true
		}
	}
	return false
}

// Token is a personal access token. Only its hash is stored; the secret is
// shown once, when it is created.
type Token struct {
	ID         int64
	UserID     int64
	Name       string
	Scopes     []Scope
	ExpiresAt  time.Time // zero: never expires
	Revoked    bool
	CreatedAt  time.Time
	LastUsedAt time.Time // zero: never used
}

// Usable reports whether the token may authenticate at time now.
func (t Token) Usable(now time.Time) bool {
	return !t.Revoked && (t.ExpiresAt.IsZero() || now.Before(t.ExpiresAt))
}

// HasScope reports whether the token carries s.
func (t Token) HasScope(s Scope) bool {
	for _, k := range t.Scopes {
		if k == s {
			return true
		}
	}
	return false
}
