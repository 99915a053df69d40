package server_test

import (
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/server/servertest"
)

// ciActors are the columns of the authorization matrix: no credentials,
// users of every role in the private project team/app (api tokens),
// an admin, a maintainer's tokens with narrower scopes, job tokens (of a
// running job of team/app, of a running job of a project whose user is
// no member, of a finished job) and a runner token sent as a personal
// access token.
var ciActors = []string{"anon", "nonmember", "guest", "reporter", "developer", "maintainer", "owner", "admin",
	"read_api", "read_user", "read_repository", "job", "job-other", "job-dead", "runner-token"}

var actorLevel = map[string]gl.AccessLevelValue{"guest": gl.GuestPermissions, "reporter": gl.ReporterPermissions,
	"developer": gl.DeveloperPermissions, "maintainer": gl.MaintainerPermissions, "owner": gl.OwnerPermissions,
	"read_api": gl.MaintainerPermissions, "read_user": gl.MaintainerPermissions, "read_repository": gl.MaintainerPermissions}

// passes marks a call that passes authorization (see ciRoute.okCodes).
const passes = -1

// ciRoute is one row of the matrix. Expectations follow GitLab's API:
// a project the caller can't see is 404, an action the caller's role
// does not allow is 403, no or bad credentials 401 where GitLab calls
// authenticate! (the jobs, runners, triggers, commit statuses and
// variables APIs, and every write of the pipelines API) and 404 for a
// GET of a private project elsewhere. A token without the scope is 403.
// GitLab ignores a job token where it isn't accepted, so there the call
// is anonymous.
type ciRoute struct {
	method, path, body string
	need               gl.AccessLevelValue // minimum role in team/app
	authAll            bool                // authenticate!: anonymous is 401 even for GET
	jobToken           bool                // job tokens may call it
	anyUser            bool                // any signed-in user may (not a project route)
	adminOnly          bool
	stateful           bool // 400/409 also mean passes: the action was done already
	want               map[string]int
	fresh              func(t *testing.T, f *ciFixture) map[string]string
}

func (r ciRoute) okCodes() []int {
	ok := map[string][]int{"GET": {200}, "POST": {201}, "PUT": {200}, "DELETE": {204}}[r.method]
	if r.stateful {
		ok = append(ok, 200, 400, 409)
	}
	return ok
}

func (r ciRoute) expect(actor string) []int {
	code, ok := r.want[actor]
	if !ok {
		code = r.rule(actor)
	}
	if code == passes {
		return r.okCodes()
	}
	return []int{code}
}

func (r ciRoute) rule(actor string) int {
	anon, ok := r.want["anon"]
	if !ok {
		anon = http.StatusNotFound
		if r.authAll || r.method != "GET" {
			anon = http.StatusUnauthorized
		}
	}
	switch actor {
	case "anon":
		return anon
	case "runner-token":
		return http.StatusUnauthorized // not a personal access token
	case "job", "job-other", "job-dead":
		switch {
		case !r.jobToken:
			return anon
		case actor == "job-dead":
			return http.StatusUnauthorized
		case actor == "job-other":
			return http.StatusNotFound
		}
		return passes
	}
	if actor == "read_user" || actor == "read_repository" || (actor == "read_api" && r.method != "GET") {
		return http.StatusForbidden // insufficient_scope
	}
	level := actorLevel[actor]
	switch {
	case actor == "admin", r.anyUser:
		return passes
	case r.adminOnly:
		return http.StatusForbidden
	case level == 0:
		return http.StatusNotFound
	case level < r.need:
		return http.StatusForbidden
	}
	return passes
}

