package api_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/server/servertest"
)

// do sends a raw request as root and returns status and decoded body.
func do(tb testing.TB, method, url, contentType, body string) (int, map[string]any, http.Header) {
	tb.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		tb.Fatal(err)
	}
	req.Header.Set("PRIVATE-TOKEN", servertest.RootToken)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	return resp.StatusCode, out, resp.Header
}

func projectCount(tb testing.TB, base string) string {
	tb.Helper()
	code, _, h := do(tb, "GET", base+"/api/v4/projects", "", "")
	if code != 200 {
		tb.Fatalf("list projects: %d", code)
	}
	return h.Get("X-Total")
}

// TestBadInputChangesNothing sends malformed and hostile requests: each is
// a 400 with a GitLab-style message, and the store is unchanged.
func TestBadInputChangesNothing(t *testing.T) {
	srv := servertest.Start(t)
	base := srv.URL
	if code, _, _ := do(t, "POST", base+"/api/v4/projects", "application/json", `{"name":"keep"}`); code != 201 {
		t.Fatalf("create baseline project: %d", code)
	}
	before := projectCount(t, base)
	long := strings.Repeat("x", 300)
	cases := []struct {
		name, method, path, ctype, body, want string
	}{
		{"malformed JSON", "POST", "/api/v4/projects", "application/json", `{"name": "a",`, "malformed JSON"},
		{"JSON not an object", "POST", "/api/v4/projects", "application/json", `["a"]`, "malformed JSON"},
		{"trailing JSON", "POST", "/api/v4/projects", "application/json", `{"name":"a"} {}`, "malformed JSON"},
		{"unknown field", "POST", "/api/v4/projects", "application/json", `{"name":"a","colour":"red"}`, "unknown parameter(s): colour"},
		{"overlong name", "POST", "/api/v4/projects", "application/json", `{"name":"` + long + `","path":"ok"}`, "name is too long"},
		{"overlong path", "POST", "/api/v4/projects", "application/json", `{"name":"ok","path":"` + long + `"}`, "path is too long"},
		{"dotdot path", "POST", "/api/v4/projects", "application/json", `{"name":"x","path":"../evil"}`, "must start with"},
		{"encoded dotdot path", "POST", "/api/v4/projects", "application/x-www-form-urlencoded", `name=x&path=%2e%2e`, "must start with"},
		{"slash in path", "POST", "/api/v4/projects", "application/json", `{"name":"x","path":"a/b"}`, "can contain only"},
		{"git suffix", "POST", "/api/v4/projects", "application/json", `{"name":"x","path":"x.git"}`, "can't end in .git"},
		{"bad visibility", "POST", "/api/v4/projects", "application/json", `{"name":"x","visibility":"secret"}`, "visibility"},
		{"bad namespace id", "POST", "/api/v4/projects", "application/json", `{"name":"x","namespace_id":"one"}`, "namespace_id is invalid"},
		{"bad group path", "POST", "/api/v4/groups", "application/json", `{"name":"g","path":"a%2e%2e"}`, "can contain only"},
		{"bad member level", "POST", "/api/v4/projects/root%2Fkeep/members", "application/json", `{"user_id":1,"access_level":35}`, "access_level"},
		{"bad token scope", "POST", "/api/v4/personal_access_tokens", "application/json", `{"name":"t","scopes":["sudo"]}`, "scope"},
		{"bad update visibility", "PUT", "/api/v4/projects/root%2Fkeep", "application/json", `{"visibility":"everyone"}`, "visibility"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, body, _ := do(t, c.method, base+c.path, c.ctype, c.body)
			msg, _ := body["message"].(string)
			if code != http.StatusBadRequest || !strings.Contains(msg, c.want) {
				t.Errorf("got %d %q, want 400 containing %q", code, msg, c.want)
			}
		})
	}
	if after := projectCount(t, base); after != before {
		t.Errorf("project count changed from %s to %s", before, after)
	}
	code, body, _ := do(t, "GET", base+"/api/v4/projects/root%2Fkeep", "", "")
	if code != 200 || body["visibility"] != "private" {
		t.Errorf("baseline project after bad update: %d %v", code, body["visibility"])
	}
	// Traversal through the project id and git paths finds nothing.
	for _, p := range []string{"/api/v4/projects/..%2F..%2Fetc", "/api/v4/projects/%2e%2e", "/..%2F..%2Fetc/info/refs?service=git-upload-pack",
		"/root/%2e%2e/info/refs?service=git-upload-pack"} {
		req, _ := http.NewRequest("GET", base+p, nil)
		req.SetBasicAuth("root", srv.RootPassword)
		req.Header.Set("PRIVATE-TOKEN", servertest.RootToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusNotFound {
			t.Errorf("GET %s = %d, want 404", p, resp.StatusCode)
		}
	}
}
