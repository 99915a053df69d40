package ci

import (
	"strconv"
	"strings"
)

// mergedYAML renders the configuration after includes, !reference and
// extends, in the order it was written: GitLab CI Lint's merged_yaml.
// It has its own small emitter (block style, plain scalars where they are
// unambiguous, double quotes otherwise): yaml.v3's encoder costs more than
// the rest of a compilation for large pipelines.
func mergedYAML(root *node) string {
	var b strings.Builder
	emit(&b, canonical(root), 0, false)
	return b.String()
}

// emit writes n at indent; inSeq is set when n follows "- ".
func emit(b *strings.Builder, n *node, indent int, inSeq bool) {
	switch {
	case n.isMap() && len(n.pairs) > 0:
		for i, p := range n.pairs {
			if i > 0 || !inSeq {
				b.WriteString(strings.Repeat(" ", indent))
			}
			writeScalar(b, p.key, strNode)
			b.WriteByte(':')
			emitValue(b, p.val, indent+2)
		}
	case n.isSeq() && len(n.items) > 0:
		for i, it := range n.items {
			if i > 0 || !inSeq {
				b.WriteString(strings.Repeat(" ", indent))
			}
			b.WriteString("- ")
			emitItem(b, it, indent+2)
		}
	default:
		writeLeaf(b, n)
		b.WriteByte('\n')
	}
}

// emitValue writes a mapping value after "key:".
func emitValue(b *strings.Builder, v *node, indent int) {
	switch {
	case v.isMap() && len(v.pairs) > 0:
		b.WriteByte('\n')
		emit(b, v, indent, false)
	case v.isSeq() && len(v.items) > 0:
		b.WriteByte('\n')
		emit(b, v, indent, false)
	default:
		b.WriteByte(' ')
		writeLeaf(b, v)
		b.WriteByte('\n')
	}
}

// emitItem writes a sequence item after "- ".
func emitItem(b *strings.Builder, it *node, indent int) {
	switch {
	case it.isMap() && len(it.pairs) > 0, it.isSeq() && len(it.items) > 0:
		emit(b, it, indent, true)
	default:
		writeLeaf(b, it)
		b.WriteByte('\n')
	}
}

func writeLeaf(b *strings.Builder, n *node) {
	switch {
	case n == nil || n.kind == nullNode:
		b.WriteString("null")
	case n.kind == mapNode:
		b.WriteString("{}")
	case n.kind == seqNode:
		b.WriteString("[]")
	default:
		writeScalar(b, n.str, n.kind)
	}
}

// writeScalar writes s plain when YAML reads it back as the same string
// (or number/boolean for those kinds), else double-quoted with JSON-style
// escapes, which YAML accepts.
func writeScalar(b *strings.Builder, s string, k kind) {
	if k == boolNode || k == intNode || k == floatNode || plainSafe(s) {
		b.WriteString(s)
		return
	}
	b.WriteString(strconv.Quote(s))
}

// plainSafe is deliberately conservative: anything that could be read as
// another type, start an indicator, or hold ": " / " #" is quoted.
func plainSafe(s string) bool {
	if s == "" || s[0] == ' ' || s[len(s)-1] == ' ' || strings.ContainsAny(s[:1], "-?:,[]{}#&*!|>'\"%@`~") {
		return false
	}
	if strings.Contains(s, ": ") || strings.Contains(s, " #") || strings.HasSuffix(s, ":") {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f || c >= 0x80 {
			return false
		}
	}
	if _, ok := yaml11Bools[s]; ok {
		return false
	}
	switch strings.ToLower(s) {
	case "true", "false", "null", "~", "y", "n", ".inf", "-.inf", ".nan":
		return false
	}
	if c := s[0]; c >= '0' && c <= '9' || c == '+' || c == '.' {
		return false // might read as a number, date or version-like float
	}
	return true
}

// flatKeys are the job keys whose nested lists (built by !reference) GitLab
// flattens; the merged YAML shows them flat, as GitLab's schema expects.
var flatKeys = map[string]int{"script": 10, "before_script": 10, "after_script": 10, "rules": 10, "needs": 10}

// canonical returns root with nested script/rules/needs lists flattened
// and null variable values written as "" (GitLab's meaning of null).
func canonical(root *node) *node {
	pairs := make([]pair, len(root.pairs))
	for i, p := range root.pairs {
		pairs[i] = p
		switch {
		case p.key == "variables":
			pairs[i].val = canonicalVariables(p.val)
		case p.key == "default" || !reservedKeys[p.key]:
			pairs[i].val = canonicalJob(p.val)
		}
	}
	return root.withPairs(pairs)
}

func canonicalJob(job *node) *node {
	if !job.isMap() {
		return job
	}
	pairs := make([]pair, len(job.pairs))
	for i, p := range job.pairs {
		pairs[i] = p
		if depth, ok := flatKeys[p.key]; ok && p.val.isSeq() {
			if items, ok := flattenSeq(p.val, depth); ok {
				c := *p.val
				c.items = items
				pairs[i].val = &c
			}
		}
		if p.key == "variables" {
			pairs[i].val = canonicalVariables(p.val)
		}
	}
	return job.withPairs(pairs)
}

func canonicalVariables(vars *node) *node {
	if !vars.isMap() {
		return vars
	}
	pairs := make([]pair, len(vars.pairs))
	for i, p := range vars.pairs {
		pairs[i] = p
		if p.val.isNull() {
			pairs[i].val = &node{kind: strNode, pos: p.keyPos}
		}
	}
	return vars.withPairs(pairs)
}