func ciRoutes() []ciRoute {
	p := "/api/v4/projects/{project}"
	dev, rep, maint, owner := gl.DeveloperPermissions, gl.ReporterPermissions, gl.MaintainerPermissions, gl.OwnerPermissions
	// GitLab: runners exist for everyone, so a runner the caller may not
	// manage is 403 "No access granted", not 404.
	runner := map[string]int{"nonmember": http.StatusForbidden}
	return []ciRoute{
		{method: "GET", path: p + "/pipelines", need: rep},
		{method: "GET", path: p + "/pipelines/latest", need: rep},
		{method: "GET", path: p + "/pipelines/{pipeline}", need: rep},
		{method: "GET", path: p + "/pipelines/{pipeline}/variables", need: maint},
		{method: "GET", path: p + "/pipelines/{pipeline}/jobs", need: rep, jobToken: true},
		{method: "POST", path: p + "/pipelines/{pipeline2}/cancel", need: dev, stateful: true},
		{method: "POST", path: p + "/pipelines/{pipeline2}/retry", need: dev, stateful: true},
		{method: "DELETE", path: p + "/pipelines/{fresh}", need: owner, fresh: freshPipeline},
		{method: "POST", path: p + "/pipeline", body: `{"ref":"side"}`, need: dev},
		{method: "GET", path: p + "/triggers", need: maint, authAll: true},
		{method: "POST", path: p + "/triggers", body: `{"description":"x"}`, need: maint, authAll: true},
		{method: "DELETE", path: p + "/triggers/{fresh}", need: maint, authAll: true, fresh: freshTrigger},
		{method: "GET", path: p + "/repository/commits/{sha}/statuses", need: rep, authAll: true},
		// GitLab's lint API calls no authenticate!; POST needs create_pipeline.
		{method: "POST", path: p + "/ci/lint", body: `{"content":"x:\n  script: [a]\n"}`, need: dev, stateful: true,
			want: map[string]int{"anon": http.StatusNotFound}},
		{method: "GET", path: p + "/ci/lint", need: rep},
		{method: "GET", path: p + "/jobs", need: rep, authAll: true, jobToken: true},
		{method: "GET", path: p + "/jobs/{job}", need: rep, authAll: true},
		{method: "GET", path: p + "/jobs/{job}/trace", need: rep, authAll: true},
		{method: "GET", path: p + "/jobs/{job}/artifacts", need: rep, authAll: true, jobToken: true},
		{method: "GET", path: p + "/jobs/{job}/artifacts/out.txt", need: rep, authAll: true, jobToken: true},
		{method: "POST", path: p + "/jobs/{held}/cancel", need: dev, authAll: true, stateful: true},
		{method: "POST", path: p + "/jobs/{held}/cancel?force=true", need: maint, authAll: true, stateful: true},
		{method: "POST", path: p + "/jobs/{job}/retry", need: dev, authAll: true, stateful: true},
		{method: "POST", path: p + "/jobs/{manual}/play", need: dev, authAll: true, stateful: true},
		// The job token's own job; a personal access token has none.
		{method: "GET", path: "/api/v4/job", authAll: true, jobToken: true, anyUser: true, want: map[string]int{"nonmember": 404,
			"guest": 404, "reporter": 404, "developer": 404, "maintainer": 404, "owner": 404, "admin": 404, "read_api": 404,
			"job-other": passes}},
		{method: "POST", path: "/api/v4/user/runners", body: `{"runner_type":"project_type","project_id":{project}}`, need: maint, authAll: true},
		{method: "POST", path: "/api/v4/user/runners", body: `{"runner_type":"instance_type"}`, authAll: true, adminOnly: true,
			want: map[string]int{"nonmember": 403}},
		{method: "GET", path: "/api/v4/runners", authAll: true, anyUser: true},
		{method: "GET", path: "/api/v4/runners/all", authAll: true, adminOnly: true, want: map[string]int{"nonmember": 403}},
		{method: "GET", path: "/api/v4/runners/{instanceRunner}", authAll: true, anyUser: true},
		{method: "GET", path: "/api/v4/runners/{runner}", need: maint, authAll: true, want: runner},
		{method: "PUT", path: "/api/v4/runners/{runner}", body: `{"description":"changed"}`, need: maint, authAll: true, want: runner},
		{method: "DELETE", path: "/api/v4/runners/{fresh}", need: maint, authAll: true, want: runner, fresh: freshRunner},
		{method: "GET", path: "/api/v4/runners/{runner}/jobs", need: maint, authAll: true, want: runner},
		{method: "GET", path: "/api/v4/runners/{runner}/managers", need: maint, authAll: true, want: runner},
		{method: "POST", path: "/api/v4/runners/{runner}/reset_authentication_token", need: maint, authAll: true, want: runner},
		{method: "POST", path: "/api/v4/runners/reset_registration_token", authAll: true, adminOnly: true,
			want: map[string]int{"nonmember": 403}},
		{method: "GET", path: p + "/runners", need: maint, authAll: true},
		{method: "GET", path: p + "/variables", need: maint, authAll: true},
		{method: "POST", path: p + "/variables", body: `{"key":"{fresh}","value":"v"}`, need: maint, authAll: true, fresh: freshKey},
		{method: "GET", path: p + "/protected_branches", need: maint},
		// Last: erasing removes the artifacts the rows above read.
		{method: "POST", path: p + "/jobs/{job}/erase", need: maint, authAll: true, stateful: true},
	}
}

