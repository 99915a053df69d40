package api

import (
	"net/http"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/auth"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerProjects(mux *http.ServeMux) {
	s.route(mux, "GET /api/v4/projects", nil, s.listProjects)
	s.route(mux, "POST /api/v4/projects", nil, s.createProject)
	s.route(mux, "GET /api/v4/projects/{id}", nil, s.getProject)
	s.route(mux, "PUT /api/v4/projects/{id}", nil, s.updateProject)
	s.route(mux, "DELETE /api/v4/projects/{id}", nil, s.deleteProject)
	s.route(mux, "GET /api/v4/groups", nil, s.listGroups)
	s.route(mux, "POST /api/v4/groups", nil, s.createGroup)
	s.route(mux, "GET /api/v4/groups/{id}", nil, s.getGroup)
	s.route(mux, "DELETE /api/v4/groups/{id}", nil, s.deleteGroup)
	s.route(mux, "GET /api/v4/groups/{id}/projects", nil, s.groupProjects)
	s.route(mux, "GET /api/v4/groups/{id}/subgroups", nil, s.subgroups)
	for _, kind := range []string{"projects", "groups"} {
		base := "/api/v4/" + kind + "/{id}/members"
		s.route(mux, "GET "+base, nil, s.listMembers(false))
		s.route(mux, "GET "+base+"/all", nil, s.listMembers(true))
		s.route(mux, "POST "+base, nil, s.setMember(true))
		s.route(mux, "GET "+base+"/{user_id}", nil, s.getMember(false))
		s.route(mux, "GET "+base+"/all/{user_id}", nil, s.getMember(true))
		s.route(mux, "PUT "+base+"/{user_id}", nil, s.setMember(false))
		s.route(mux, "DELETE "+base+"/{user_id}", nil, s.removeMember)
	}
}

// projectParams are the project attributes GitLab accepts on create and
// update. Those Gantry does not act on yet are accepted and ignored, so
// scripts written for GitLab keep working; anything else is refused.
var projectParams = []string{"name", "path", "namespace_id", "namespace", "visibility", "description", "default_branch",
	"initialize_with_readme", "issues_enabled", "merge_requests_enabled", "wiki_enabled", "snippets_enabled",
	"jobs_enabled", "builds_access_level", "container_registry_enabled", "shared_runners_enabled", "lfs_enabled",
	"request_access_enabled", "only_allow_merge_if_pipeline_succeeds", "topics", "tag_list", "ci_config_path",
	"auto_devops_enabled", "packages_enabled", "public_builds", "remove_source_branch_after_merge", "squash_option",
	"merge_method", "printing_merge_request_link_enabled", "issues_access_level", "wiki_access_level",
	"repository_access_level", "merge_requests_access_level", "snippets_access_level", "pages_access_level", "archived"}

func (s *Server) listProjects(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	f := store.ProjectFilter{Search: p.strOr("search", ""), Membership: p.boolOr("membership", false),
		Owned: p.boolOr("owned", false), Visibility: gantry.Visibility(p.strOr("visibility", "")),
		OrderBy: p.strOr("order_by", "created_at"), Ascending: p.strOr("sort", "desc") == "asc",
		MinAccess: gantry.AccessLevel(p.intOr("min_access_level", 0))}
	if f.MinAccess != 0 {
		f.Membership = true
	}
	s.writeProjects(w, r, c, f)
}

func (s *Server) writeProjects(w http.ResponseWriter, r *http.Request, c *call, f store.ProjectFilter) {
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	projects, total, err := s.Forge.ListProjects(r.Context(), c.actor, f, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]gitlab.Project, len(projects))
	for i, p := range projects {
		out[i] = s.project(p, p.Empty)
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) createProject(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	np := forge.NewProject{Name: p.strOr("name", ""), Path: p.strOr("path", ""),
		NamespaceID: p.intOr("namespace_id", p.intOr("namespace", 0)), Visibility: gantry.Visibility(p.strOr("visibility", "")),
		Description: p.strOr("description", ""), DefaultBranch: p.strOr("default_branch", "")}
	if err := p.check(projectParams...); err != nil {
		s.fail(w, r, err, "")
		return
	}
	if np.Name == "" && np.Path == "" {
		s.failf(w, r, "name or path is required")
		return
	}
	proj, err := s.Forge.CreateProject(r.Context(), c.actor, np)
	if err != nil {
		s.fail(w, r, err, "Namespace")
		return
	}
	writeJSON(w, http.StatusCreated, s.project(proj, proj.Empty))
}

