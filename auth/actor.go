package auth

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

// Actor is who makes a request. The zero Actor is anonymous.
type Actor struct {
	User gantry.User
	// Scopes limits a token-authenticated actor; nil means a password or
	// session login, which may do everything the user may.
	Scopes []gantry.Scope
	// TokenID is the personal access token used, if any.
	TokenID int64
	// Job is set for a job token (CI_JOB_TOKEN): the actor is the job's
	// user, but only for the job's own project (and public ones).
	Job *JobScope
}

// JobScope is what a job token may reach.
type JobScope struct {
	JobID     int64
	ProjectID int64
}

// Anonymous reports whether no user is signed in.
func (a Actor) Anonymous() bool { return a.User.ID == 0 && a.Job == nil }

// Admin reports whether the actor is an instance administrator. A job
// token never is, whoever started the job.
func (a Actor) Admin() bool { return a.User.ID != 0 && a.User.Admin && a.Job == nil }

// HasScope reports whether the actor's credentials carry one of scopes.
// Password logins carry every scope.
func (a Actor) HasScope(scopes ...gantry.Scope) bool {
	if a.Scopes == nil {
		return !a.Anonymous()
	}
	for _, have := range a.Scopes {
		for _, want := range scopes {
			if have == want {
				return true
			}
		}
	}
	return false
}

// Store is what the Authenticator reads.
type Store interface {
	TokenByHash(ctx context.Context, hash string) (gantry.Token, gantry.User, error)
	UserLogin(ctx context.Context, login string) (gantry.User, string, error)
	TouchToken(ctx context.Context, id int64) error
}

// Authenticator turns credentials into an Actor.
type Authenticator struct {
	Store Store
	Now   func() time.Time
}

func (a *Authenticator) now() time.Time {
	if a.Now != nil {
		return a.Now()
	}
	return time.Now()
}

// Token authenticates a personal access token. Unknown, expired and revoked
// tokens and blocked users are all gantry.ErrUnauthorized.
func (a *Authenticator) Token(ctx context.Context, secret string) (Actor, error) {
	if secret == "" || len(secret) > 256 {
		return Actor{}, fmt.Errorf("%w: %w", gantry.ErrUnauthorized, errBadCredentials)
	}
	k, u, err := a.Store.TokenByHash(ctx, HashSecret(secret))
	if err != nil {
		if isNotFound(err) {
			return Actor{}, fmt.Errorf("%w: %w", gantry.ErrUnauthorized, errBadCredentials)
		}
		return Actor{}, fmt.Errorf("authenticate token: %w", err)
	}
	if !k.Usable(a.now()) || !u.Active() {
		return Actor{}, fmt.Errorf("%w: token is expired, revoked or its user blocked", gantry.ErrUnauthorized)
	}
	if a.now().Sub(k.LastUsedAt) >= time.Minute {
		// Best effort, and at most once a minute: last-used is
		// informational, and a write per API call would queue every
		// call behind the database's one writer.
		_ = a.Store.TouchToken(ctx, k.ID)
	}
	scopes := k.Scopes
	if scopes == nil {
		scopes = []gantry.Scope{}
	}
	return Actor{User: u, Scopes: scopes, TokenID: k.ID}, nil
}

// Password authenticates a username (or email) and password.
func (a *Authenticator) Password(ctx context.Context, login, pw string) (Actor, error) {
	u, hash, err := a.Store.UserLogin(ctx, login)
	if err != nil {
		if isNotFound(err) {
			return Actor{}, fmt.Errorf("%w: %w", gantry.ErrUnauthorized, errBadCredentials)
		}
		return Actor{}, fmt.Errorf("authenticate %q: %w", login, err)
	}
	if !PasswordMatches(hash, pw) || !u.Active() {
		return Actor{}, fmt.Errorf("%w: %w", gantry.ErrUnauthorized, errBadCredentials)
	}
	return Actor{User: u}, nil
}

// Basic authenticates HTTP Basic credentials the way GitLab does for Git:
// a personal access token as the password works with any username
// (`oauth2:<token>`), otherwise username and password are checked.
func (a *Authenticator) Basic(ctx context.Context, username, password string) (Actor, error) {
	if strings.HasPrefix(password, PersonalTokenPrefix) || username == "oauth2" || username == "private-token" {
		actor, err := a.Token(ctx, password)
		if err == nil || username == "oauth2" || username == "private-token" {
			return actor, err
		}
	}
	return a.Password(ctx, username, password)
}
