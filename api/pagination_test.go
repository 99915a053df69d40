package api_test

import (
	"fmt"
	"strings"
	"testing"

	gl "gitlab.com/gitlab-org/api/client-go"

	"github.com/gantry-ci/gantry/git/gittest"
	"github.com/gantry-ci/gantry/server/servertest"
)

// TestHugePageIsEmpty: a page number whose offset overflows an int is an
// empty page (200, []), on listings paged in memory and in SQL alike, not
// a panic or a wrapped-around offset that shows the first page again.
func TestHugePageIsEmpty(t *testing.T) {
	srv := servertest.Start(t)
	root := newClient(t, srv.URL, servertest.RootToken)
	p, _, err := root.Projects.CreateProject(&gl.CreateProjectOptions{Name: gl.Ptr("app")})
	if err != nil {
		t.Fatal(err)
	}
	wt := gittest.NewWorkTree(t, "main", map[string]string{"a.txt": "a\n"})
	gittest.Run(t, wt, "tag", "v1")
	gittest.Run(t, wt, "push", "-q", gittest.URLWithAuth(p.HTTPURLToRepo, "root", servertest.RootToken), "main", "v1")
	sha := strings.TrimSpace(gittest.Run(t, wt, "rev-parse", "HEAD"))
	if _, _, err := root.PipelineTriggers.AddPipelineTrigger(p.ID, &gl.AddPipelineTriggerOptions{Description: gl.Ptr("t")}); err != nil {
		t.Fatal(err)
	}
	proj := fmt.Sprintf("/api/v4/projects/%d", p.ID)
	for _, path := range []string{
		proj + "/repository/branches",
		proj + "/repository/tags",
		proj + "/triggers",
		proj + "/repository/commits/" + sha + "/statuses",
		proj + "/protected_branches",
		proj + "/protected_branches?search=ma",
		proj + "/protected_tags",
		proj + "/pipelines",
		proj + "/members/all",
		"/api/v4/projects",
		"/api/v4/users",
	} {
		for _, page := range []string{"4611686018427387904", "9223372036854775807"} {
			t.Run(path+"/"+page, func(t *testing.T) {
				sep := "?"
				if strings.Contains(path, "?") {
					sep = "&"
				}
				url := srv.URL + path + sep + "per_page=4&page=" + page
				code, body := rawJSON(t, "GET", url, servertest.RootToken, "")
				if list, ok := body.([]any); code != 200 || !ok || len(list) != 0 {
					t.Errorf("GET %s = %d %.200v, want 200 []", url, code, body)
				}
			})
		}
	}
}
