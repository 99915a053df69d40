package ci

import (
	"encoding/base64"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/gantry-ci/gantry"
)

// location is where an included file comes from.
type location struct {
	kind    string // local, project, template, remote
	project string // for project (and local files nested in a project file)
	ref     string
	path    string // path, template name or URL
	// component is the $[[ component.* ]] context of a component include.
	component map[string]string
}

func (l location) String() string {
	switch l.kind {
	case "project":
		return fmt.Sprintf("project %s@%s:%s", l.project, l.ref, l.path)
	default:
		return l.kind + " " + l.path
	}
}

// includeCtx is the including file: nested local includes resolve in the
// same project and ref as it.
type includeCtx struct {
	loc   location
	chain []string // locations from the main file down, for cycle detection
}

var includeKeys = set("local", "project", "ref", "file", "template", "remote", "component",
	"rules", "inputs", "cache", "integrity")

// resolve interpolates the file's inputs, then replaces its include: with
// the included files, merged in order, and the file itself merged last.
func (c *compiler) resolve(doc *document, ic includeCtx, inputs *node, at *node) (*node, error) {
	body, err := c.interpolate(doc, inputs, at, ic.loc.component)
	if err != nil {
		return nil, err
	}
	if body.isNull() {
		return &node{kind: mapNode, pos: pos{file: doc.file, line: 1, col: 1}}, nil
	}
	if !body.isMap() {
		return nil, errorf(body, "invalid configuration format: the file must be a hash of keys")
	}
	inc := body.get("include")
	if !body.has("include") {
		return body, nil
	}
	var merged *node
	entries, err := c.includeEntries(inc)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		sub, err := c.includeEntry(e, ic)
		if err != nil {
			return nil, err
		}
		for _, s := range sub {
			merged = deepMerge(merged, s)
		}
	}
	rest := make([]pair, 0, len(body.pairs)-1)
	for _, p := range body.pairs {
		if p.key != "include" {
			rest = append(rest, p)
		}
	}
	return deepMerge(merged, body.withPairs(rest)), nil
}

func (c *compiler) includeEntries(inc *node) ([]*node, error) {
	switch {
	case inc.isNull():
		return nil, nil
	case inc.isStr(), inc.isMap():
		return []*node{inc}, nil
	case inc.isSeq():
		items, ok := flattenSeq(inc, 1)
		if !ok {
			return nil, errorf(inc, "include config should be an array or a string")
		}
		return items, nil
	}
	return nil, errorf(inc, "include config should be an array or a string")
}

// includeEntry resolves one include: entry into zero or more merged files.
func (c *compiler) includeEntry(e *node, ic includeCtx) ([]*node, error) {
	if e.isStr() {
		s := c.pre.expand(e.str)
		if strings.HasPrefix(s, "https://") || strings.HasPrefix(s, "http://") {
			return c.includeFiles(e, ic, []location{{kind: "remote", path: s}}, nil)
		}
		locs, err := c.localLocations(e, ic, s)
		if err != nil {
			return nil, err
		}
		return c.includeFiles(e, ic, locs, nil)
	}
	if !e.isMap() {
		return nil, errorf(e, "include config should be a hash or a string")
	}
	if bad := unknownKeys(e, includeKeys); bad != "" {
		return nil, errorf(e, "include config contains unknown keys: %s", bad)
	}
	if err := remoteOnlyKeys(e); err != nil {
		return nil, err
	}
	if rules := e.get("rules"); rules != nil {
		rs := c.parseRules("include", rules, includeRules)
		if err := c.errs.err(); err != nil {
			return nil, err
		}
		r, err := c.firstMatch(rs, c.pre)
		if err != nil {
			return nil, err
		}
		if r == nil || r.when == "never" {
			return nil, nil
		}
	}
	locs, err := c.entryLocations(e, ic)
	if err != nil {
		return nil, err
	}
	return c.includeFiles(e, ic, locs, e.get("inputs"))
}

