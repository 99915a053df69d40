package auth

import (
	"context"
	"errors"
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/gantry-ci/gantry"
)

// loginStore is a fake Store with users by login and their hashes.
type loginStore struct {
	users  map[string]gantry.User
	hashes map[string]string
}

func (s loginStore) UserLogin(_ context.Context, login string) (gantry.User, string, error) {
	u, ok := s.users[login]
	if !ok {
		return gantry.User{}, "", gantry.ErrNotFound
	}
	return u, s.hashes[login], nil
}

func (loginStore) TokenByHash(context.Context, string) (gantry.Token, gantry.User, error) {
	return gantry.Token{}, gantry.User{}, gantry.ErrNotFound
}

func (loginStore) TouchToken(context.Context, int64) error { return nil }

// TestPasswordCostsTheSameForUnknownUsers: every login compares one bcrypt
// hash, of the same cost, whether the user exists, has no password, is
// blocked or gave the wrong password, so response times don't tell which
// logins exist. (Timing itself is too noisy to test; what is compared is
// not.)
func TestPasswordCostsTheSameForUnknownUsers(t *testing.T) {
	const cost = bcrypt.MinCost + 1
	hash, err := HashPassword("right-password", cost)
	if err != nil {
		t.Fatal(err)
	}
	s := loginStore{
		users: map[string]gantry.User{"alice": {ID: 1, State: gantry.UserActive}, "nopass": {ID: 2, State: gantry.UserActive},
			"blocked": {ID: 3, State: gantry.UserBlocked}},
		hashes: map[string]string{"alice": hash, "blocked": hash},
	}
	var compared []string
	a := &Authenticator{Store: s, PasswordCost: cost, matches: func(h, pw string) bool {
		compared = append(compared, h)
		return PasswordMatches(h, pw)
	}}
	var dummy string
	for _, c := range []struct {
		login, pw string
		ok        bool
		against   string // "user": the user's hash, "dummy": another one
	}{
		{"alice", "right-password", true, "user"},
		{"alice", "wrong-password", false, "user"},
		{"blocked", "right-password", false, "user"},
		{"nobody", "right-password", false, "dummy"},
		{"nobody@example.com", "", false, "dummy"},
		{"nopass", "", false, "dummy"},
		{"nopass", "right-password", false, "dummy"},
	} {
		compared = nil
		actor, err := a.Password(t.Context(), c.login, c.pw)
		if c.ok != (err == nil) || (err != nil && !errors.Is(err, gantry.ErrUnauthorized)) || c.ok && actor.User.ID != 1 {
			t.Errorf("Password(%q, %q) = %+v, %v", c.login, c.pw, actor, err)
		}
		if len(compared) != 1 {
			t.Errorf("Password(%q, %q) compared %d hashes, want 1", c.login, c.pw, len(compared))
			continue
		}
		got := compared[0]
		switch {
		case c.against == "user" && got != hash:
			t.Errorf("Password(%q) compared %q, not the user's hash", c.login, got)
		case c.against == "dummy" && (got == hash || got == ""):
			t.Errorf("Password(%q) compared %q, want a dummy hash", c.login, got)
		case c.against == "dummy" && dummy != "" && got != dummy:
			t.Errorf("Password(%q) made another dummy hash", c.login)
		}
		if c.against == "dummy" {
			dummy = got
			if n, err := bcrypt.Cost([]byte(got)); err != nil || n != cost {
				t.Errorf("dummy hash has cost %d (%v), want %d like stored ones", n, err, cost)
			}
		}
	}
}
