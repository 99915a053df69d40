package ci

import (
	"encoding/json"
	"regexp"
	"strings"
)

// inputSpec is one spec:inputs entry of a file header.
type inputSpec struct {
	name    string
	typ     string // string, number, boolean, array
	def     *node  // nil: required
	options []*node
	regex   string
	rules   []inputRule
}

var inputKeys = set("default", "description", "options", "regex", "type", "rules")

// interpolate validates the inputs given to a file against its spec header
// and replaces every $[[ inputs.x ]] in the body. Without a header the body
// is returned as is, and giving inputs is an error.
func (c *compiler) interpolate(doc *document, given *node, at *node, comp map[string]string) (*node, error) {
	if doc.header == nil {
		if given != nil && !given.isNull() {
			return nil, errorf(at, "Given inputs not defined in the `spec` section of the included configuration file")
		}
		return doc.body, nil
	}
	specs, err := c.parseSpec(doc.header)
	if err != nil {
		return nil, err
	}
	c.applyInputRules(specs)
	values, err := resolveInputs(specs, given, at)
	if err != nil {
		return nil, err
	}
	ip := interpolator{values: values, sc: c.pre, component: comp}
	body, err := ip.node(doc.body)
	if err != nil {
		return nil, err
	}
	return body, nil
}

func (c *compiler) parseSpec(h *node) ([]inputSpec, error) {
	spec := h.get("spec")
	if spec.isNull() {
		return nil, nil
	}
	if !spec.isMap() {
		return nil, errorf(spec, "header:spec config should be a hash")
	}
	if err := checkSpecKeys(spec); err != nil {
		return nil, err
	}
	inputs := spec.get("inputs")
	if inputs.isNull() {
		return nil, nil
	}
	if !inputs.isMap() {
		return nil, errorf(inputs, "header:spec:inputs config should be a hash")
	}
	specs := make([]inputSpec, 0, len(inputs.pairs))
	for _, p := range inputs.pairs {
		s := inputSpec{name: p.key, typ: "string"}
		v := p.val
		if !v.isNull() && !v.isMap() {
			return nil, errorf(v, "header:spec:inputs:%s config should be a hash", p.key)
		}
		if bad := unknownKeys(orEmpty(v), inputKeys); bad != "" {
			return nil, errorf(v, "header:spec:inputs:%s config contains unknown keys: %s", p.key, bad)
		}
		if t := v.get("type"); t != nil {
			s.typ = t.scalarText()
			switch s.typ {
			case "string", "number", "boolean", "array":
			default:
				return nil, errorf(t, "header:spec:inputs:%s input type unknown value: %s", p.key, s.typ)
			}
		}
		if v.has("default") {
			s.def = v.get("default")
			if s.def == nil {
				s.def = &node{kind: nullNode, pos: v.pos}
			}
		}
		if o := v.get("options"); o.isSeq() {
			if len(o.items) > maxInputOptions {
				return nil, errorf(o, "header:spec:inputs:%s config cannot define more than %d options", p.key, maxInputOptions)
			}
			s.options = o.items
		}
		if v.has("rules") {
			rules, err := c.inputRules(p.key, v)
			if err != nil {
				return nil, err
			}
			s.rules = rules
		}
		if r := v.get("regex"); r != nil {
			s.regex = r.scalarText()
		}
		specs = append(specs, s)
	}
	return specs, nil
}

func orEmpty(n *node) *node {
	if n == nil {
		return &node{kind: mapNode}
	}
	return n
}

func resolveInputs(specs []inputSpec, given *node, at *node) (map[string]*node, error) {
	if given != nil && !given.isNull() && !given.isMap() {
		return nil, errorf(given, "include inputs config should be a hash")
	}
	known := make(map[string]bool, len(specs))
	for _, s := range specs {
		known[s.name] = true
	}
	if given != nil {
		var unknown []string
		for _, p := range given.pairs {
			if !known[p.key] {
				unknown = append(unknown, p.key)
			}
		}
		if len(unknown) > 0 {
			return nil, errorf(given, "unknown input arguments: %s", strings.Join(unknown, ", "))
		}
	}
	values := make(map[string]*node, len(specs))
	for _, s := range specs {
		v := given.get(s.name)
		if v == nil && !given.has(s.name) {
			v = s.def
		}
		if v == nil {
			return nil, errorf(at, "`%s` input: required value has not been provided", s.name)
		}
		if err := s.check(v, at); err != nil {
			return nil, err
		}
		values[s.name] = v
	}
	return values, nil
}

func (s inputSpec) check(v, at *node) error {
	ok := false
	switch s.typ {
	case "string":
		ok = v.isStr() || v.isNull()
	case "number":
		ok = v.kind == intNode || v.kind == floatNode
	case "boolean":
		ok = v.kind == boolNode
	case "array":
		ok = v.isSeq()
	}
	if !ok {
		return errorf(at, "`%s` input: provided value is not a %s", s.name, s.typ)
	}
	if len(s.options) > 0 {
		values := []*node{v}
		if v.isSeq() {
			values = v.items
		}
		for _, x := range values {
			if !s.allowed(x) {
				return errorf(at, "`%s` input: `%s` cannot be used because it is not in the list of allowed options", s.name, x.scalarText())
			}
		}
	}
	if s.regex != "" && s.typ == "string" {
		re, err := regexp.Compile(strings.TrimSuffix(strings.TrimPrefix(s.regex, "/"), "/"))
		if err != nil {
			return errorf(at, "`%s` input: regex `%s` is not a valid regular expression", s.name, s.regex)
		}
		if !re.MatchString(v.str) {
			return errorf(at, "`%s` input: `%s` does not match required regex: %s", s.name, v.str, s.regex)
		}
	}
	return nil
}