func (s *Server) getProject(w http.ResponseWriter, r *http.Request, c *call) {
	pa, err := s.Forge.Project(r.Context(), c.actor, r.PathValue("id"), auth.ReadProject)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	out := s.project(pa.Project, pa.Project.Empty)
	if !c.actor.Anonymous() {
		out.Permissions = &gitlab.Permissions{}
		if pa.Level > 0 {
			out.Permissions.ProjectAccess = &gitlab.AccessInfo{AccessLevel: int(pa.Level), NotificationLevel: 3}
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) updateProject(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	var u forge.ProjectUpdate
	u.Name, u.Path, u.Description, u.DefaultBranch = p.str("name"), p.str("path"), p.str("description"), p.str("default_branch")
	if v := p.str("visibility"); v != nil {
		vis := gantry.Visibility(*v)
		u.Visibility = &vis
	}
	if err := p.check(projectParams...); err != nil {
		s.fail(w, r, err, "")
		return
	}
	proj, err := s.Forge.UpdateProject(r.Context(), c.actor, r.PathValue("id"), u)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	writeJSON(w, http.StatusOK, s.project(proj, proj.Empty))
}

func (s *Server) deleteProject(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.Forge.DeleteProject(r.Context(), c.actor, r.PathValue("id")); err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "202 Accepted"})
}

func (s *Server) listGroups(w http.ResponseWriter, r *http.Request, c *call) {
	f := store.GroupFilter{Search: c.params.strOr("search", ""), Owned: c.params.boolOr("owned", false),
		TopLevel: c.params.boolOr("top_level_only", false)}
	s.writeGroups(w, r, c, f)
}

func (s *Server) subgroups(w http.ResponseWriter, r *http.Request, c *call) {
	ga, err := s.Forge.Group(r.Context(), c.actor, r.PathValue("id"), auth.ReadProject)
	if err != nil {
		s.fail(w, r, err, "Group")
		return
	}
	s.writeGroups(w, r, c, store.GroupFilter{ParentID: ga.Group.ID, Search: c.params.strOr("search", "")})
}

func (s *Server) writeGroups(w http.ResponseWriter, r *http.Request, c *call, f store.GroupFilter) {
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	groups, total, err := s.Forge.ListGroups(r.Context(), c.actor, f, pg)
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	out := make([]gitlab.Group, len(groups))
	for i, g := range groups {
		out[i] = s.group(g, "")
	}
	s.writePage(w, r, pg, total, out)
}

func (s *Server) createGroup(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	ng := forge.NewGroup{Name: p.strOr("name", ""), Path: p.strOr("path", ""), ParentID: p.intOr("parent_id", 0),
		Visibility: gantry.Visibility(p.strOr("visibility", "")), Description: p.strOr("description", "")}
	if err := p.check("name", "path", "parent_id", "visibility", "description", "project_creation_level",
		"subgroup_creation_level", "request_access_enabled", "auto_devops_enabled", "lfs_enabled", "default_branch_protection"); err != nil {
		s.fail(w, r, err, "")
		return
	}
	g, err := s.Forge.CreateGroup(r.Context(), c.actor, ng)
	if err != nil {
		s.fail(w, r, err, "Group")
		return
	}
	writeJSON(w, http.StatusCreated, s.group(g, ""))
}

func (s *Server) getGroup(w http.ResponseWriter, r *http.Request, c *call) {
	ga, err := s.Forge.Group(r.Context(), c.actor, r.PathValue("id"), auth.ReadProject)
	if err != nil {
		s.fail(w, r, err, "Group")
		return
	}
	writeJSON(w, http.StatusOK, s.group(ga.Group, ""))
}

