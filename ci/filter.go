package ci

import (
	"regexp"
	"strings"

	"github.com/gantry-ci/gantry/ci/expr"
)

// filter is a parsed only: or except: policy. Within one policy the
// present keys are ANDed; refs, variables and changes entries are ORed.
type filter struct {
	refs       []string
	vars       []*expr.Expression
	varSrc     []string
	changes    []string
	hasChanges bool
	kubernetes string
}

var filterKeys = set("refs", "variables", "changes", "kubernetes")

func (c *compiler) filter(loc string, v *node) *filter {
	if v.isNull() {
		return nil
	}
	f := &filter{}
	switch {
	case v.isStr(), v.isSeq():
		f.refs = c.refList(loc, v)
	case v.isMap():
		if bad := unknownKeys(v, filterKeys); bad != "" {
			c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
		}
		if r, ok := nonNull(v, "refs"); ok {
			f.refs = c.refList(loc+":refs", r)
		}
		if x, ok := nonNull(v, "variables"); ok {
			for _, s := range c.strList(loc+":variables", x) {
				e, err := c.expression(s)
				if err != nil {
					c.errs.addf(x, "%s:variables %v", loc, err)
					continue
				}
				f.vars = append(f.vars, e)
				f.varSrc = append(f.varSrc, s)
			}
		}
		if x, ok := nonNull(v, "changes"); ok {
			f.hasChanges = true
			f.changes = c.pathList(loc+":changes", x, "paths")
		}
		if x, ok := nonNull(v, "kubernetes"); ok {
			f.kubernetes = c.str(loc+":kubernetes", x)
		}
	default:
		c.errs.addf(v, "%s config should be an array of strings or regular expressions, or a hash", loc)
		return nil
	}
	return f
}

func (c *compiler) refList(loc string, v *node) []string {
	refs := c.strList(loc, v)
	for _, r := range refs {
		if re, ok := refRegexp(r); ok && re == nil {
			c.errs.addf(v, "%s config should be an array of strings or regular expressions: invalid regexp %s", loc, r)
		}
	}
	return refs
}

// public is the plan's view of the filter.
func (f *filter) public() *Filter {
	if f == nil {
		return nil
	}
	return &Filter{Refs: f.refs, Variables: f.varSrc, Changes: f.changes, Kubernetes: f.kubernetes}
}

// refRegexp compiles a "/re/flags" entry. ok is false when s is not a
// regexp; a nil regexp with ok true means it does not compile.
func refRegexp(s string) (*regexp.Regexp, bool) {
	if len(s) < 2 || s[0] != '/' {
		return nil, false
	}
	end := strings.LastIndexByte(s, '/')
	if end == 0 {
		return nil, false
	}
	body, flags := s[1:end], s[end+1:]
	if strings.Trim(flags, "imsx") != "" {
		return nil, false
	}
	if strings.Contains(flags, "i") {
		body = "(?i)" + body
	}
	re, err := regexp.Compile(body)
	if err != nil {
		return nil, true
	}
	return re, true
}

// sourceKeywords maps only:/except: keywords to pipeline sources.
var sourceKeywords = map[string][]string{
	"api":                    {"api"},
	"chat":                   {"chat"},
	"external":               {"external"},
	"external_pull_requests": {"external_pull_request_event"},
	"merge_requests":         {"merge_request_event"},
	"pipelines":              {"pipeline", "parent_pipeline"},
	"pushes":                 {"push"},
	"schedules":              {"schedule"},
	"triggers":               {"trigger"},
	"web":                    {"web"},
}

// matches reports whether every key of the policy has a matching entry.
func (c *compiler) filterMatches(f *filter, sc *scope) bool {
	if f.refs != nil && !c.refsMatch(f.refs) {
		return false
	}
	if len(f.vars) > 0 {
		any := false
		for _, e := range f.vars {
			if e.Evaluate(sc.lookup) {
				any = true
				break
			}
		}
		if !any {
			return false
		}
	}
	if f.hasChanges && !c.changed(f.changes, sc) {
		return false
	}
	if f.kubernetes != "" {
		return false // no cluster integration: "kubernetes: active" never holds
	}
	return true
}

func (c *compiler) refsMatch(refs []string) bool {
	for _, r := range refs {
		if c.refMatches(r) {
			return true
		}
	}
	return false
}

func (c *compiler) refMatches(r string) bool {
	pattern, project, hasProject := strings.Cut(r, "@")
	if re, ok := refRegexp(r); ok {
		pattern, hasProject = r, false
		if re == nil {
			return false
		}
		return re.MatchString(c.opts.Ref)
	}
	if hasProject && project != c.opts.Project.Path {
		return false
	}
	src := c.opts.Source
	switch pattern {
	case "branches":
		return !c.opts.Tag && src != "merge_request_event" && src != "external_pull_request_event"
	case "tags":
		return c.opts.Tag
	}
	if sources, ok := sourceKeywords[pattern]; ok {
		return contains(sources, src)
	}
	if re, ok := refRegexp(pattern); ok && re != nil {
		return re.MatchString(c.opts.Ref)
	}
	return pattern == c.opts.Ref
}
