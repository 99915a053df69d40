package ci_test

import (
	"testing"

	"github.com/gantry-ci/gantry"
	"github.com/gantry-ci/gantry/ci"
)

func TestArtifactsDownloadLevel(t *testing.T) {
	yes, no := true, false
	for _, c := range []struct {
		name  string
		a     *ci.Artifacts
		level gantry.AccessLevel
		ok    bool
	}{
		{"no artifacts", nil, gantry.NoAccess, true},
		{"default", &ci.Artifacts{}, gantry.NoAccess, true},
		{"all", &ci.Artifacts{Access: "all"}, gantry.NoAccess, true},
		{"public", &ci.Artifacts{Public: &yes}, gantry.NoAccess, true},
		{"not public", &ci.Artifacts{Public: &no}, gantry.Developer, true},
		{"developer", &ci.Artifacts{Access: "developer"}, gantry.Developer, true},
		{"maintainer", &ci.Artifacts{Access: "maintainer"}, gantry.Maintainer, true},
		{"none", &ci.Artifacts{Access: "none"}, 0, false},
		{"stricter of both", &ci.Artifacts{Public: &no, Access: "all"}, gantry.Developer, true},
		{"public and none", &ci.Artifacts{Public: &yes, Access: "none"}, 0, false},
	} {
		if level, ok := c.a.DownloadLevel(); level != c.level || ok != c.ok {
			t.Errorf("%s: DownloadLevel() = %d, %v; want %d, %v", c.name, level, ok, c.level, c.ok)
		}
	}
}
