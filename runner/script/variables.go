// Package script turns a job into the shell scripts GitLab Runner would
// run for each stage (get_sources, step_script, after_script…). It only
// produces text; executors run it. Scripts are POSIX sh with the ANSI-C
// quoting bash and busybox ash share, fed on standard input.
package script

import (
	"os"
	"strings"

	"github.com/gantry-ci/gantry/gitlab"
)

// Variables is an ordered variable list; later entries win.
type Variables []gitlab.JobVariable

// Get returns the value of the last variable named key.
func (v Variables) Get(key string) string {
	val, _ := v.Lookup(key)
	return val
}

// Lookup is Get with a found flag.
func (v Variables) Lookup(key string) (string, bool) {
	for i := len(v) - 1; i >= 0; i-- {
		if v[i].Key == key {
			return v[i].Value, true
		}
	}
	return "", false
}

// Set appends (overrides) a public, unmasked variable.
func (v *Variables) Set(key, value string) {
	*v = append(*v, gitlab.JobVariable{Key: key, Value: value, Public: true})
}

// Dedup keeps the last entry of every key, in first-seen order.
func (v Variables) Dedup() Variables {
	last := map[string]int{}
	for i, x := range v {
		last[x.Key] = i
	}
	out := make(Variables, 0, len(last))
	seen := map[string]bool{}
	for _, x := range v {
		if seen[x.Key] {
			continue
		}
		seen[x.Key] = true
		out = append(out, v[last[x.Key]])
	}
	return out
}

// Expand resolves $VAR and ${VAR} references in every non-raw value, the
// way GitLab Runner does before a job runs: against the full list, unknown
// names become empty, $$ stays a literal $. File variables are expanded
// too (their content).
func (v Variables) Expand() Variables {
	d := v.Dedup()
	out := make(Variables, len(d))
	for i, x := range d {
		if !x.Raw && strings.Contains(x.Value, "$") {
			x.Value = d.ExpandString(x.Value)
		}
		out[i] = x
	}
	return out
}

// ExpandString expands references in s against v.
func (v Variables) ExpandString(s string) string {
	const dollar = "\x00gantry-dollar\x00"
	s = strings.ReplaceAll(s, "$$", dollar)
	s = os.Expand(s, func(name string) string { return v.Get(name) })
	return strings.ReplaceAll(s, dollar, "$")
}

// Masked returns the values to mask in logs.
func (v Variables) Masked() []string {
	var out []string
	for _, x := range v {
		if x.Masked && x.Value != "" {
			out = append(out, x.Value)
		}
	}
	return out
}

// validName reports whether key can be exported by a POSIX shell.
func validName(key string) bool {
	if key == "" {
		return false
	}
	for i, c := range key {
		if !(c == '_' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}
