package server_test

import (
	"errors"
	"fmt"
	"net/http"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/server/servertest"
)

// TestOnlyOwnersManageOwners: as in GitLab, a maintainer manages project
// members up to their own role; an owner (a role above theirs) they can
// neither change nor remove. Owners and admins can.
func TestOnlyOwnersManageOwners(t *testing.T) {
	f := newFixture(t)
	p := f.project(t, "app", gl.PrivateVisibility)
	tokens := map[string]string{"admin": servertest.RootToken}
	ids := map[string]int64{}
	for _, m := range []struct {
		name string
		role gl.AccessLevelValue
	}{{"owner", gl.OwnerPermissions}, {"owner2", gl.OwnerPermissions}, {"maint", gl.MaintainerPermissions},
		{"maint2", gl.MaintainerPermissions}, {"dev", gl.DeveloperPermissions}} {
		tokens[m.name] = f.user(t, m.name, p.ID, m.role)
		users, _, err := f.root.Users.ListUsers(&gl.ListUsersOptions{Username: gl.Ptr(m.name)})
		if err != nil || len(users) != 1 {
			t.Fatalf("find %s: %v", m.name, err)
		}
		ids[m.name] = users[0].ID
	}
	client := func(who string) *gl.Client {
		c, err := gl.NewClient(tokens[who], gl.WithBaseURL(f.srv.URL+"/api/v4"), gl.WithCustomRetryMax(0))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	edit := func(who, member string, level gl.AccessLevelValue) error {
		_, _, err := client(who).ProjectMembers.EditProjectMember(p.ID, ids[member], &gl.EditProjectMemberOptions{AccessLevel: gl.Ptr(level)})
		return err
	}
	remove := func(who, member string) error {
		_, err := client(who).ProjectMembers.DeleteProjectMember(p.ID, ids[member])
		return err
	}
	// In order: the refusals first, then what is allowed (which changes
	// roles for the steps after it).
	for _, c := range []struct {
		name string
		do   func() error
		want int
	}{
		{"maintainer demotes an owner", func() error { return edit("maint", "owner", gl.GuestPermissions) }, http.StatusForbidden},
		{"maintainer sets an owner to maintainer", func() error { return edit("maint", "owner", gl.MaintainerPermissions) }, http.StatusForbidden},
		{"maintainer removes an owner", func() error { return remove("maint", "owner") }, http.StatusForbidden},
		{"maintainer promotes a developer to owner", func() error { return edit("maint", "dev", gl.OwnerPermissions) }, http.StatusForbidden},
		{"the owner is unchanged", func() error {
			m, _, err := f.root.ProjectMembers.GetProjectMember(p.ID, ids["owner"])
			if err == nil && m.AccessLevel != gl.OwnerPermissions {
				err = fmt.Errorf("owner has access level %d", m.AccessLevel)
			}
			return err
		}, http.StatusOK},
		{"maintainer demotes a maintainer", func() error { return edit("maint", "maint2", gl.DeveloperPermissions) }, http.StatusOK},
		{"maintainer removes a developer", func() error { return remove("maint", "dev") }, http.StatusNoContent},
		{"owner demotes an owner", func() error { return edit("owner", "owner2", gl.MaintainerPermissions) }, http.StatusOK},
		{"owner removes a maintainer", func() error { return remove("owner", "owner2") }, http.StatusNoContent},
		{"admin demotes an owner", func() error { return edit("admin", "owner", gl.GuestPermissions) }, http.StatusOK},
	} {
		t.Run(c.name, func(t *testing.T) {
			err := c.do()
			var er *gl.ErrorResponse
			switch {
			case c.want < 300 && err != nil:
				t.Errorf("refused: %v", err)
			case c.want >= 300 && (!errors.As(err, &er) || er.Response.StatusCode != c.want):
				t.Errorf("error = %v, want HTTP %d", err, c.want)
			}
		})
	}
}
