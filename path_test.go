package gantry_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry"
)

func TestSplitPath(t *testing.T) {
	good := []string{"a", "group/sub/project", "my-app.v2", "_x", "a/b/c/d", "G1"}
	for _, p := range good {
		if _, err := gantry.SplitPath(p); err != nil {
			t.Errorf("SplitPath(%q) = %v", p, err)
		}
	}
	bad := []string{"", "/", "a/", "/a", "a//b", "..", "a/../b", ".hidden", "-x", "a b", "x.git", "x.ATOM",
		"%2e%2e", "a/%2e%2e/b", "a\\b", "é", strings.Repeat("a", 256), strings.Repeat("a/", 21) + "a", "a\x00b"}
	for _, p := range bad {
		if _, err := gantry.SplitPath(p); !errors.Is(err, gantry.ErrInvalid) {
			t.Errorf("SplitPath(%q) = %v, want ErrInvalid", p, err)
		}
	}
}

func FuzzSplitPath(f *testing.F) {
	for _, s := range []string{"group/sub/project", "../x", "a/%2e%2e", "a.git", "_a-b.c"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		segs, err := gantry.SplitPath(s)
		if err != nil {
			return
		}
		if strings.Join(segs, "/") != s {
			t.Fatalf("segments %q don't rebuild %q", segs, s)
		}
		for _, seg := range segs {
			if seg == "." || seg == ".." || strings.ContainsAny(seg, "/\\%\x00 ") || strings.HasPrefix(seg, ".") || strings.HasPrefix(seg, "-") {
				t.Fatalf("unsafe segment %q accepted in %q", seg, s)
			}
		}
	})
}
