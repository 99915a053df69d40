package api_test

import (
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/server/servertest"
)

// TestUserSearchHidesEmails: GET /users?search= matches email addresses
// only for admins, so that nobody else can find out who has an address.
func TestUserSearchHidesEmails(t *testing.T) {
	srv := servertest.Start(t)
	root := newClient(t, srv.URL, servertest.RootToken)
	if _, _, err := root.Users.CreateUser(&gl.CreateUserOptions{Username: gl.Ptr("carol"), Name: gl.Ptr("Carol"),
		Email: gl.Ptr("c.private-mailbox@corp.example"), Password: gl.Ptr("password-carol")}); err != nil {
		t.Fatal(err)
	}
	_, token := userWithToken(t, root, "mallory")
	anon, err := gl.NewClient("", gl.WithBaseURL(srv.URL+"/api/v4"), gl.WithCustomRetryMax(0))
	if err != nil {
		t.Fatal(err)
	}
	clients := map[string]*gl.Client{"anonymous": anon, "user": newClient(t, srv.URL, token), "admin": root}
	for _, c := range []struct {
		who, search string
		want        int
	}{
		{"anonymous", "private-mailbox", 0},
		{"user", "private-mailbox", 0},
		{"user", "c.private-mailbox@corp.example", 0},
		{"admin", "private-mailbox", 1},
		{"admin", "c.private-mailbox@corp.example", 1},
		{"anonymous", "caro", 1}, // usernames and names are searched for everyone
		{"user", "Carol", 1},
	} {
		t.Run(c.who+"/"+c.search, func(t *testing.T) {
			users, _, err := clients[c.who].Users.ListUsers(&gl.ListUsersOptions{Search: gl.Ptr(c.search)})
			if err != nil {
				t.Fatal(err)
			}
			if len(users) != c.want {
				t.Errorf("found %d users, want %d: %+v", len(users), c.want, users)
			}
		})
	}
}
