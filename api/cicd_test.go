package api_test

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/server/servertest"
)

// rawJSON does a request with a token and decodes the JSON answer.
func rawJSON(t *testing.T, method, url, token, body string) (int, any) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	req.Header.Set("PRIVATE-TOKEN", token)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var v any
	if len(b) > 0 {
		if err := json.Unmarshal(b, &v); err != nil {
			t.Fatalf("%s %s: body %q is not JSON", method, url, b)
		}
	}
	return resp.StatusCode, v
}

// errorBody is the decoded body of a GitLab API error.
func errorBody(t *testing.T, err error) string {
	t.Helper()
	var er *gl.ErrorResponse
	if !errors.As(err, &er) {
		t.Fatalf("error %v is not an API error", err)
	}
	return string(er.Body)
}

type cicdFixture struct {
	srv                   *servertest.Instance
	root, alice, bob, gus *gl.Client
	aliceTok, carolTok    string
	group                 *gl.Group
	project               *gl.Project
	carol                 *gl.Client
}

// newCICDFixture: alice owns group "team" and project team/app; bob is a
// developer of the project, gus a maintainer of the group; carol is no
// member.
func newCICDFixture(t *testing.T) *cicdFixture {
	t.Helper()
	f := &cicdFixture{srv: servertest.Start(t)}
	f.root = newClient(t, f.srv.URL, servertest.RootToken)
	_, f.aliceTok = userWithToken(t, f.root, "alice")
	bob, bobTok := userWithToken(t, f.root, "bob")
	_, f.carolTok = userWithToken(t, f.root, "carol")
	gus, gusTok := userWithToken(t, f.root, "gus")
	f.gus = newClient(t, f.srv.URL, gusTok)
	f.alice, f.bob, f.carol = newClient(t, f.srv.URL, f.aliceTok), newClient(t, f.srv.URL, bobTok), newClient(t, f.srv.URL, f.carolTok)
	var err error
	if f.group, _, err = f.alice.Groups.CreateGroup(&gl.CreateGroupOptions{Name: gl.Ptr("team"), Path: gl.Ptr("team")}); err != nil {
		t.Fatal(err)
	}
	if f.project, _, err = f.alice.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app"), NamespaceID: gl.Ptr(f.group.ID)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.alice.ProjectMembers.AddProjectMember(f.project.ID, &gl.AddProjectMemberOptions{UserID: bob.ID, AccessLevel: gl.Ptr(gl.DeveloperPermissions)}); err != nil {
		t.Fatal(err)
	}
	if _, _, err := f.alice.GroupMembers.AddGroupMember(f.group.ID, &gl.AddGroupMemberOptions{UserID: gl.Ptr(gus.ID), AccessLevel: gl.Ptr(gl.MaintainerPermissions)}); err != nil {
		t.Fatal(err)
	}
	return f
}

