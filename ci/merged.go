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
	if err := enc.Encode(toYAML(root)); err != nil {
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