// TestCIAuthorizationMatrix calls every CI endpoint of the API as every
// kind of caller and checks the status against GitLab's rules.
func TestCIAuthorizationMatrix(t *testing.T) {
	f := newCIFixture(t)
	for _, r := range ciRoutes() {
		t.Run(r.method+" "+r.path, func(t *testing.T) {
			for _, a := range ciActors {
				path, body := r.path, r.body
				vars := f.ids
				if r.fresh != nil {
					vars = merge(f.ids, r.fresh(t, f))
				}
				for k, v := range vars {
					path = strings.ReplaceAll(path, "{"+k+"}", v)
					body = strings.ReplaceAll(body, "{"+k+"}", v)
				}
				code, out := f.call(t, r.method, path, f.cred[a], body)
				if want := r.expect(a); !slices.Contains(want, code) {
					t.Errorf("%-15s %d, want %v: %.200s", a, code, want, out)
				}
			}
		})
	}
}

// TestTriggerPipelineAuthorization: POST /trigger/pipeline authenticates
// with its token parameter: a trigger token of the project, or a running
// job's token whose user may run pipelines there.
func TestTriggerPipelineAuthorization(t *testing.T) {
	f := newCIFixture(t)
	for _, c := range []struct {
		name, token string
		want        int
	}{
		{"trigger token", f.triggerToken, 201},
		{"job token", f.jobToken, 201},
		{"job token of a user without access", f.otherJobToken, 404},
		{"finished job's token", f.deadJobToken, 404},
		{"personal access token", servertest.RootToken, 404},
		{"runner token", f.runnerToken, 404},
		{"unknown token", "glptt-0000000000000000000000", 404},
		{"no token", "", 400},
	} {
		t.Run(c.name, func(t *testing.T) {
			body := fmt.Sprintf(`{"ref":"side","token":%q}`, c.token)
			if code, out := f.call(t, "POST", "/api/v4/projects/"+f.ids["project"]+"/trigger/pipeline", [2]string{}, body); code != c.want {
				t.Errorf("%d, want %d: %s", code, c.want, out)
			}
		})
	}
}

