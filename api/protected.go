package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/forge"
	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/store"
)

func (s *Server) registerProtected(mux *http.ServeMux) {
	for _, kind := range []string{"protected_branches", "protected_tags"} {
		base := "/api/v4/projects/{id}/" + kind
		s.route(mux, "GET "+base, nil, s.listProtected)
		s.route(mux, "POST "+base, nil, s.protect)
		s.route(mux, "GET "+base+"/{name}", nil, s.getProtected)
		s.route(mux, "DELETE "+base+"/{name}", nil, s.unprotect)
	}
	s.route(mux, "PATCH /api/v4/projects/{id}/protected_branches/{name}", nil, s.updateProtectedBranch)
}

func isTagRoute(r *http.Request) bool { return strings.Contains(r.Pattern, "/protected_tags") }

func protectedNoun(tag bool) string {
	if tag {
		return "Protected tag"
	}
	return "Protected branch"
}

func (s *Server) listProtected(w http.ResponseWriter, r *http.Request, c *call) {
	tag := isTagRoute(r)
	search := ""
	if !tag {
		search = c.params.strOr("search", "")
	}
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	pg := c.page()
	all := store.Page{Number: 1, Size: -1}
	if search == "" {
		all = pg
	}
	refs, total, err := s.Forge.ListProtectedRefs(r.Context(), c.actor, r.PathValue("id"), tag, all)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	if search != "" { // GitLab's search: a substring of the name
		var found []gantry.ProtectedRef
		for _, ref := range refs {
			if strings.Contains(strings.ToLower(ref.Name), strings.ToLower(search)) {
				found = append(found, ref)
			}
		}
		total, refs = len(found), pageOf(found, pg)
	}
	s.writePage(w, r, pg, total, protectedList(refs, tag))
}

func protectedList(refs []gantry.ProtectedRef, tag bool) any {
	if tag {
		out := make([]gitlab.ProtectedTag, len(refs))
		for i, ref := range refs {
			out[i] = protectedTag(ref)
		}
		return out
	}
	out := make([]gitlab.ProtectedBranch, len(refs))
	for i, ref := range refs {
		out[i] = protectedBranch(ref)
	}
	return out
}

func (s *Server) getProtected(w http.ResponseWriter, r *http.Request, c *call) {
	tag := isTagRoute(r)
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	ref, err := s.Forge.ProtectedRef(r.Context(), c.actor, r.PathValue("id"), tag, r.PathValue("name"))
	if err != nil {
		s.fail(w, r, err, protectedNoun(tag))
		return
	}
	writeJSON(w, http.StatusOK, protectedOne(ref))
}

func protectedOne(ref gantry.ProtectedRef) any {
	if ref.Tag {
		return protectedTag(ref)
	}
	return protectedBranch(ref)
}

// protectParams are what GitLab accepts when protecting a branch or tag.
// Gantry grants by role only: user, group and deploy key entries in the
// allowed_to_* lists are refused as not implemented.
var protectParams = map[bool][]string{
	false: {"name", "push_access_level", "merge_access_level", "unprotect_access_level", "allow_force_push",
		"allowed_to_push", "allowed_to_merge", "allowed_to_unprotect", "code_owner_approval_required"},
	true: {"name", "create_access_level", "allowed_to_create"},
}

func (s *Server) protect(w http.ResponseWriter, r *http.Request, c *call) {
	tag := isTagRoute(r)
	p := c.params
	ref := gantry.ProtectedRef{Tag: tag, Name: p.strOr("name", ""), AllowForcePush: p.boolOr("allow_force_push", false)}
	var err error
	if tag {
		ref.PushLevel, err = accessLevels(p, "create_access_level", "allowed_to_create", nil)
	} else if ref.PushLevel, err = accessLevels(p, "push_access_level", "allowed_to_push", nil); err == nil {
		ref.MergeLevel, err = accessLevels(p, "merge_access_level", "allowed_to_merge", nil)
	}
	if err == nil {
		err = p.check(protectParams[tag]...)
	}
	if err == nil && ref.Name == "" {
		err = errInvalidf("name is missing")
	}
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	created, err := s.Forge.ProtectRef(r.Context(), c.actor, r.PathValue("id"), ref)
	if err != nil {
		s.fail(w, r, err, "Project")
		return
	}
	writeJSON(w, http.StatusCreated, protectedOne(created))
}

// updateProtectedBranch is PATCH: allow_force_push, and the allowed_to_*
// lists, whose entries add a level ({access_level}), change one ({id,
// access_level}) or remove one ({id, _destroy: true}). Gantry keeps one
// level per list (the most permissive) with the protection's id.
// push_access_level and merge_access_level are accepted too.
func (s *Server) updateProtectedBranch(w http.ResponseWriter, r *http.Request, c *call) {
	p := c.params
	id, name := r.PathValue("id"), r.PathValue("name")
	if err := p.check("name", "allow_force_push", "allowed_to_push", "allowed_to_merge", "allowed_to_unprotect",
		"code_owner_approval_required", "push_access_level", "merge_access_level", "unprotect_access_level"); err != nil {
		s.fail(w, r, err, "")
		return
	}
	cur, err := s.Forge.ProtectedRef(r.Context(), c.actor, id, false, name)
	if err != nil {
		s.fail(w, r, err, protectedNoun(false))
		return
	}
	u := forge.ProtectedRefUpdate{AllowForcePush: p.boolean("allow_force_push")}
	push, err := accessLevels(p, "push_access_level", "allowed_to_push", &cur)
	if err == nil {
		u.PushLevel = &push
		var merge gantry.AccessLevel
		merge, err = accessLevels(p, "merge_access_level", "allowed_to_merge", &cur)
		u.MergeLevel = &merge
	}
	if err == nil {
		err = p.check()
	}
	if err != nil {
		s.fail(w, r, err, "")
		return
	}
	ref, err := s.Forge.UpdateProtectedRef(r.Context(), c.actor, id, false, name, u)
	if err != nil {
		s.fail(w, r, err, protectedNoun(false))
		return
	}
	writeJSON(w, http.StatusOK, protectedBranch(ref))
}

