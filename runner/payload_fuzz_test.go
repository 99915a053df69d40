package runner

import (
	"encoding/json"
	"path"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/gitlab"
	"github.com/gantry-ci/gantry/runner/client"
	"github.com/gantry-ci/gantry/runner/script"
)

// FuzzPayload feeds arbitrary job payloads through what the runner derives
// from them before running anything: validation, the build path, variable
// expansion and the stage scripts. Nothing may panic, and the build path
// must stay relative and inside the builds directory.
func FuzzPayload(f *testing.F) {
	f.Add([]byte(`{"id":1,"token":"t","git_info":{"repo_url":"http://h/g/p.git","sha":"0123456789"},"job_info":{"project_full_path":"g/p"},"variables":[{"key":"A","value":"$B-${C}"}]}`))
	f.Add([]byte(`{"id":2,"token":"t","git_info":{"repo_url":"http://h/../../etc.git","sha":"zz"},"job_info":{"project_full_path":"../x"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var p gitlab.JobPayload
		if json.Unmarshal(data, &p) != nil {
			return
		}
		_ = client.CheckJob(&p)
		pp := projectPath(&p)
		if pp == "" || strings.HasPrefix(pp, "/") || path.Clean(pp) != pp {
			t.Fatalf("unsafe project path %q", pp)
		}
		for _, part := range strings.Split(pp, "/") {
			if part == ".." || part == "." {
				t.Fatalf("unsafe project path %q", pp)
			}
		}
		vars := script.Variables(p.Variables).Expand()
		j := &script.Job{ProjectDir: "/builds/" + pp, TmpDir: "/builds/" + pp + ".tmp", Variables: vars}
		for _, s := range p.Steps {
			_ = script.Step(j, s.Script)
		}
		_ = script.GetSources(j)
	})
}