func (s *Server) deleteGroup(w http.ResponseWriter, r *http.Request, c *call) {
	if err := s.Forge.DeleteGroup(r.Context(), c.actor, r.PathValue("id")); err != nil {
		s.fail(w, r, err, "Group")
		return
	}
	writeJSON(w, http.StatusAccepted, map[string]any{"message": "202 Accepted"})
}

func (s *Server) groupProjects(w http.ResponseWriter, r *http.Request, c *call) {
	ga, err := s.Forge.Group(r.Context(), c.actor, r.PathValue("id"), auth.ReadProject)
	if err != nil {
		s.fail(w, r, err, "Group")
		return
	}
	p := c.params
	s.writeProjects(w, r, c, store.ProjectFilter{NamespaceID: ga.Group.ID, Descendants: p.boolOr("include_subgroups", false),
		Search: p.strOr("search", ""), OrderBy: p.strOr("order_by", "created_at"), Ascending: p.strOr("sort", "desc") == "asc"})
}

// memberTarget tells project members from group members by the route.
func memberTarget(r *http.Request) forge.MemberTarget {
	return forge.MemberTarget{Group: strings.Contains(r.Pattern, "/api/v4/groups/"), IDOrPath: r.PathValue("id")}
}

func (s *Server) listMembers(inherited bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		if err := c.params.check(); err != nil {
			s.fail(w, r, err, "")
			return
		}
		pg := c.page()
		members, total, err := s.Forge.ListMembers(r.Context(), c.actor, memberTarget(r), inherited, pg)
		if err != nil {
			s.fail(w, r, err, nounOf(r))
			return
		}
		out := make([]gitlab.Member, len(members))
		for i, m := range members {
			out[i] = s.member(m)
		}
		s.writePage(w, r, pg, total, out)
	}
}

func nounOf(r *http.Request) string {
	if memberTarget(r).Group {
		return "Group"
	}
	return "Project"
}

func (s *Server) getMember(inherited bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		uid, err := strconv.ParseInt(r.PathValue("user_id"), 10, 64)
		if err != nil {
			s.fail(w, r, gantry.ErrNotFound, "Member")
			return
		}
		m, err := s.Forge.Member(r.Context(), c.actor, memberTarget(r), uid, inherited)
		if err != nil {
			s.fail(w, r, err, "Member")
			return
		}
		writeJSON(w, http.StatusOK, s.member(m))
	}
}

func (s *Server) setMember(create bool) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request, c *call) {
		p := c.params
		uid := p.intOr("user_id", 0)
		if !create {
			var err error
			if uid, err = strconv.ParseInt(r.PathValue("user_id"), 10, 64); err != nil {
				s.fail(w, r, gantry.ErrNotFound, "Member")
				return
			}
		}
		level := gantry.AccessLevel(p.intOr("access_level", 0))
		expires := p.date("expires_at")
		if err := p.check("user_id", "access_level", "expires_at", "username", "member_role_id", "invite_source"); err != nil {
			s.fail(w, r, err, "")
			return
		}
		if create && uid == 0 {
			s.failf(w, r, "user_id is missing")
			return
		}
		m, err := s.Forge.SetMember(r.Context(), c.actor, memberTarget(r), uid, level, expires, create)
		if err != nil {
			if create && isConflict(err) {
				writeJSON(w, http.StatusConflict, map[string]any{"message": "Member already exists"})
				return
			}
			s.fail(w, r, err, nounOf(r))
			return
		}
		code := http.StatusOK
		if create {
			code = http.StatusCreated
		}
		writeJSON(w, code, s.member(m))
	}
}

func (s *Server) removeMember(w http.ResponseWriter, r *http.Request, c *call) {
	uid, err := strconv.ParseInt(r.PathValue("user_id"), 10, 64)
	if err == nil {
		err = s.Forge.RemoveMember(r.Context(), c.actor, memberTarget(r), uid)
	}
	if err != nil {
		s.fail(w, r, err, "Member")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