func TestProjectVariablesAPI(t *testing.T) {
	f := newCICDFixture(t)
	pid := f.project.ID
	file := gl.FileVariableType
	v, resp, err := f.alice.ProjectVariables.CreateVariable(pid, &gl.CreateProjectVariableOptions{
		Key: gl.Ptr("DEPLOY_KEY"), Value: gl.Ptr("c2VjcmV0LXZhbHVl"), VariableType: &file, Protected: gl.Ptr(true),
		Masked: gl.Ptr(true), Raw: gl.Ptr(true), EnvironmentScope: gl.Ptr("production"), Description: gl.Ptr("ssh key")})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("create: %v", err)
	}
	want := &gl.ProjectVariable{Key: "DEPLOY_KEY", Value: "c2VjcmV0LXZhbHVl", VariableType: gl.FileVariableType, Protected: true,
		Masked: true, Raw: true, EnvironmentScope: "production", Description: "ssh key"}
	if diff := cmp.Diff(want, v); diff != "" {
		t.Errorf("created (-want +got):\n%s", diff)
	}
	if _, _, err := f.alice.ProjectVariables.CreateVariable(pid, &gl.CreateProjectVariableOptions{
		Key: gl.Ptr("DEPLOY_KEY"), Value: gl.Ptr("other"), EnvironmentScope: gl.Ptr("*")}); err != nil {
		t.Fatalf("same key, other scope: %v", err)
	}
	for i := range 3 {
		if _, _, err := f.alice.ProjectVariables.CreateVariable(pid, &gl.CreateProjectVariableOptions{
			Key: gl.Ptr("VAR_" + string(rune('A'+i))), Value: gl.Ptr("v")}); err != nil {
			t.Fatal(err)
		}
	}

	// Listing pages; the same key in two scopes needs a filter.
	list, resp, err := f.alice.ProjectVariables.ListVariables(pid, &gl.ListProjectVariablesOptions{ListOptions: gl.ListOptions{PerPage: 2, Page: 2}})
	if err != nil || resp.TotalItems != 5 || len(list) != 2 || list[0].Key != "VAR_A" {
		t.Fatalf("page 2 = %+v, total %d, %v", list, resp.TotalItems, err)
	}
	_, _, err = f.alice.ProjectVariables.GetVariable(pid, "DEPLOY_KEY", nil)
	wantStatus(t, err, http.StatusConflict)
	if !strings.Contains(errorBody(t, err), "filter[environment_scope]") {
		t.Errorf("409 body = %s", errorBody(t, err))
	}
	got, _, err := f.alice.ProjectVariables.GetVariable(pid, "DEPLOY_KEY", &gl.GetProjectVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: "production"}})
	if err != nil || got.Value != "c2VjcmV0LXZhbHVl" {
		t.Fatalf("get with filter = %+v, %v", got, err)
	}
	upd, _, err := f.alice.ProjectVariables.UpdateVariable(pid, "DEPLOY_KEY", &gl.UpdateProjectVariableOptions{
		Value: gl.Ptr("bmV3LXNlY3JldA=="), EnvironmentScope: gl.Ptr("staging"), Filter: &gl.VariableFilter{EnvironmentScope: "production"}})
	if err != nil || upd.Value != "bmV3LXNlY3JldA==" || upd.EnvironmentScope != "staging" || !upd.Masked || upd.VariableType != gl.FileVariableType {
		t.Fatalf("update = %+v, %v", upd, err)
	}
	_, err = f.alice.ProjectVariables.RemoveVariable(pid, "DEPLOY_KEY", &gl.RemoveProjectVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: "production"}})
	wantStatus(t, err, http.StatusNotFound)
	resp, err = f.alice.ProjectVariables.RemoveVariable(pid, "DEPLOY_KEY", &gl.RemoveProjectVariableOptions{Filter: &gl.VariableFilter{EnvironmentScope: "staging"}})
	if err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("remove: %v", err)
	}
	if got, _, err := f.alice.ProjectVariables.GetVariable(pid, "DEPLOY_KEY", nil); err != nil || got.EnvironmentScope != "*" {
		t.Errorf("the remaining DEPLOY_KEY = %+v, %v", got, err)
	}

	// GitLab's validation errors, field by field.
	bad := []struct {
		opt   gl.CreateProjectVariableOptions
		field string
	}{
		{gl.CreateProjectVariableOptions{Key: gl.Ptr("SHORT"), Value: gl.Ptr("1234567"), Masked: gl.Ptr(true)}, "value"},
		{gl.CreateProjectVariableOptions{Key: gl.Ptr("SPACES"), Value: gl.Ptr("has spaces in it"), Masked: gl.Ptr(true)}, "value"},
		{gl.CreateProjectVariableOptions{Key: gl.Ptr("bad-key"), Value: gl.Ptr("v")}, "key"},
		{gl.CreateProjectVariableOptions{Key: gl.Ptr("VAR_A"), Value: gl.Ptr("again")}, "key"},
	}
	for _, b := range bad {
		_, _, err := f.alice.ProjectVariables.CreateVariable(pid, &b.opt)
		wantStatus(t, err, http.StatusBadRequest)
		var body struct {
			Message map[string][]string `json:"message"`
		}
		if json.Unmarshal([]byte(errorBody(t, err)), &body) != nil || len(body.Message[b.field]) != 1 {
			t.Errorf("%s: body %s, want a message on %q", *b.opt.Key, errorBody(t, err), b.field)
		}
	}
	code, body := rawJSON(t, "POST", f.srv.URL+"/api/v4/projects/team%2Fapp/variables", f.aliceTok, `{"key":"T","value":"v","variable_type":"secret"}`)
	if code != http.StatusBadRequest || !strings.Contains(jsonString(body), "variable_type does not have a valid value") {
		t.Errorf("bad variable_type: %d %v", code, body)
	}
	code, body = rawJSON(t, "POST", f.srv.URL+"/api/v4/projects/team%2Fapp/variables", f.aliceTok, `{"key":"T","value":"v","colour":"red"}`)
	if code != http.StatusBadRequest || !strings.Contains(jsonString(body), "colour") {
		t.Errorf("unknown parameter: %d %v", code, body)
	}
	code, body = rawJSON(t, "POST", f.srv.URL+"/api/v4/projects/team%2Fapp/variables", f.aliceTok, `{"key":"T"}`)
	if code != http.StatusBadRequest || !strings.Contains(jsonString(body), "value is missing") {
		t.Errorf("missing value: %d %v", code, body)
	}

	// Hidden values are never shown again.
	h, _, err := f.alice.ProjectVariables.CreateVariable(pid, &gl.CreateProjectVariableOptions{
		Key: gl.Ptr("HIDDEN"), Value: gl.Ptr("hidden-value-1"), MaskedAndHidden: gl.Ptr(true), Masked: gl.Ptr(true)})
	if err != nil || !h.Hidden || !h.Masked || h.Value != "" {
		t.Fatalf("hidden create = %+v, %v", h, err)
	}
	_, body = rawJSON(t, "GET", f.srv.URL+"/api/v4/projects/team%2Fapp/variables/HIDDEN", f.aliceTok, "")
	if m, _ := body.(map[string]any); m == nil || m["value"] != nil || m["hidden"] != true || m["environment_scope"] != "*" {
		t.Errorf("hidden variable JSON = %v", body)
	}

	// Developers can't read variables; strangers don't see the project.
	_, _, err = f.bob.ProjectVariables.ListVariables(pid, nil)
	wantStatus(t, err, http.StatusForbidden)
	_, _, err = f.bob.ProjectVariables.CreateVariable(pid, &gl.CreateProjectVariableOptions{Key: gl.Ptr("X"), Value: gl.Ptr("x")})
	wantStatus(t, err, http.StatusForbidden)
	_, _, err = f.carol.ProjectVariables.GetVariable(pid, "VAR_A", nil)
	wantStatus(t, err, http.StatusNotFound)
	code, body = rawJSON(t, "GET", f.srv.URL+"/api/v4/projects/team%2Fapp/variables/NOPE", f.aliceTok, "")
	if code != http.StatusNotFound || jsonString(body) != `{"message":"404 Variable Not Found"}` {
		t.Errorf("unknown variable: %d %v", code, body)
	}
}

