package gantry

import (
	"sort"
	"strings"
	"time"
)

// VariableLevel says where a CI/CD variable is defined; closer levels win.
type VariableLevel string

// Variable levels, from farthest to closest.
const (
	InstanceLevel VariableLevel = "instance"
	GroupLevel    VariableLevel = "group"
	ProjectLevel  VariableLevel = "project"
)

// CIVariable is a CI/CD variable set through the API or UI (not in YAML).
type CIVariable struct {
	Key   string
	Value string
	// File makes the runner write Value to a file and set the variable to
	// its path (GitLab's variable_type "file").
	File bool
	// Masked values are hidden in job logs; Gantry also masks them in
	// traces it stores, whatever the runner sent.
	Masked bool
	// Hidden variables are masked and their value can never be read back
	// through the API or UI once saved (GitLab's "masked and hidden").
	Hidden bool
	// Protected variables are only given to pipelines on protected refs.
	Protected bool
	// Raw values are not expanded ($FOO stays $FOO).
	Raw bool
	// EnvironmentScope limits the variable to jobs whose environment
	// matches ("*" for all, wildcards allowed).
	EnvironmentScope string
	Description      string
	Level            VariableLevel
	// OwnerID is the group or project id (0 for instance variables).
	OwnerID int64
}

// AdminAccess is GitLab's access level 60 on protected refs: only
// administrators may push, merge or create.
const AdminAccess AccessLevel = 60

// ProtectedRef protects branches or tags whose name matches Name (which may
// hold "*" wildcards) in one project.
type ProtectedRef struct {
	ID        int64
	ProjectID int64
	Tag       bool
	Name      string
	// PushLevel is the least role that may push (or create the tag);
	// NoAccess means nobody may push.
	PushLevel AccessLevel
	// MergeLevel is the least role that may merge into the branch.
	MergeLevel AccessLevel
	// AllowForcePush permits force pushes by those who may push.
	AllowForcePush bool
	CreatedAt      time.Time
}

// Matches reports whether a branch or tag name (without "refs/heads/" or
// "refs/tags/") falls under this protection. As in GitLab, "*" matches any
// run of characters, slashes included, and everything else is literal.
func (r ProtectedRef) Matches(name string) bool { return wildcardMatch(r.Name, name) }

// MatchesEnvironment reports whether a job deploying to env gets this
// variable. As in GitLab, a job without an environment (env == "") only
// gets variables scoped to "*"; otherwise the scope is a pattern where "*"
// matches any run of characters.
func (v CIVariable) MatchesEnvironment(env string) bool {
	if env == "" {
		return v.EnvironmentScope == "*"
	}
	return wildcardMatch(v.EnvironmentScope, env)
}

// ForEnvironment picks the variables a job in environment env gets, one
// per key, from vars in precedence order: farthest level first, as
// forge.Service.CIVariables returns them (instance, groups from the root
// down, project). Consecutive entries with the same Level and OwnerID form
// one level. A closer level always wins, whatever the scopes, as in
// GitLab; within a level the most specific matching scope wins: an exact
// environment name, then the pattern with the most literal characters,
// then "*" (ties go to the lexically smaller scope, so the choice is
// stable). The result is sorted by key.
func ForEnvironment(vars []CIVariable, env string) []CIVariable {
	type pick struct {
		v           CIVariable
		level, spec int
	}
	best := map[string]pick{}
	level := -1
	for i, v := range vars {
		if i == 0 || v.Level != vars[i-1].Level || v.OwnerID != vars[i-1].OwnerID {
			level++
		}
		if !v.MatchesEnvironment(env) {
			continue
		}
		p := pick{v: v, level: level, spec: scopeSpecificity(v.EnvironmentScope)}
		cur, seen := best[v.Key]
		if !seen || p.level > cur.level || p.level == cur.level &&
			(p.spec > cur.spec || p.spec == cur.spec && v.EnvironmentScope < cur.v.EnvironmentScope) {
			best[v.Key] = p
		}
	}
	out := make([]CIVariable, 0, len(best))
	for _, p := range best {
		out = append(out, p.v)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Key < out[j].Key })
	return out
}

// scopeSpecificity ranks environment scopes: a scope without wildcards
// names one environment and outranks every pattern; patterns rank by
// their literal characters, so "*" ranks lowest.
func scopeSpecificity(scope string) int {
	literal := len(scope) - strings.Count(scope, "*")
	if literal == len(scope) {
		return 1 << 30
	}
	return literal
}

// wildcardMatch matches s against pattern, where "*" stands for any run of
// characters and every other byte is literal. It runs in O(len(pattern) *
// len(s)) at worst, without recursion, so hostile patterns can't blow up.
func wildcardMatch(pattern, s string) bool {
	p, i := 0, 0
	star, mark := -1, 0
	for i < len(s) {
		switch {
		case p < len(pattern) && pattern[p] == '*':
			star, mark = p, i
			p++
		case p < len(pattern) && pattern[p] == s[i]:
			p++
			i++
		case star >= 0:
			p, mark = star+1, mark+1
			i = mark
		default:
			return false
		}
	}
	for p < len(pattern) && pattern[p] == '*' {
		p++
	}
	return p == len(pattern)
}
