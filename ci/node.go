package ci

import (
	"encoding/json"
	"strconv"
)

// kind is the type of a configuration value after YAML resolution.
type kind uint8

const (
	nullNode kind = iota
	boolNode
	intNode
	floatNode
	strNode
	mapNode
	seqNode
)

func (k kind) String() string {
	return [...]string{"null", "boolean", "integer", "float", "string", "hash", "array"}[k]
}

// pos is where a value starts in its file (1-based line and column).
type pos struct {
	file      string
	line, col int32
}

// node is the compiler's own configuration tree. It is built once from the
// YAML parser's output and never mutated afterwards: transformations (merge,
// extends, !reference) build new nodes and share unchanged subtrees, which is
// why YAML aliases can be represented by pointer sharing without copying.
type node struct {
	kind  kind
	ref   bool   // a sequence tagged !reference
	str   string // scalar text; "true"/"false" for booleans
	pairs []pair // mapNode, in first-insertion order
	items []*node
	pos   pos
}

// pair is one mapping entry; keyPos is where the key was written so that
// "unknown key" errors point at it.
type pair struct {
	key    string
	keyPos pos
	val    *node
}

func (n *node) isNull() bool { return n == nil || n.kind == nullNode }
func (n *node) isMap() bool  { return n != nil && n.kind == mapNode }
func (n *node) isSeq() bool  { return n != nil && n.kind == seqNode }
func (n *node) isStr() bool  { return n != nil && n.kind == strNode }

// isScalar reports strings, numbers and booleans (not null).
func (n *node) isScalar() bool {
	return n != nil && n.kind >= boolNode && n.kind <= strNode
}

// get returns the value of key in a mapping, or nil.
func (n *node) get(key string) *node {
	if n == nil || n.kind != mapNode {
		return nil
	}
	for i := range n.pairs {
		if n.pairs[i].key == key {
			return n.pairs[i].val
		}
	}
	return nil
}

// has reports whether a mapping has key, even with a null value.
func (n *node) has(key string) bool {
	if n == nil || n.kind != mapNode {
		return false
	}
	for i := range n.pairs {
		if n.pairs[i].key == key {
			return true
		}
	}
	return false
}

// keyNode returns a string node positioned at key, for error reporting.
func (n *node) keyNode(key string) *node {
	for i := range n.pairs {
		if n.pairs[i].key == key {
			return &node{kind: strNode, str: key, pos: n.pairs[i].keyPos}
		}
	}
	return n
}

// mapItems applies f to every item of the sequence n. It returns n itself
// when f returned every item unchanged, else a copy with the new items:
// nodes are shared, never modified.
func (n *node) mapItems(f func(*node) (*node, error)) (*node, error) {
	var items []*node
	for i, it := range n.items {
		v, err := f(it)
		if err != nil {
			return nil, err
		}
		if v != it && items == nil {
			items = append(make([]*node, 0, len(n.items)), n.items[:i]...)
		}
		if items != nil {
			items = append(items, v)
		}
	}
	if items == nil {
		return n, nil
	}
	c := *n
	c.items = items
	return &c, nil
}

// withPairs returns a copy of the mapping n with new entries.
func (n *node) withPairs(pairs []pair) *node {
	c := *n
	c.pairs = pairs
	return &c
}

// set returns pairs with key set to val: replaced in place when present
// (Ruby hashes keep the first insertion order), appended otherwise.
func setPair(pairs []pair, p pair) []pair {
	for i := range pairs {
		if pairs[i].key == p.key {
			pairs[i].val = p.val
			return pairs
		}
	}
	return append(pairs, p)
}

func strNodeAt(s string, at pos) *node { return &node{kind: strNode, str: s, pos: at} }

// boolValue reports a boolean node's value.
func (n *node) boolValue() bool { return n.kind == boolNode && n.str == "true" }

// intValue parses an integer node (also accepting integral strings, as
// GitLab's Ruby coercions do in a few places).
func (n *node) intValue() (int, bool) {
	if n == nil || (n.kind != intNode && n.kind != strNode) {
		return 0, false
	}
	v, err := strconv.ParseInt(n.str, 0, 64)
	if err != nil || v > 1<<31 || v < -(1<<31) {
		return 0, false
	}
	return int(v), true
}

// scalarText is the text of a scalar as GitLab would stringify it.
func (n *node) scalarText() string {
	if n == nil || n.kind == nullNode {
		return ""
	}
	return n.str
}

// toAny converts n to plain Go values (map[string]any, []any, string,
// bool, int64, float64, nil) for JSON encoding and schema validation.
func (n *node) toAny() any {
	if n == nil {
		return nil
	}
	switch n.kind {
	case boolNode:
		return n.str == "true"
	case intNode:
		if v, err := strconv.ParseInt(n.str, 0, 64); err == nil {
			return v
		}
		return json.Number(n.str)
	case floatNode:
		if v, err := strconv.ParseFloat(n.str, 64); err == nil {
			return v
		}
		return n.str
	case strNode:
		return n.str
	case mapNode:
		m := make(map[string]any, len(n.pairs))
		for _, p := range n.pairs {
			m[p.key] = p.val.toAny()
		}
		return m
	case seqNode:
		s := make([]any, len(n.items))
		for i, it := range n.items {
			s[i] = it.toAny()
		}
		return s
	}
	return nil
}

// rawJSON encodes n as JSON for pass-through keywords stored in the plan.
func (n *node) rawJSON() json.RawMessage {
	if n.isNull() {
		return nil
	}
	b, err := json.Marshal(n.toAny())
	if err != nil {
		return nil
	}
	return b
}
