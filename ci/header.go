package ci

import "github.com/gantry-ci/gantry/ci/expr"

// specKeys are the spec: keys of a file header GitLab accepts. GitLab has
// spec:include behind its ci_file_inputs flag, off by default, and refuses
// it as an unknown key until then; Gantry does the same.
var specKeys = set("inputs", "component")

// componentFields are the $[[ component.* ]] fields spec:component may
// declare.
var componentFields = set("name", "sha", "version", "reference")

// maxInputOptions is GitLab's limit on options of one input or rule.
const maxInputOptions = 50

func checkSpecKeys(spec *node) error {
	if bad := unknownKeys(spec, specKeys); bad != "" {
		return errorf(firstUnknown(spec, specKeys), "header:spec config contains unknown keys: %s", bad)
	}
	comp := spec.get("component")
	if comp.isNull() {
		return nil
	}
	if !comp.isSeq() {
		return errorf(comp, "header:spec:component config should be an array of strings")
	}
	for _, it := range comp.items {
		if !it.isStr() || !componentFields[it.str] {
			return errorf(it, "header:spec:component config contains unknown values: %s (allowed: name, sha, version, reference)", it.scalarText())
		}
	}
	return nil
}

// inputRule is one spec:inputs:<name>:rules entry: when cond holds (or
// always, for a fallback rule without if) the input takes the rule's
// options and default.
type inputRule struct {
	cond    *expr.Expression
	options []*node
	def     *node // nil: the rule gives no default, the input is required
}

var inputRuleKeys = set("if", "options", "default")

// inputRules parses the rules of input name; v is the input's hash.
func (c *compiler) inputRules(name string, v *node) ([]inputRule, error) {
	loc := "header:spec:inputs:" + name
	if v.has("options") || v.has("default") {
		return nil, errorf(v.keyNode("rules"), "%s config rules cannot be combined with options or default; set them in each rule", loc)
	}
	rs := v.get("rules")
	if !rs.isSeq() {
		return nil, errorf(orNull(rs, v), "%s:rules config should be an array of hashes", loc)
	}
	out := make([]inputRule, 0, len(rs.items))
	for _, r := range rs.items {
		ir, err := c.inputRule(loc+":rules:rule", r)
		if err != nil {
			return nil, err
		}
		out = append(out, ir)
	}
	return out, nil
}

func (c *compiler) inputRule(loc string, r *node) (inputRule, error) {
	var ir inputRule
	if !r.isMap() || len(r.pairs) == 0 {
		return ir, errorf(r, "%s config should be a hash", loc)
	}
	if bad := unknownKeys(r, inputRuleKeys); bad != "" {
		return ir, errorf(firstUnknown(r, inputRuleKeys), "%s config contains unknown keys: %s", loc, bad)
	}
	if x := r.get("if"); x != nil {
		if !x.isStr() {
			return ir, errorf(x, "%s if should be a string", loc)
		}
		e, err := c.expression(x.str)
		if err != nil {
			return ir, errorf(x, "%s if %v", loc, err)
		}
		ir.cond = e
	}
	if x := r.get("options"); x != nil {
		if !x.isSeq() {
			return ir, errorf(x, "%s options should be an array", loc)
		}
		if len(x.items) > maxInputOptions {
			return ir, errorf(x, "%s config cannot define more than %d options", loc, maxInputOptions)
		}
		ir.options = x.items
	}
	if r.has("default") {
		ir.def = orNull(r.get("default"), r)
	}
	switch {
	case ir.cond != nil && ir.options == nil && ir.def == nil:
		return ir, errorf(r, "%s config rule with 'if' must define 'options' or 'default'", loc)
	case ir.cond == nil && ir.options == nil:
		return ir, errorf(r, "%s config fallback rule must define 'options'", loc)
	}
	return ir, nil
}

// applyInputRules gives every input with rules the options and default
// of its first matching rule, evaluated against the pipeline's variables.
// No matching rule leaves the input required and unrestricted.
func (c *compiler) applyInputRules(specs []inputSpec) {
	for i := range specs {
		s := &specs[i]
		for _, r := range s.rules {
			if r.cond == nil || r.cond.Evaluate(c.pre.lookup) {
				s.options, s.def = r.options, r.def
				break
			}
		}
	}
}
