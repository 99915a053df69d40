package forge

import (
	"context"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/store"
)

// MaxNameLength bounds display names of users, groups and projects.
const MaxNameLength = 255

// NewUser is what creating a user takes.
type NewUser struct {
	Username string
	Name     string
	Email    string
	Password string // empty: the user can only use tokens until one is set
	Admin    bool
}

// CreateUser creates a user and their personal namespace. Only admins may.
func (s *Service) CreateUser(ctx context.Context, actor auth.Actor, nu NewUser) (gantry.User, error) {
	if !actor.Admin() {
		return gantry.User{}, fmt.Errorf("create user: %w", gantry.ErrForbidden)
	}
	if err := validateUser(nu); err != nil {
		return gantry.User{}, err
	}
	hash := ""
	if nu.Password != "" {
		var err error
		if hash, err = auth.HashPassword(nu.Password, s.hashCost); err != nil {
			return gantry.User{}, err
		}
	}
	u := gantry.User{Username: nu.Username, Name: nu.Name, Email: nu.Email, Admin: nu.Admin, State: gantry.UserActive}
	if err := s.store.CreateUser(ctx, &u, hash); err != nil {
		return gantry.User{}, err
	}
	s.log.Info("user created", "user", u.Username, "admin", u.Admin)
	return u, nil
}

func validateUser(nu NewUser) error {
	if err := gantry.ValidatePathSegment(nu.Username); err != nil {
		return fmt.Errorf("username: %w", err)
	}
	if err := validateName(nu.Name); err != nil {
		return err
	}
	if a, err := mail.ParseAddress(nu.Email); err != nil || a.Address != nu.Email || len(nu.Email) > 254 {
		return invalid("email %q is invalid", nu.Email)
	}
	if nu.Password != "" {
		return auth.CheckPassword(nu.Password)
	}
	return nil
}

func validateName(name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return invalid("name can't be blank")
	case utf8.RuneCountInString(name) > MaxNameLength:
		return invalid("name is too long (maximum is %d characters)", MaxNameLength)
	case !utf8.ValidString(name) || strings.ContainsAny(name, "\x00\n\r"):
		return invalid("name contains invalid characters")
	}
	return nil
}

// User returns a user. Every signed-in user may look others up; anonymous
// callers may too, as GitLab shows public profiles.
func (s *Service) User(ctx context.Context, actor auth.Actor, id int64) (gantry.User, error) {
	return s.store.User(ctx, id)
}

// ListUsers lists users; admins see everyone, others only active users.
// A search matches usernames and names, and email addresses only for
// admins: others must not learn who has which address.
func (s *Service) ListUsers(ctx context.Context, actor auth.Actor, f store.UserFilter, p store.Page) ([]gantry.User, int, error) {
	f.SearchEmail = actor.Admin()
	if !actor.Admin() {
		f.Active = true
	}
	return s.store.ListUsers(ctx, f, p)
}

// SetPassword replaces a user's password; only the user or an admin may.
func (s *Service) SetPassword(ctx context.Context, actor auth.Actor, userID int64, pw string) error {
	if !actor.Admin() && actor.User.ID != userID {
		return fmt.Errorf("set password: %w", gantry.ErrForbidden)
	}
	hash, err := auth.HashPassword(pw, s.hashCost)
	if err != nil {
		return err
	}
	return s.store.SetUserPassword(ctx, userID, hash)
}

// NewToken is what creating a personal access token takes.
type NewToken struct {
	UserID    int64
	Name      string
	Scopes    []gantry.Scope
	ExpiresAt time.Time // zero: never
}

// CreateToken mints a personal access token for a user and returns it with
// its secret, which is not stored and cannot be shown again. Users mint
// their own; admins may mint for anyone.
func (s *Service) CreateToken(ctx context.Context, actor auth.Actor, nt NewToken) (gantry.Token, string, error) {
	if !actor.Admin() && actor.User.ID != nt.UserID {
		return gantry.Token{}, "", fmt.Errorf("create token: %w", gantry.ErrForbidden)
	}
	if err := validateName(nt.Name); err != nil {
		return gantry.Token{}, "", err
	}
	if len(nt.Scopes) == 0 {
		return gantry.Token{}, "", invalid("scopes can't be blank")
	}
	for _, sc := range nt.Scopes {
		if !gantry.ValidScope(sc) {
			return gantry.Token{}, "", invalid("scope %q does not exist", sc)
		}
	}
	if !nt.ExpiresAt.IsZero() && !nt.ExpiresAt.After(time.Now()) {
		return gantry.Token{}, "", invalid("expires_at must be in the future")
	}
	if _, err := s.store.User(ctx, nt.UserID); err != nil {
		return gantry.Token{}, "", err
	}
	secret := auth.NewSecret(auth.PersonalTokenPrefix)
	k := gantry.Token{UserID: nt.UserID, Name: nt.Name, Scopes: nt.Scopes, ExpiresAt: nt.ExpiresAt}
	if err := s.store.CreateToken(ctx, &k, auth.HashSecret(secret)); err != nil {
		return gantry.Token{}, "", err
	}
	return k, secret, nil
}

// SeedToken stores a token with a secret chosen by the operator (the
// --initial-root-token flag), so automation knows it in advance.
func (s *Service) SeedToken(ctx context.Context, nt NewToken, secret string) (gantry.Token, error) {
	if len(secret) < 20 {
		return gantry.Token{}, invalid("initial token must be at least 20 characters")
	}
	k := gantry.Token{UserID: nt.UserID, Name: nt.Name, Scopes: nt.Scopes, ExpiresAt: nt.ExpiresAt}
	if err := s.store.CreateToken(ctx, &k, auth.HashSecret(secret)); err != nil {
		return gantry.Token{}, err
	}
	return k, nil
}

// ListTokens lists an actor's own tokens; admins may list any user's
// (userID 0: everyone's).
func (s *Service) ListTokens(ctx context.Context, actor auth.Actor, userID int64, p store.Page) ([]gantry.Token, int, error) {
	if !actor.Admin() {
		userID = actor.User.ID
	}
	return s.store.ListTokens(ctx, userID, p)
}

// Token returns one token its owner (or an admin) may see.
func (s *Service) Token(ctx context.Context, actor auth.Actor, id int64) (gantry.Token, error) {
	k, err := s.store.Token(ctx, id)
	if err != nil {
		return gantry.Token{}, err
	}
	if !actor.Admin() && k.UserID != actor.User.ID {
		return gantry.Token{}, fmt.Errorf("token %d: %w", id, gantry.ErrNotFound)
	}
	return k, nil
}

// RevokeToken revokes a token its owner (or an admin) may see.
func (s *Service) RevokeToken(ctx context.Context, actor auth.Actor, id int64) error {
	if _, err := s.Token(ctx, actor, id); err != nil {
		return err
	}
	return s.store.RevokeToken(ctx, id)
}
