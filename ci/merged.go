package ci

import (
	"bytes"

	"go.yaml.in/yaml/v3"
)

// mergedYAML renders the configuration after includes, !reference and
// extends, in the order it was written: GitLab CI Lint's merged_yaml.
func mergedYAML(root *node) string {
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(toYAML(canonical(root))); err != nil {
		return ""
	}
	_ = enc.Close()
	return b.String()
}

func toYAML(n *node) *yaml.Node {
	if n == nil {
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	}
	switch n.kind {
	case nullNode:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!null", Value: "null"}
	case boolNode:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!bool", Value: n.str}
	case intNode:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!int", Value: n.str}
	case floatNode:
		return &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!float", Value: n.str}
	case strNode:
		y := &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: n.str}
		if bytes.IndexByte([]byte(n.str), '\n') >= 0 {
			y.Style = yaml.LiteralStyle
		}
		return y
	case seqNode:
		y := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Content: make([]*yaml.Node, 0, len(n.items))}
		for _, it := range n.items {
			y.Content = append(y.Content, toYAML(it))
		}
		return y
	}
	y := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Content: make([]*yaml.Node, 0, 2*len(n.pairs))}
	for _, p := range n.pairs {
		y.Content = append(y.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: p.key}, toYAML(p.val))
	}
	return y
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
