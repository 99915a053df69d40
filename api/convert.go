package api

import (
	"strconv"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/git"
	"github.com/gantry-ci/gantry/gitlab"
)

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	t = t.UTC()
	return &t
}

func datePtr(t time.Time) *string {
	if t.IsZero() {
		return nil
	}
	d := t.UTC().Format("2006-01-02")
	return &d
}

func (s *Server) userBasic(u gantry.User) gitlab.UserBasic {
	return gitlab.UserBasic{ID: u.ID, Username: u.Username, Name: u.Name, State: string(u.State),
		Locked: u.State == gantry.UserBlocked, AvatarURL: "", WebURL: s.url("/" + u.Username)}
}

// user shows u to actor: email and admin flag only to u and to admins.
func (s *Server) user(u gantry.User, actor auth.Actor) gitlab.User {
	out := gitlab.User{UserBasic: s.userBasic(u), CreatedAt: timePtr(u.CreatedAt)}
	if actor.Admin() || actor.User.ID == u.ID {
		yes := true
		out.Email, out.IsAdmin = u.Email, &u.Admin
		out.CanCreateGroup, out.CanCreateProject = &yes, &yes
	}
	return out
}

func (s *Server) token(k gantry.Token, now time.Time) gitlab.PersonalAccessToken {
	scopes := make([]string, len(k.Scopes))
	for i, sc := range k.Scopes {
		scopes[i] = string(sc)
	}
	return gitlab.PersonalAccessToken{ID: k.ID, Name: k.Name, Revoked: k.Revoked, CreatedAt: timePtr(k.CreatedAt),
		Scopes: scopes, UserID: k.UserID, LastUsedAt: timePtr(k.LastUsedAt), Active: k.Usable(now), ExpiresAt: datePtr(k.ExpiresAt)}
}

func (s *Server) namespace(n gantry.Namespace) gitlab.Namespace {
	out := gitlab.Namespace{ID: n.ID, Name: n.Name, Path: n.Path, Kind: string(n.Kind), FullPath: n.FullPath,
		WebURL: s.url("/" + n.FullPath)}
	if n.Kind == gantry.GroupNamespace {
		out.WebURL = s.url("/groups/" + n.FullPath)
	}
	if n.ParentID != 0 {
		id := n.ParentID
		out.ParentID = &id
	}
	return out
}

func (s *Server) group(g gantry.Namespace, fullName string) gitlab.Group {
	out := gitlab.Group{ID: g.ID, WebURL: s.url("/groups/" + g.FullPath), Name: g.Name, Path: g.Path,
		Description: g.Description, Visibility: string(g.Visibility), FullName: fullName, FullPath: g.FullPath,
		CreatedAt: timePtr(g.CreatedAt), ProjectCreationLevel: "developer", SubgroupCreationLvl: "maintainer"}
	if out.FullName == "" {
		out.FullName = g.Name
	}
	if g.ParentID != 0 {
		id := g.ParentID
		out.ParentID = &id
	}
	return out
}

// project converts p; empty says whether the repository has no commits.
func (s *Server) project(p gantry.Project, empty bool) gitlab.Project {
	web := s.url("/" + p.FullPath())
	self := s.url("/api/v4/projects/" + itoa(p.ID))
	ns := p.Namespace
	out := gitlab.Project{
		ID: p.ID, Description: p.Description, Name: p.Name, Path: p.Path,
		NameWithNamespace: strings.ReplaceAll(ns.FullPath, "/", " / ") + " / " + p.Name,
		PathWithNamespace: p.FullPath(), CreatedAt: timePtr(p.CreatedAt), DefaultBranch: p.DefaultBranch,
		TagList: []string{}, Topics: []string{},
		SSHURLToRepo: s.sshURL(p), HTTPURLToRepo: web + ".git", WebURL: web,
		LastActivityAt: timePtr(p.LastActivityAt), Namespace: s.namespace(ns),
		Links: gitlab.ProjectLinks{Self: self, RepoBranches: self + "/repository/branches", Members: self + "/members",
			Events: self + "/events", MergeRequests: self + "/merge_requests", Issues: self + "/issues", Labels: self + "/labels"},
		EmptyRepo: empty, Visibility: string(p.Visibility), CreatorID: p.CreatorID,
		JobsEnabled: true, BuildsAccessLevel: "enabled", CIConfigPath: "",
	}
	return out
}

// sshURL is the SSH clone URL GitLab would show; Gantry's SSH server comes
// later, but clients expect the field.
func (s *Server) sshURL(p gantry.Project) string {
	host := s.ExternalURL.Hostname()
	return "git@" + host + ":" + p.FullPath() + ".git"
}

func (s *Server) member(m gantry.Member) gitlab.Member {
	state := "active"
	return gitlab.Member{UserBasic: s.userBasic(m.User), AccessLevel: int(m.AccessLevel),
		CreatedAt: timePtr(m.CreatedAt), ExpiresAt: datePtr(m.ExpiresAt), MembershipState: state}
}

func (s *Server) commit(p gantry.Project, c git.Commit) gitlab.Commit {
	short := c.ID
	if len(short) > 8 {
		short = short[:8]
	}
	parents := c.ParentIDs
	if parents == nil {
		parents = []string{}
	}
	return gitlab.Commit{ID: c.ID, ShortID: short, CreatedAt: timePtr(c.CommittedAt), ParentIDs: parents,
		Title: c.Title, Message: c.Message, AuthorName: c.AuthorName, AuthorEmail: c.AuthorEmail,
		AuthoredDate: timePtr(c.AuthoredAt), CommitterName: c.CommitterName, CommitterEmail: c.CommitterEmail,
		CommittedDate: timePtr(c.CommittedAt), Trailers: map[string]string{},
		WebURL: s.url("/" + p.FullPath() + "/-/commit/" + c.ID)}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
