package auth_test

import (
	"context"
	"testing"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
)

// tokenStore is a fake auth.Store holding one token.
type tokenStore struct {
	token   gantry.Token
	touched int
}

func (s *tokenStore) TokenByHash(context.Context, string) (gantry.Token, gantry.User, error) {
	return s.token, gantry.User{ID: 1, State: gantry.UserActive}, nil
}

func (s *tokenStore) UserLogin(context.Context, string) (gantry.User, string, error) {
	return gantry.User{}, "", gantry.ErrNotFound
}

func (s *tokenStore) TouchToken(_ context.Context, id int64) error {
	s.touched++
	s.token.LastUsedAt = time.Unix(1000, 0)
	return nil
}

// TestTokenUseRecordedOncePerMinute: last-used is written when the token
// was last used a minute ago or more, not on every call.
func TestTokenUseRecordedOncePerMinute(t *testing.T) {
	now := time.Unix(1000, 0)
	s := &tokenStore{token: gantry.Token{ID: 3, Scopes: []gantry.Scope{gantry.ScopeAPI}}}
	a := &auth.Authenticator{Store: s, Now: func() time.Time { return now }}
	for _, step := range []struct {
		after time.Duration
		want  int
	}{{0, 1}, {time.Second, 1}, {59 * time.Second, 1}, {61 * time.Second, 2}} {
		now = time.Unix(1000, 0).Add(step.after)
		if _, err := a.Token(t.Context(), "glpat-x"); err != nil {
			t.Fatal(err)
		}
		if s.touched != step.want {
			t.Errorf("after %s: %d writes of last-used, want %d", step.after, s.touched, step.want)
		}
	}
}