func (c *compiler) entryLocations(e *node, ic includeCtx) ([]location, error) {
	str := func(key string) (string, error) {
		v := e.get(key)
		if !v.isStr() {
			return "", errorf(e.keyNode(key), "include %s should be a string", key)
		}
		return c.pre.expand(v.str), nil
	}
	var accessors []string
	for _, k := range []string{"local", "project", "template", "remote", "component"} {
		if e.has(k) {
			accessors = append(accessors, k)
		}
	}
	if len(accessors) != 1 {
		return nil, errorf(e, "include `%s` needs to match exactly one accessor!", inline(e))
	}
	switch accessors[0] {
	case "local":
		s, err := str("local")
		if err != nil {
			return nil, err
		}
		return c.localLocations(e, ic, s)
	case "project":
		return c.projectLocations(e)
	case "template":
		s, err := str("template")
		if err != nil {
			return nil, err
		}
		return []location{{kind: "template", path: s}}, nil
	case "remote":
		s, err := str("remote")
		if err != nil {
			return nil, err
		}
		return []location{{kind: "remote", path: s}}, nil
	}
	s, err := str("component")
	if err != nil {
		return nil, err
	}
	return c.componentLocation(e, s)
}

func (c *compiler) localLocations(e *node, ic includeCtx, p string) ([]location, error) {
	if strings.HasPrefix(p, "./") || strings.HasPrefix(p, "../") || strings.Contains(p, "/../") {
		return nil, errorf(e, "local include `%s` is invalid: paths are relative to the repository root and may not use ./ or ../", p)
	}
	p = strings.TrimLeft(p, "/")
	base := location{kind: "local", project: ic.loc.project, ref: ic.loc.ref}
	if base.project != "" {
		base.kind = "project"
	}
	if !isGlob(p) {
		base.path = p
		return []location{base}, nil
	}
	if base.project != "" {
		return nil, errorf(e, "local include `%s`: wildcards are not supported in files included from another project", p)
	}
	re, err := includeGlob(p)
	if err != nil {
		return nil, errorf(e, "local include `%s` is not a valid wildcard: %v", p, err)
	}
	files, err := c.repoFiles()
	if err != nil {
		return nil, errorf(e, "local include `%s`: %v", p, err)
	}
	var locs []location
	for _, f := range files {
		if re.MatchString(f) && yamlExt(f) {
			l := base
			l.path = f
			locs = append(locs, l)
		}
	}
	sort.Slice(locs, func(i, j int) bool { return locs[i].path < locs[j].path })
	return locs, nil
}

func (c *compiler) projectLocations(e *node) ([]location, error) {
	pv := e.get("project")
	if !pv.isStr() {
		return nil, errorf(e.keyNode("project"), "include project should be a string")
	}
	project := c.pre.expand(pv.str) // a path GitLab cannot find stays unfound: no trimming
	ref := ""
	if rv := e.get("ref"); rv != nil {
		if !rv.isScalar() {
			return nil, errorf(rv, "include ref should be a string")
		}
		ref = c.pre.expand(rv.str)
	}
	files := e.get("file")
	var paths []string
	switch {
	case files.isStr():
		paths = []string{files.str}
	case files.isSeq():
		for _, f := range files.items {
			if !f.isStr() {
				return nil, errorf(f, "include file should be a string or an array of strings")
			}
			paths = append(paths, f.str)
		}
	default:
		return nil, errorf(e, "include project `%s` needs a file: key", project)
	}
	locs := make([]location, 0, len(paths))
	for _, p := range paths {
		locs = append(locs, location{kind: "project", project: project, ref: ref,
			path: strings.TrimLeft(c.pre.expand(p), "/")})
	}
	return locs, nil
}

// componentLocation maps include:component "host/group/project/name@ref"
// to templates/name.yml or templates/name/template.yml in that project, or
// in the pipeline's own project when the path is its own.
func (c *compiler) componentLocation(e *node, s string) ([]location, error) {
	addr, ref, ok := strings.Cut(s, "@")
	host, rest, ok2 := strings.Cut(addr, "/")
	slash := strings.LastIndexByte(rest, '/')
	if !ok || !ok2 || slash < 0 || ref == "" {
		return nil, errorf(e, "component `%s` is not a valid component path (host/group/project/name@version)", s)
	}
	if sh, _ := c.pre.lookup("CI_SERVER_HOST"); sh != "" && sh != host {
		return nil, errorf(e, "component `%s`: components from other instances than %s are not supported", s, sh)
	}
	project, name := rest[:slash], rest[slash+1:]
	own := project == c.opts.Project.Path && (ref == c.opts.SHA || ref == c.opts.Ref)
	comp := map[string]string{"name": name, "version": ref, "reference": ref, "sha": ref}
	if own {
		comp["sha"] = c.opts.SHA
	}
	for _, p := range []string{"templates/" + name + ".yml", "templates/" + name + "/template.yml"} {
		l := location{kind: "project", project: project, ref: ref, path: p, component: comp}
		if own {
			l = location{kind: "local", path: p, component: comp}
		}
		if _, err := c.read(l); err == nil {
			return []location{l}, nil
		}
	}
	return nil, errorf(e, "component: `%s`. One of the files [templates/%s.yml,templates/%s/template.yml] must exist in `%s/%s`",
		s, name, name, host, project)
}