func jsonString(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestGroupAndInstanceVariablesAPI(t *testing.T) {
	f := newCICDFixture(t)
	gv, _, err := f.alice.GroupVariables.CreateVariable(f.group.ID, &gl.CreateGroupVariableOptions{
		Key: gl.Ptr("REGISTRY"), Value: gl.Ptr("registry.example.com"), EnvironmentScope: gl.Ptr("review/*"), Protected: gl.Ptr(true)})
	if err != nil || gv.EnvironmentScope != "review/*" || !gv.Protected || gv.VariableType != gl.EnvVariableType {
		t.Fatalf("group create = %+v, %v", gv, err)
	}
	list, _, err := f.alice.GroupVariables.ListVariables("team", nil)
	if err != nil || len(list) != 1 || list[0].Value != "registry.example.com" {
		t.Errorf("group list = %+v, %v", list, err)
	}
	upd, _, err := f.alice.GroupVariables.UpdateVariable(f.group.ID, "REGISTRY", &gl.UpdateGroupVariableOptions{Protected: gl.Ptr(false)})
	if err != nil || upd.Protected || upd.Value != "registry.example.com" {
		t.Errorf("group update = %+v, %v", upd, err)
	}
	// Group variables are the owners' business, even for a group maintainer.
	_, _, err = f.gus.GroupVariables.ListVariables(f.group.ID, nil)
	wantStatus(t, err, http.StatusForbidden)
	// … who does manage the variables of the group's projects.
	if _, _, err := f.gus.ProjectVariables.ListVariables(f.project.ID, nil); err != nil {
		t.Errorf("group maintainer lists project variables: %v", err)
	}
	_, _, err = f.carol.GroupVariables.ListVariables(f.group.ID, nil)
	wantStatus(t, err, http.StatusNotFound)
	if _, err := f.alice.GroupVariables.RemoveVariable(f.group.ID, "REGISTRY", nil); err != nil {
		t.Errorf("group remove: %v", err)
	}

	iv, _, err := f.root.InstanceVariables.CreateVariable(&gl.CreateInstanceVariableOptions{
		Key: gl.Ptr("CORP_PROXY"), Value: gl.Ptr("http://proxy:3128"), Description: gl.Ptr("egress")})
	if err != nil || iv.Key != "CORP_PROXY" || iv.Description != "egress" {
		t.Fatalf("instance create = %+v, %v", iv, err)
	}
	code, body := rawJSON(t, "GET", f.srv.URL+"/api/v4/admin/ci/variables/CORP_PROXY", servertest.RootToken, "")
	m, _ := body.(map[string]any)
	if _, scoped := m["environment_scope"]; code != http.StatusOK || scoped || m["value"] != "http://proxy:3128" {
		t.Errorf("instance variable JSON = %d %v (no environment_scope expected)", code, body)
	}
	code, _ = rawJSON(t, "POST", f.srv.URL+"/api/v4/admin/ci/variables", servertest.RootToken, `{"key":"X","value":"y","environment_scope":"prod"}`)
	if code != http.StatusBadRequest {
		t.Errorf("instance variable with environment_scope: %d, want 400", code)
	}
	iv, _, err = f.root.InstanceVariables.UpdateVariable("CORP_PROXY", &gl.UpdateInstanceVariableOptions{Value: gl.Ptr("http://proxy:8080")})
	if err != nil || iv.Value != "http://proxy:8080" {
		t.Errorf("instance update = %+v, %v", iv, err)
	}
	_, _, err = f.alice.InstanceVariables.ListVariables(nil)
	wantStatus(t, err, http.StatusForbidden)
	_, _, err = newClient(t, f.srv.URL, "").InstanceVariables.ListVariables(nil)
	wantStatus(t, err, http.StatusUnauthorized)
	if _, err := f.root.InstanceVariables.RemoveVariable("CORP_PROXY"); err != nil {
		t.Errorf("instance remove: %v", err)
	}
	_, _, err = f.root.InstanceVariables.GetVariable("CORP_PROXY")
	wantStatus(t, err, http.StatusNotFound)
}

func TestProtectedBranchesAndTagsAPI(t *testing.T) {
	f := newCICDFixture(t)
	pid := f.project.ID
	list, _, err := f.alice.ProtectedBranches.ListProtectedBranches(pid, nil)
	if err != nil || len(list) != 1 {
		t.Fatalf("protected branches of a new project = %+v, %v", list, err)
	}
	mainRule := list[0]
	want := &gl.ProtectedBranch{ID: mainRule.ID, Name: "main",
		PushAccessLevels:  []*gl.BranchAccessDescription{{ID: mainRule.ID, AccessLevel: gl.MaintainerPermissions, AccessLevelDescription: "Maintainers"}},
		MergeAccessLevels: []*gl.BranchAccessDescription{{ID: mainRule.ID, AccessLevel: gl.MaintainerPermissions, AccessLevelDescription: "Maintainers"}}}
	if diff := cmp.Diff(want, mainRule); diff != "" {
		t.Errorf("default protection (-want +got):\n%s", diff)
	}

	rel, resp, err := f.alice.ProtectedBranches.ProtectRepositoryBranches(pid, &gl.ProtectRepositoryBranchesOptions{
		Name: gl.Ptr("release/*"), PushAccessLevel: gl.Ptr(gl.NoPermissions), MergeAccessLevel: gl.Ptr(gl.DeveloperPermissions),
		AllowForcePush: gl.Ptr(true)})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("protect release/*: %v", err)
	}
	if rel.PushAccessLevels[0].AccessLevelDescription != "No one" || rel.MergeAccessLevels[0].AccessLevelDescription != "Developers + Maintainers" || !rel.AllowForcePush {
		t.Errorf("release/* = %+v %+v %+v", rel, rel.PushAccessLevels[0], rel.MergeAccessLevels[0])
	}
	_, _, err = f.alice.ProtectedBranches.ProtectRepositoryBranches(pid, &gl.ProtectRepositoryBranchesOptions{Name: gl.Ptr("release/*")})
	wantStatus(t, err, http.StatusConflict)
	if !strings.Contains(errorBody(t, err), "Protected branch 'release/*' already exists") {
		t.Errorf("409 body = %s", errorBody(t, err))
	}
	_, _, err = f.alice.ProtectedBranches.ProtectRepositoryBranches(pid, &gl.ProtectRepositoryBranchesOptions{
		Name: gl.Ptr("x"), PushAccessLevel: gl.Ptr(gl.ReporterPermissions)})
	wantStatus(t, err, http.StatusBadRequest)
	_, _, err = f.alice.ProtectedBranches.ProtectRepositoryBranches(pid, &gl.ProtectRepositoryBranchesOptions{
		Name: gl.Ptr("y"), AllowedToPush: &[]*gl.BranchPermissionOptions{{UserID: gl.Ptr(int64(1))}}})
	wantStatus(t, err, http.StatusNotImplemented)

	// Names with a slash travel escaped in the path (the client escapes).
	esc := "release/*"
	got, _, err := f.alice.ProtectedBranches.GetProtectedBranch(pid, esc)
	if err != nil || got.ID != rel.ID {
		t.Fatalf("get release/* = %+v, %v", got, err)
	}
	found, _, err := f.alice.ProtectedBranches.ListProtectedBranches(pid, &gl.ListProtectedBranchesOptions{Search: gl.Ptr("RELEASE")})
	if err != nil || len(found) != 1 || found[0].Name != "release/*" {
		t.Errorf("search = %+v, %v", found, err)
	}

	// PATCH: add developers to the push list (most permissive wins), then
	// drop the maintainers' entry by id, and turn force pushes on.
	upd, _, err := f.alice.ProtectedBranches.UpdateProtectedBranch(pid, "main", &gl.UpdateProtectedBranchOptions{
		AllowForcePush: gl.Ptr(true), AllowedToPush: &[]*gl.BranchPermissionOptions{{AccessLevel: gl.Ptr(gl.DeveloperPermissions)}}})
	if err != nil || upd.PushAccessLevels[0].AccessLevel != gl.DeveloperPermissions || !upd.AllowForcePush ||
		upd.MergeAccessLevels[0].AccessLevel != gl.MaintainerPermissions {
		t.Fatalf("patch main = %+v, %v", upd, err)
	}
	upd, _, err = f.alice.ProtectedBranches.UpdateProtectedBranch(pid, "main", &gl.UpdateProtectedBranchOptions{
		AllowedToMerge: &[]*gl.BranchPermissionOptions{{ID: gl.Ptr(upd.ID), Destroy: gl.Ptr(true)}}})
	if err != nil || upd.MergeAccessLevels[0].AccessLevelDescription != "No one" || upd.PushAccessLevels[0].AccessLevel != gl.DeveloperPermissions {
		t.Fatalf("patch destroy merge level = %+v, %v", upd, err)
	}

	// Maintainers only.
	_, _, err = f.bob.ProtectedBranches.ListProtectedBranches(pid, nil)
	wantStatus(t, err, http.StatusForbidden)
	_, err = f.bob.ProtectedBranches.UnprotectRepositoryBranches(pid, "main")
	wantStatus(t, err, http.StatusForbidden)
	_, _, err = f.carol.ProtectedBranches.ListProtectedBranches(pid, nil)
	wantStatus(t, err, http.StatusNotFound)
	if resp, err := f.alice.ProtectedBranches.UnprotectRepositoryBranches(pid, esc); err != nil || resp.StatusCode != http.StatusNoContent {
		t.Fatalf("unprotect: %v", err)
	}
	_, _, err = f.alice.ProtectedBranches.GetProtectedBranch(pid, esc)
	wantStatus(t, err, http.StatusNotFound)

	// Protected tags.
	tag, resp, err := f.alice.ProtectedTags.ProtectRepositoryTags(pid, &gl.ProtectRepositoryTagsOptions{
		Name: gl.Ptr("v*"), CreateAccessLevel: gl.Ptr(gl.DeveloperPermissions)})
	if err != nil || resp.StatusCode != http.StatusCreated {
		t.Fatalf("protect tag: %v", err)
	}
	if tag.Name != "v*" || len(tag.CreateAccessLevels) != 1 || tag.CreateAccessLevels[0].AccessLevelDescription != "Developers + Maintainers" {
		t.Errorf("tag = %+v", tag)
	}
	_, _, err = f.alice.ProtectedTags.ProtectRepositoryTags(pid, &gl.ProtectRepositoryTagsOptions{Name: gl.Ptr("v*")})
	wantStatus(t, err, http.StatusConflict)
	tags, _, err := f.alice.ProtectedTags.ListProtectedTags(pid, nil)
	if err != nil || len(tags) != 1 {
		t.Errorf("tags = %+v, %v", tags, err)
	}
	if got, _, err := f.alice.ProtectedTags.GetProtectedTag(pid, "v*"); err != nil || got.CreateAccessLevels[0].AccessLevel != gl.DeveloperPermissions {
		t.Errorf("get tag = %+v, %v", got, err)
	}
	_, _, err = f.bob.ProtectedTags.ListProtectedTags(pid, nil)
	wantStatus(t, err, http.StatusForbidden)
	if _, err := f.alice.ProtectedTags.UnprotectRepositoryTags(pid, "v*"); err != nil {
		t.Errorf("unprotect tag: %v", err)
	}
	_, _, err = f.alice.ProtectedTags.GetProtectedTag(pid, "v*")
	wantStatus(t, err, http.StatusNotFound)
}
