package gantry_test

import (
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/gantry-ci/gantry"
)

func TestProtectedRefMatches(t *testing.T) {
	cases := []struct {
		pattern, name string
		want          bool
	}{
		{"main", "main", true},
		{"main", "main2", false},
		{"main", "Main", false},
		{"release/*", "release/1.0", true},
		{"release/*", "release/", true},
		{"release/*", "release", false},
		{"*-stable", "1-0-stable", true},
		{"*-stable", "1-0-stable-x", false},
		{"*", "feature/deep/name", true},
		{"v*.*", "v1.2", true},
		{"v*.*", "v12", false},
		{"a*b*c", "axxbyyc", true},
		{"a*b*c", "axxcyyb", false},
		{"re.ease", "release", false}, // only "*" is special
	}
	for _, c := range cases {
		r := gantry.ProtectedRef{Name: c.pattern}
		if got := r.Matches(c.name); got != c.want {
			t.Errorf("%q matches %q = %v, want %v", c.pattern, c.name, got, c.want)
		}
	}
}

// FuzzProtectedRefMatches checks the wildcard matcher against the regular
// expression it must agree with.
func FuzzProtectedRefMatches(f *testing.F) {
	f.Add("release/*", "release/1")
	f.Add("a*b*c", "abcabc")
	f.Add("**", "")
	f.Fuzz(func(t *testing.T, pattern, name string) {
		if !utf8.ValidString(pattern) || !utf8.ValidString(name) {
			return // regexp reads invalid UTF-8 as U+FFFD; the matcher compares bytes
		}
		parts := strings.Split(pattern, "*")
		for i, p := range parts {
			parts[i] = regexp.QuoteMeta(p)
		}
		re := regexp.MustCompile(`\A(?s:` + strings.Join(parts, ".*") + `)\z`)
		if got, want := (gantry.ProtectedRef{Name: pattern}).Matches(name), re.MatchString(name); got != want {
			t.Fatalf("Matches(%q, %q) = %v, regexp says %v", pattern, name, got, want)
		}
	})
}

func TestMatchesEnvironment(t *testing.T) {
	cases := []struct {
		scope, env string
		want       bool
	}{
		{"*", "", true},
		{"*", "production", true},
		{"production", "", false},
		{"review/*", "", false},
		{"production", "production", true},
		{"production", "production-eu", false},
		{"review/*", "review/feature-1", true},
		{"review/*", "staging", false},
		{"*-eu", "production-eu", true},
	}
	for _, c := range cases {
		v := gantry.CIVariable{EnvironmentScope: c.scope}
		if got := v.MatchesEnvironment(c.env); got != c.want {
			t.Errorf("scope %q, environment %q: %v, want %v", c.scope, c.env, got, c.want)
		}
	}
}

func TestForEnvironment(t *testing.T) {
	inst := func(k, v string) gantry.CIVariable {
		return gantry.CIVariable{Key: k, Value: v, EnvironmentScope: "*", Level: gantry.InstanceLevel}
	}
	grp := func(id int64, k, v, scope string) gantry.CIVariable {
		return gantry.CIVariable{Key: k, Value: v, EnvironmentScope: scope, Level: gantry.GroupLevel, OwnerID: id}
	}
	proj := func(k, v, scope string) gantry.CIVariable {
		return gantry.CIVariable{Key: k, Value: v, EnvironmentScope: scope, Level: gantry.ProjectLevel, OwnerID: 9}
	}
	vars := []gantry.CIVariable{
		inst("A", "instance"), inst("B", "instance"), inst("ONLY_INSTANCE", "i"),
		grp(1, "B", "root group", "*"), grp(1, "C", "root prod", "production"), grp(1, "D", "root review", "review/*"),
		grp(2, "C", "sub star", "*"), grp(2, "D", "sub any", "*"), grp(2, "D", "sub review", "review/*"),
		grp(2, "D", "sub review-app", "review/app-*"), grp(2, "D", "sub exact", "review/app-1"),
		proj("A", "project prod", "production"), proj("E", "project review", "review/*"),
	}
	values := func(vs []gantry.CIVariable) map[string]string {
		m := map[string]string{}
		for _, v := range vs {
			m[v.Key] = v.Value
		}
		return m
	}
	cases := []struct {
		env  string
		want map[string]string
	}{
		{"", map[string]string{"A": "instance", "B": "root group", "C": "sub star", "D": "sub any", "ONLY_INSTANCE": "i"}},
		// A closer level wins even with a less specific scope: the
		// subgroup's "*" beats the root group's "production".
		{"production", map[string]string{"A": "project prod", "B": "root group", "C": "sub star", "D": "sub any", "ONLY_INSTANCE": "i"}},
		{"review/other", map[string]string{"A": "instance", "B": "root group", "C": "sub star", "D": "sub review", "E": "project review", "ONLY_INSTANCE": "i"}},
		{"review/app-2", map[string]string{"A": "instance", "B": "root group", "C": "sub star", "D": "sub review-app", "E": "project review", "ONLY_INSTANCE": "i"}},
		{"review/app-1", map[string]string{"A": "instance", "B": "root group", "C": "sub star", "D": "sub exact", "E": "project review", "ONLY_INSTANCE": "i"}},
	}
	for _, c := range cases {
		got := gantry.ForEnvironment(vars, c.env)
		if diff := cmp.Diff(c.want, values(got)); diff != "" {
			t.Errorf("environment %q (-want +got):\n%s", c.env, diff)
		}
		for i := 1; i < len(got); i++ {
			if got[i-1].Key >= got[i].Key {
				t.Errorf("environment %q: result not sorted by key: %q before %q", c.env, got[i-1].Key, got[i].Key)
			}
		}
	}
}