// interpolator replaces $[[ inputs.NAME | fn ... ]] blocks.
type interpolator struct {
	values    map[string]*node
	sc        *scope
	component map[string]string
}

func (ip *interpolator) node(n *node) (*node, error) {
	switch {
	case n == nil:
		return nil, nil
	case n.isStr():
		return ip.scalar(n)
	case n.isSeq():
		return n.mapItems(ip.node)
	case n.isMap():
		return ip.mapping(n)
	}
	return n, nil
}

func (ip *interpolator) mapping(n *node) (*node, error) {
	pairs := make([]pair, 0, len(n.pairs))
	changed := false
	for _, p := range n.pairs {
		v, err := ip.node(p.val)
		if err != nil {
			return nil, err
		}
		k := p.key
		if strings.Contains(k, "$[[") {
			kn, err := ip.scalar(&node{kind: strNode, str: k, pos: p.keyPos})
			if err != nil {
				return nil, err
			}
			k = kn.scalarText()
		}
		if v != p.val || k != p.key {
			changed = true
		}
		pairs = setPair(pairs, pair{key: k, keyPos: p.keyPos, val: v})
	}
	if !changed {
		return n, nil
	}
	return n.withPairs(pairs), nil
}

var blockRE = regexp.MustCompile(`\$\[\[\s*(.*?)\s*\]\]`)

func (ip *interpolator) scalar(n *node) (*node, error) {
	if !strings.Contains(n.str, "$[[") {
		return n, nil
	}
	locs := blockRE.FindAllStringSubmatchIndex(n.str, -1)
	if len(locs) == 1 && locs[0][0] == 0 && locs[0][1] == len(n.str) {
		v, err := ip.block(n, n.str[locs[0][2]:locs[0][3]])
		if err != nil {
			return nil, err
		}
		c := *v
		c.pos = n.pos
		return &c, nil
	}
	var b strings.Builder
	last := 0
	for _, l := range locs {
		b.WriteString(n.str[last:l[0]])
		v, err := ip.block(n, n.str[l[2]:l[3]])
		if err != nil {
			return nil, err
		}
		b.WriteString(inputText(v))
		last = l[1]
	}
	b.WriteString(n.str[last:])
	return strNodeAt(b.String(), n.pos), nil
}

// block evaluates "inputs.NAME | fn | fn(args)".
func (ip *interpolator) block(at *node, src string) (*node, error) {
	parts := strings.Split(src, "|")
	if len(parts) > 4 {
		return nil, errorf(at, "too many functions in interpolation block")
	}
	key := strings.TrimSpace(parts[0])
	if field, ok := strings.CutPrefix(key, "component."); ok && ip.component != nil {
		if v, ok := ip.component[field]; ok {
			return strNodeAt(v, at.pos), nil
		}
	}
	name, ok := strings.CutPrefix(key, "inputs.")
	v, found := ip.values[name]
	if !ok || !found {
		return nil, errorf(at, "unknown interpolation key: `%s`", strings.TrimPrefix(key, "inputs."))
	}
	for _, fn := range parts[1:] {
		var err error
		if v, err = ip.apply(at, strings.TrimSpace(fn), v); err != nil {
			return nil, err
		}
	}
	return v, nil
}

var truncateRE = regexp.MustCompile(`^truncate\(\s*(\d+)\s*,\s*(\d+)\s*\)$`)

func (ip *interpolator) apply(at *node, fn string, v *node) (*node, error) {
	s := inputText(v)
	switch {
	case fn == "expand_vars":
		return strNodeAt(ip.sc.expand(s), v.pos), nil
	case fn == "posix_escape":
		return strNodeAt(posixEscape(s), v.pos), nil
	case truncateRE.MatchString(fn):
		m := truncateRE.FindStringSubmatch(fn)
		off, _ := atoiBounded(m[1])
		n, _ := atoiBounded(m[2])
		off = min(off, len(s))
		end := min(off+n, len(s))
		return strNodeAt(s[off:end], v.pos), nil
	}
	return nil, errorf(at, "no function matching `%s`: check that the function name, arguments, and types are correct", fn)
}

func inputText(v *node) string {
	if v.isSeq() || v.isMap() {
		b, _ := json.Marshal(v.toAny())
		return string(b)
	}
	return v.scalarText()
}

func posixEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		if !(r == '_' || r == '-' || r == '.' || r == '/' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}

func atoiBounded(s string) (int, bool) {
	n := 0
	for _, c := range s {
		n = n*10 + int(c-'0')
		if n > 1<<20 {
			return 1 << 20, false
		}
	}
	return n, true
}

func (s inputSpec) allowed(v *node) bool {
	for _, o := range s.options {
		if o.scalarText() == v.scalarText() && o.kind == v.kind {
			return true
		}
	}
	return false
}