func merge(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

func freshPipeline(t *testing.T, f *ciFixture) map[string]string {
	return map[string]string{"fresh": fmt.Sprint(f.newPipeline(t))}
}

func freshTrigger(t *testing.T, f *ciFixture) map[string]string {
	tr, _, err := f.root.PipelineTriggers.AddPipelineTrigger(f.project.ID, &gl.AddPipelineTriggerOptions{Description: gl.Ptr("x")})
	if err != nil {
		t.Fatal(err)
	}
	return map[string]string{"fresh": fmt.Sprint(tr.ID)}
}

func freshRunner(t *testing.T, f *ciFixture) map[string]string {
	id, _ := f.createRunner(t, servertest.RootToken, fmt.Sprintf(`{"runner_type":"project_type","project_id":%d}`, f.project.ID))
	return map[string]string{"fresh": fmt.Sprint(id)}
}

func freshKey(t *testing.T, f *ciFixture) map[string]string {
	f.n++
	return map[string]string{"fresh": fmt.Sprintf("KEY_%d", f.n)}
}

// runnerCreds are the credentials tried on the runner API.
func (f *ciFixture) runnerCreds() map[string]string {
	return map[string]string{"runner": f.runnerToken, "none": "", "bad": "glrt-not-a-runner-token", "pat": servertest.RootToken,
		"job": f.jobToken, "job-other": f.otherJobToken, "job-dead": f.deadJobToken}
}

// TestRunnerAPIAuthorization: the runner API takes a runner token in the
// body for runner calls and a job token (JOB-TOKEN) for job calls, the
// token of that very job while it runs; anything else is 403, the status
// the runner takes for "stop" (never 401, which it does not expect).
// Downloading a dependency's artifacts follows GitLab's
// authenticate_job_via_dependent_job!: 401 without a valid job token,
// 403 when the job's user may not read the dependency.
func TestRunnerAPIAuthorization(t *testing.T) {
	f := newCIFixture(t)
	running, done := "/api/v4/jobs/"+f.ids["running"], "/api/v4/jobs/"+f.ids["job"]
	rows := []struct {
		name string
		send func(token string) (int, http.Header)
		want map[string]int // credential → status; others 403
	}{
		{"POST /runners/verify", func(tok string) (int, http.Header) {
			return f.runnerCall(t, "POST", "/api/v4/runners/verify", nil, fmt.Sprintf(`{"token":%q}`, tok))
		}, map[string]int{"runner": 200}},
		{"POST /jobs/request", func(tok string) (int, http.Header) {
			code, h := f.runnerCall(t, "POST", "/api/v4/jobs/request", nil, fmt.Sprintf(`{"token":%q}`, tok))
			if code == 201 {
				code = 204 // a job of branch side was pending: either answer passes
			}
			return code, h
		}, map[string]int{"runner": 204}},
		{"PUT /jobs/:id", func(tok string) (int, http.Header) {
			return f.runnerCall(t, "PUT", running, map[string]string{"JOB-TOKEN": tok}, fmt.Sprintf(`{"token":%q,"state":"running"}`, tok))
		}, map[string]int{"job": 200}},
		{"PATCH /jobs/:id/trace", func(tok string) (int, http.Header) {
			return f.runnerCall(t, "PATCH", running+"/trace", map[string]string{"JOB-TOKEN": tok, "Content-Range": "0-4"}, "hello")
		}, map[string]int{"job": 202}},
		{"POST /jobs/:id/artifacts", func(tok string) (int, http.Header) {
			return f.upload(t, running, tok)
		}, map[string]int{"job": 201}},
		{"GET /jobs/:id/artifacts (a dependency)", func(tok string) (int, http.Header) {
			return f.runnerCall(t, "GET", done+"/artifacts", map[string]string{"JOB-TOKEN": tok}, "")
		}, map[string]int{"job": 200, "none": 401, "bad": 401, "pat": 401, "runner": 401, "job-dead": 401}},
	}
	for _, row := range rows {
		t.Run(row.name, func(t *testing.T) {
			for cred, tok := range f.runnerCreds() {
				want, ok := row.want[cred]
				if !ok {
					want = http.StatusForbidden
				}
				if code, _ := row.send(tok); code != want {
					t.Errorf("%s: %d, want %d", cred, code, want)
				}
			}
		})
	}
	// A finished job's own token on its own job: 403 with its status, so
	// the runner stops (another job's token gets no status).
	for _, c := range []struct {
		method, path, body string
		header             map[string]string
	}{
		{"PUT", done, fmt.Sprintf(`{"token":%q,"state":"success"}`, f.deadJobToken), nil},
		{"PATCH", done + "/trace", "more", map[string]string{"Content-Range": "6-9"}},
	} {
		h := map[string]string{"JOB-TOKEN": f.deadJobToken}
		for k, v := range c.header {
			h[k] = v
		}
		if code, hdr := f.runnerCall(t, c.method, c.path, h, c.body); code != 403 || hdr.Get("Job-Status") != "success" {
			t.Errorf("%s %s with the finished job's token: %d, Job-Status %q", c.method, c.path, code, hdr.Get("Job-Status"))
		}
	}
	// The job ends: its token is dead on every route.
	var id int64
	fmt.Sscan(f.ids["running"], &id)
	if r := f.runner.Final(t, &gitlab.JobPayload{ID: id, Token: f.jobToken}, "success", "", 0, []byte("hello")); r.Status != 200 {
		t.Fatalf("finish: %d %s", r.Status, r.Body)
	}
	if code, _ := f.runnerCall(t, "GET", done+"/artifacts", map[string]string{"JOB-TOKEN": f.jobToken}, ""); code != 401 {
		t.Errorf("artifacts with the token of a finished job: %d", code)
	}
	if code, _ := f.call(t, "GET", "/api/v4/job", [2]string{"JOB-TOKEN", f.jobToken}, ""); code != 401 {
		t.Errorf("GET /job with the token of a finished job: %d", code)
	}
}

func (f *ciFixture) runnerCall(t *testing.T, method, path string, header map[string]string, body string) (int, http.Header) {
	t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, v := range header {
		if v != "" {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, resp.Header
}

func (f *ciFixture) upload(t *testing.T, jobPath, token string) (int, http.Header) {
	t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	w, _ := mw.CreateFormFile("file", "artifacts.zip")
	w.Write(f.artifact)
	mw.Close()
	return f.runnerCall(t, "POST", jobPath+"/artifacts?artifact_format=zip&artifact_type=archive",
		map[string]string{"JOB-TOKEN": token, "Content-Type": mw.FormDataContentType()}, buf.String())
}