// includeFiles loads and resolves each location.
func (c *compiler) includeFiles(e *node, ic includeCtx, locs []location, inputs *node) ([]*node, error) {
	out := make([]*node, 0, len(locs))
	for _, l := range locs {
		if l.kind == "remote" && !c.remoteAllowed(l.path) {
			return nil, errorf(e, "Remote file `%s` is not allowed: its host is not in the remote include allowlist (remote includes are off unless the server allows them)", l.path)
		}
		if !yamlExt(l.path) && l.kind != "remote" {
			return nil, errorf(e, "Included file `%s` does not have YAML extension!", l.path)
		}
		c.includes++
		if c.includes > c.lim.MaxIncludes {
			return nil, errorf(e, "Maximum of %d nested includes are allowed!", c.lim.MaxIncludes)
		}
		key := l.String()
		for _, anc := range ic.chain {
			if anc == key {
				return nil, errorf(e, "include cycle detected: %s -> %s", strings.Join(ic.chain, " -> "), key)
			}
		}
		if len(ic.chain) >= c.lim.MaxIncludeDepth {
			return nil, errorf(e, "Nested includes are limited to %d levels!", c.lim.MaxIncludeDepth)
		}
		doc, err := c.loadLocation(e, l)
		if err != nil {
			return nil, err
		}
		child := includeCtx{loc: l, chain: append(ic.chain[:len(ic.chain):len(ic.chain)], key)}
		n, err := c.resolve(doc, child, inputs, e)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

func (c *compiler) loadLocation(e *node, l location) (*document, error) {
	if d, ok := c.docs[l.String()]; ok {
		return d, c.countSize(e, d.size)
	}
	src, err := c.read(l)
	if err != nil {
		return nil, errorf(e, "%s", includeReadError(l, err))
	}
	if len(src) > c.lim.MaxFileSize {
		return nil, errorf(e, "Included file `%s` is too big: %d bytes, the limit is %d", l.path, len(src), c.lim.MaxFileSize)
	}
	if err := c.countSize(e, len(src)); err != nil {
		return nil, err
	}
	doc, err := c.ld.load(l.path, src)
	if err != nil {
		var ce *Error
		if errors.As(err, &ce) {
			return nil, err
		}
		return nil, errorf(e, "Included file `%s` does not have valid YAML syntax!", l.path)
	}
	doc.size = len(src)
	c.docs[l.String()] = doc
	return doc, nil
}

// countSize adds one inclusion to the total size, which GitLab bounds
// across every included file (repeats count again).
func (c *compiler) countSize(e *node, n int) error {
	c.totalSize += n
	if c.totalSize > c.lim.MaxTotalSize {
		return errorf(e, "Included files are too big: more than %d bytes in total", c.lim.MaxTotalSize)
	}
	return nil
}

func (c *compiler) read(l location) ([]byte, error) {
	inc := c.opts.Includer
	if inc == nil {
		return nil, fmt.Errorf("includes are not available here: %w", gantry.ErrNotImplemented)
	}
	switch l.kind {
	case "local":
		return inc.Local(c.ctx, l.path)
	case "project":
		return inc.Project(c.ctx, l.project, l.ref, l.path)
	case "template":
		return inc.Template(c.ctx, l.path)
	}
	if !c.remoteAllowed(l.path) {
		return nil, fmt.Errorf("remote includes from this host are not allowed (allowlist): %w", gantry.ErrForbidden)
	}
	return inc.Remote(c.ctx, l.path)
}

func includeReadError(l location, err error) string {
	missing := errors.Is(err, gantry.ErrNotFound)
	switch {
	case l.kind == "local" && missing:
		return fmt.Sprintf("Local file `%s` does not exist!", l.path)
	case l.kind == "project" && missing:
		return fmt.Sprintf("Project `%s` file `%s` does not exist (ref %q)!", l.project, l.path, l.ref)
	case l.kind == "template" && missing:
		return fmt.Sprintf("Template file `%s` is not a valid location!", l.path)
	case l.kind == "remote":
		return fmt.Sprintf("Remote file `%s` could not be fetched: %v", l.path, err)
	}
	return fmt.Sprintf("%s could not be read: %v", l, err)
}

// remoteAllowed checks an include:remote URL against the allowlist.
func (c *compiler) remoteAllowed(raw string) bool {
	host := raw
	if i := strings.Index(host, "://"); i >= 0 {
		host = host[i+3:]
	}
	host, _, _ = strings.Cut(host, "/")
	if i := strings.LastIndexByte(host, '@'); i >= 0 {
		host = host[i+1:]
	}
	if h, _, ok := strings.Cut(host, ":"); ok {
		host = h
	}
	host = strings.ToLower(host)
	for _, a := range c.opts.RemoteAllowlist {
		a = strings.ToLower(a)
		if a == host || strings.HasPrefix(a, "*.") && strings.HasSuffix(host, a[1:]) {
			return true
		}
	}
	return false
}

func yamlExt(p string) bool {
	ext := path.Ext(p)
	return ext == ".yml" || ext == ".yaml"
}

// inline renders a small node as a one-line flow mapping for messages.
func inline(n *node) string {
	if !n.isMap() {
		return n.scalarText()
	}
	parts := make([]string, 0, len(n.pairs))
	for _, p := range n.pairs {
		parts = append(parts, p.key+": "+p.val.scalarText())
	}
	return "{" + strings.Join(parts, ", ") + "}"
}

// deepMerge merges b over a: hashes merge recursively, anything else in b
// replaces a. Neither input is modified.
func deepMerge(a, b *node) *node {
	if a == nil {
		return b
	}
	if !a.isMap() || !b.isMap() {
		return b
	}
	pairs := make([]pair, len(a.pairs), len(a.pairs)+len(b.pairs))
	copy(pairs, a.pairs)
	var index map[string]int
	if len(pairs) > 16 {
		index = make(map[string]int, len(pairs)+len(b.pairs))
		for i, p := range pairs {
			index[p.key] = i
		}
	}
	for _, p := range b.pairs {
		i := -1
		if index != nil {
			if j, ok := index[p.key]; ok {
				i = j
			}
		} else {
			for j := range pairs {
				if pairs[j].key == p.key {
					i = j
					break
				}
			}
		}
		if i < 0 {
			if index != nil {
				index[p.key] = len(pairs)
			}
			pairs = append(pairs, p)
			continue
		}
		pairs[i].val = deepMerge(pairs[i].val, p.val)
		pairs[i].keyPos = p.keyPos
	}
	return b.withPairs(pairs)
}

// remoteOnlyKeys checks include:cache and include:integrity, which only a
// remote include may use: cache is true, false or a duration of at least a
// minute; integrity is "sha256-" and a base64 digest.
func remoteOnlyKeys(e *node) error {
	remote := !e.get("remote").isNull()
	if v := e.get("cache"); !v.isNull() && !(v.kind == boolNode && !v.boolValue()) {
		if !remote {
			return errorf(v, "include config cache can only be specified for remote includes")
		}
		if v.kind != boolNode && !v.isStr() {
			return errorf(v, "include config cache must be a boolean or a duration string")
		}
		if v.isStr() {
			d, err := gantry.ParseDuration(v.str)
			if err != nil {
				return errorf(v, "include config cache contains an invalid duration")
			}
			if d < time.Minute {
				return errorf(v, "include config cache duration must be at least 1 minute")
			}
		}
	}
	if v := e.get("integrity"); !v.isNull() {
		if !remote {
			return errorf(v, "include config integrity can only be specified for remote includes")
		}
		digest, ok := strings.CutPrefix(v.scalarText(), "sha256-")
		if !v.isStr() || !ok {
			return errorf(v, "include config integrity hash must start with 'sha256-'")
		}
		if _, err := base64.StdEncoding.DecodeString(digest); err != nil {
			return errorf(v, "include config integrity hash must be base64 encoded")
		}
	}
	return nil
}