func (s *Server) unprotect(w http.ResponseWriter, r *http.Request, c *call) {
	tag := isTagRoute(r)
	if err := c.params.check(); err != nil {
		s.fail(w, r, err, "")
		return
	}
	if err := s.Forge.UnprotectRef(r.Context(), c.actor, r.PathValue("id"), tag, r.PathValue("name")); err != nil {
		s.fail(w, r, err, protectedNoun(tag))
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// accessLevels combines a *_access_level parameter and an allowed_to_*
// list into the one level Gantry keeps: the most permissive of them
// ("no one" only if nothing else is left). cur, on updates, is the
// protection being changed: its level is the list's starting entry (with
// the protection's id) unless the *_access_level parameter replaces it,
// and without either parameter it stays. New protections default to
// maintainers.
func accessLevels(p *params, levelKey, listKey string, cur *gantry.ProtectedRef) (gantry.AccessLevel, error) {
	l := accessList{cur: cur}
	if n := p.int(levelKey); n != nil {
		l.levels = append(l.levels, gantry.AccessLevel(*n))
	} else if cur != nil {
		l.levels, l.hasCur = append(l.levels, currentLevel(*cur, levelKey)), true
	}
	if p.has(listKey) {
		if err := l.apply(p.values[listKey], listKey); err != nil {
			return 0, err
		}
	}
	if p.err != nil {
		return 0, p.err
	}
	for _, level := range l.levels {
		if !forge.ValidRefAccessLevel(level) {
			return 0, errInvalidf("%s does not have a valid value", levelKey)
		}
	}
	if len(l.levels) == 0 && cur == nil {
		return gantry.Maintainer, nil
	}
	best := gantry.NoAccess
	for _, level := range l.levels {
		if level != gantry.NoAccess && (best == gantry.NoAccess || level < best) {
			best = level
		}
	}
	return best, nil
}

func currentLevel(r gantry.ProtectedRef, levelKey string) gantry.AccessLevel {
	if levelKey == "merge_access_level" {
		return r.MergeLevel
	}
	return r.PushLevel
}

// accessList is the levels of one allowed_to_* list being edited; when
// hasCur, levels[0] is the protection's current level, whose id is cur.ID.
type accessList struct {
	levels []gantry.AccessLevel
	cur    *gantry.ProtectedRef
	hasCur bool
}

// accessEntry is one element of an allowed_to_* list.
type accessEntry struct {
	ID          *int64 `json:"id"`
	AccessLevel *int64 `json:"access_level"`
	UserID      *int64 `json:"user_id"`
	GroupID     *int64 `json:"group_id"`
	DeployKeyID *int64 `json:"deploy_key_id"`
	Destroy     bool   `json:"_destroy"`
}

func (l *accessList) apply(raw any, key string) error {
	b, _ := json.Marshal(raw)
	var entries []accessEntry
	if err := json.Unmarshal(b, &entries); err != nil {
		return errInvalidf("%s must be a list of {access_level} objects", key)
	}
	for _, e := range entries {
		switch {
		case e.UserID != nil || e.GroupID != nil || e.DeployKeyID != nil:
			return fmt.Errorf("%w: %s: granting access to users, groups or deploy keys", gantry.ErrNotImplemented, key)
		case e.ID != nil && (!l.hasCur || *e.ID != l.cur.ID):
			return errInvalidf("%s: no access level with id %d", key, *e.ID)
		case e.ID != nil && e.Destroy:
			l.levels, l.hasCur = l.levels[1:], false
		case e.ID != nil && e.AccessLevel != nil:
			l.levels[0] = gantry.AccessLevel(*e.AccessLevel)
		case e.AccessLevel != nil && !e.Destroy:
			l.levels = append(l.levels, gantry.AccessLevel(*e.AccessLevel))
		default:
			return errInvalidf("%s entries need an access_level", key)
		}
	}
	return nil
}

var refAccessDescriptions = map[gantry.AccessLevel]string{
	gantry.NoAccess: "No one", gantry.Developer: "Developers + Maintainers",
	gantry.Maintainer: "Maintainers", gantry.AdminAccess: "Administrators",
}

func refAccess(id int64, l gantry.AccessLevel) []gitlab.RefAccessLevel {
	desc, ok := refAccessDescriptions[l]
	if !ok {
		desc = strconv.Itoa(int(l))
	}
	return []gitlab.RefAccessLevel{{ID: id, AccessLevel: int(l), AccessLevelDescription: desc}}
}

func protectedBranch(r gantry.ProtectedRef) gitlab.ProtectedBranch {
	return gitlab.ProtectedBranch{ID: r.ID, Name: r.Name, PushAccessLevels: refAccess(r.ID, r.PushLevel),
		MergeAccessLevels: refAccess(r.ID, r.MergeLevel), AllowForcePush: r.AllowForcePush}
}

func protectedTag(r gantry.ProtectedRef) gitlab.ProtectedTag {
	return gitlab.ProtectedTag{Name: r.Name, CreateAccessLevels: refAccess(r.ID, r.PushLevel)}
}
