package auth

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"golang.org/x/crypto/bcrypt"

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

// Authenticator turns credentials into an Actor. Use it by pointer; it is
// safe for concurrent use.
type Authenticator struct {
	Store Store
	Now   func() time.Time
	// PasswordCost is the bcrypt cost stored passwords are hashed with (0:
	// DefaultCost). A login with no stored hash to compare (an unknown
	// user, or one without a password) is compared against a dummy hash of
	// this cost, so that it takes as long as a wrong password and the time
	// an answer takes does not tell which usernames and emails exist.
	PasswordCost int

	dummyOnce sync.Once
	dummyHash string
	dummyErr  error
	// matches is PasswordMatches; tests replace it to see what is compared.
	matches func(hash, pw string) bool
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

// Password authenticates a username (or email) and password. Every
// failure is the same gantry.ErrUnauthorized and costs one bcrypt
// comparison, whether the user exists or not.
func (a *Authenticator) Password(ctx context.Context, login, pw string) (Actor, error) {
	u, hash, err := a.Store.UserLogin(ctx, login)
	if err != nil && !isNotFound(err) {
		return Actor{}, fmt.Errorf("authenticate %q: %w", login, err)
	}
	known := err == nil && hash != ""
	if !known {
		// A hash no password matches: only the time spent counts.
		if hash, err = a.dummy(); err != nil {
			return Actor{}, fmt.Errorf("authenticate %q: %w", login, err)
		}
	}
	matches := a.matches
	if matches == nil {
		matches = PasswordMatches
	}
	if !matches(hash, pw) || !known || !u.Active() {
		return Actor{}, fmt.Errorf("%w: %w", gantry.ErrUnauthorized, errBadCredentials)
	}
	return Actor{User: u}, nil
}

// dummy returns a bcrypt hash of a random secret at PasswordCost, made on
// first use.
func (a *Authenticator) dummy() (string, error) {
	a.dummyOnce.Do(func() {
		cost := a.PasswordCost
		if cost == 0 {
			cost = DefaultCost
		}
		h, err := bcrypt.GenerateFromPassword(prehash(NewSecret("")), cost)
		if err != nil {
			a.dummyErr = fmt.Errorf("dummy password hash: %w", err)
		}
		a.dummyHash = string(h)
	})
	return a.dummyHash, a.dummyErr
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
