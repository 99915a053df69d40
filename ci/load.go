package ci

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// document is one loaded file: the optional spec header (the document
// before "---" that holds only "spec:") and the configuration itself.
type document struct {
	file   string
	header *node // nil without a header
	body   *node
	size   int // bytes of the source
}

// loader turns YAML bytes into nodes, enforcing the limits that keep
// hostile input cheap: file size, nesting depth and the number of nodes
// produced, which also bounds alias expansion ("billion laughs").
type loader struct {
	maxDepth int
	budget   int // nodes left to produce, across every file of a compilation
}

var errBudget = errors.New("budget exhausted")

// load parses one file. Only the first document counts, as with Psych,
// unless it is a spec header, in which case the second one is the body.
func (l *loader) load(file string, src []byte) (*document, error) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var docs []*yaml.Node
	for len(docs) < 2 {
		var y yaml.Node
		err := dec.Decode(&y)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, syntaxError(file, err)
		}
		docs = append(docs, &y)
	}
	doc := &document{file: file}
	if len(docs) == 0 {
		return doc, nil
	}
	first, err := l.convertDoc(file, docs[0])
	if err != nil {
		return nil, err
	}
	if len(docs) == 2 && first.isMap() && len(first.pairs) == 1 && first.pairs[0].key == "spec" {
		doc.header = first
		if doc.body, err = l.convertDoc(file, docs[1]); err != nil {
			return nil, err
		}
		return doc, nil
	}
	doc.body = first
	return doc, nil
}

func (l *loader) convertDoc(file string, y *yaml.Node) (*node, error) {
	c := &converter{loader: l, file: file, anchors: map[*yaml.Node]*converted{}}
	n, _, err := c.convert(y, 0)
	if errors.Is(err, errBudget) {
		return nil, &Error{File: file, Msg: "the parsed YAML is too big: it expands to too many values (excessive aliasing?)"}
	}
	return n, err
}

// yamlLineRE finds the position yaml.v3 puts into its error texts.
var yamlLineRE = regexp.MustCompile(`^yaml: (?:line (\d+): )?(.*)$`)

func syntaxError(file string, err error) error {
	msg := err.Error()
	line := 0
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	col := 0
	if line > 0 {
		col = 1
	}
	return &Error{File: file, Line: line, Column: col, Msg: "invalid YAML: " + msg}
}

type converted struct {
	n    *node
	size int
	busy bool // being converted: an alias to it would recurse forever
}

type converter struct {
	*loader
	file    string
	anchors map[*yaml.Node]*converted
}

func (c *converter) at(y *yaml.Node) pos {
	return pos{file: c.file, line: int32(y.Line), col: int32(y.Column)}
}

func (c *converter) fail(y *yaml.Node, format string, args ...any) error {
	return &Error{File: c.file, Line: y.Line, Column: y.Column, Msg: fmt.Sprintf(format, args...)}
}

// convert returns the node for y and the number of nodes it stands for
// (counting shared alias targets once per use).
func (c *converter) convert(y *yaml.Node, depth int) (*node, int, error) {
	if depth > c.maxDepth {
		return nil, 0, c.fail(y, "the parsed YAML is too big: nesting deeper than %d levels", c.maxDepth)
	}
	switch y.Kind {
	case yaml.DocumentNode:
		if len(y.Content) == 0 {
			return nil, 0, nil
		}
		return c.convert(y.Content[0], depth)
	case yaml.AliasNode:
		return c.alias(y, depth)
	}
	var done *converted
	if y.Anchor != "" {
		done = &converted{busy: true}
		c.anchors[y] = done
	}
	n, size, err := c.convertValue(y, depth)
	if err != nil {
		return nil, 0, err
	}
	if done != nil {
		done.n, done.size, done.busy = n, size, false
	}
	return n, size, nil
}

func (c *converter) alias(y *yaml.Node, depth int) (*node, int, error) {
	target := y.Alias
	if target == nil {
		return nil, 0, c.fail(y, "invalid YAML: unknown anchor %q", y.Value)
	}
	done, ok := c.anchors[target]
	if !ok || done.busy {
		if ok {
			return nil, 0, c.fail(y, "invalid YAML: alias *%s refers to its own anchor", y.Value)
		}
		return c.convert(target, depth)
	}
	if err := c.spend(done.size); err != nil {
		return nil, 0, err
	}
	return done.n, done.size, nil
}

func (c *converter) spend(n int) error {
	c.budget -= n
	if c.budget < 0 {
		return errBudget
	}
	return nil
}

func (c *converter) convertValue(y *yaml.Node, depth int) (*node, int, error) {
	if err := c.spend(1); err != nil {
		return nil, 0, err
	}
	switch y.Kind {
	case yaml.ScalarNode:
		n, err := c.scalar(y)
		return n, 1, err
	case yaml.SequenceNode:
		return c.sequence(y, depth)
	case yaml.MappingNode:
		return c.mapping(y, depth)
	}
	return nil, 0, c.fail(y, "invalid YAML: unexpected node")
}

// yaml11Bools are the YAML 1.1 booleans Ruby's Psych resolves and YAML 1.2
// (and so yaml.v3) leaves as strings.
var yaml11Bools = map[string]string{
	"yes": "true", "Yes": "true", "YES": "true", "on": "true", "On": "true", "ON": "true",
	"no": "false", "No": "false", "NO": "false", "off": "false", "Off": "false", "OFF": "false",
}

func (c *converter) scalar(y *yaml.Node) (*node, error) {
	n := &node{kind: strNode, str: y.Value, pos: c.at(y)}
	switch y.Tag {
	case "!!null":
		n.kind, n.str = nullNode, ""
	case "!!bool":
		n.kind = boolNode
		if b, err := strconv.ParseBool(strings.ToLower(y.Value)); err == nil {
			n.str = strconv.FormatBool(b)
		}
	case "!!int":
		n.kind = intNode
	case "!!float":
		n.kind = floatNode
	case "!!str", "!!timestamp", "!!binary", "":
		if y.Style == 0 && y.Tag == "!!str" {
			if b, ok := yaml11Bools[y.Value]; ok {
				n.kind, n.str = boolNode, b
			}
		}
	case "!reference":
		return nil, c.fail(y, "!reference must be an array of keys, like !reference [job, script]")
	default:
		return nil, c.fail(y, "invalid YAML: unknown tag %s", y.Tag)
	}
	return n, nil
}

func (c *converter) sequence(y *yaml.Node, depth int) (*node, int, error) {
	n := &node{kind: seqNode, pos: c.at(y), items: make([]*node, 0, len(y.Content))}
	switch y.Tag {
	case "!!seq", "":
	case "!reference":
		n.ref = true
	default:
		return nil, 0, c.fail(y, "invalid YAML: unknown tag %s", y.Tag)
	}
	size := 1
	for _, item := range y.Content {
		v, s, err := c.convert(item, depth+1)
		if err != nil {
			return nil, 0, err
		}
		n.items = append(n.items, v)
		size += s
	}
	return n, size, nil
}

func (c *converter) mapping(y *yaml.Node, depth int) (*node, int, error) {
	if y.Tag != "!!map" && y.Tag != "" {
		return nil, 0, c.fail(y, "invalid YAML: unknown tag %s", y.Tag)
	}
	n := &node{kind: mapNode, pos: c.at(y), pairs: make([]pair, 0, len(y.Content)/2)}
	var index map[string]int // for large mappings, to keep duplicate handling linear
	if len(y.Content) > 64 {
		index = make(map[string]int, len(y.Content)/2)
	}
	size := 1
	for i := 0; i+1 < len(y.Content); i += 2 {
		k, v := y.Content[i], y.Content[i+1]
		val, s, err := c.convert(v, depth+1)
		if err != nil {
			return nil, 0, err
		}
		size += s
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			before := len(n.pairs)
			if n.pairs, err = c.merge(n.pairs, val, v); err != nil {
				return nil, 0, err
			}
			if index != nil { // merged keys replace in place or append
				for j := before; j < len(n.pairs); j++ {
					index[n.pairs[j].key] = j
				}
			}
			continue
		}
		key, err := c.key(k)
		if err != nil {
			return nil, 0, err
		}
		p := pair{key: key, keyPos: c.at(k), val: val}
		if index != nil {
			if j, ok := index[key]; ok {
				n.pairs[j].val = val
				continue
			}
			index[key] = len(n.pairs)
			n.pairs = append(n.pairs, p)
			continue
		}
		n.pairs = setPair(n.pairs, p)
	}
	return n, size, nil
}

func (c *converter) key(k *yaml.Node) (string, error) {
	if k.Kind == yaml.AliasNode && k.Alias != nil {
		k = k.Alias
	}
	if k.Kind != yaml.ScalarNode {
		return "", c.fail(k, "invalid YAML: mapping keys must be scalars")
	}
	if k.Tag == "!!null" {
		return "", nil
	}
	return k.Value, nil
}

// merge applies a "<<" merge key the way Psych does: the merged entries are
// set at that point, so they override keys written before "<<" and are
// overridden by keys written after it; with a list, earlier maps win.
func (c *converter) merge(pairs []pair, val *node, y *yaml.Node) ([]pair, error) {
	switch {
	case val.isMap():
		return setPairs(pairs, val.pairs), nil
	case val.isSeq():
		var merged []pair
		for i := len(val.items) - 1; i >= 0; i-- {
			m := val.items[i]
			if !m.isMap() {
				return nil, c.fail(y, "invalid YAML: merge key << needs a mapping or a list of mappings")
			}
			merged = setPairs(merged, m.pairs)
		}
		return setPairs(pairs, merged), nil
	}
	return nil, c.fail(y, "invalid YAML: merge key << needs a mapping or a list of mappings")
}

// setPairs sets every entry of add into pairs (see setPair) in linear
// time, so that merge keys over large mappings stay cheap.
func setPairs(pairs, add []pair) []pair {
	if len(pairs)*len(add) < 1024 {
		for _, p := range add {
			pairs = setPair(pairs, p)
		}
		return pairs
	}
	index := make(map[string]int, len(pairs)+len(add))
	for i, p := range pairs {
		index[p.key] = i
	}
	for _, p := range add {
		if i, ok := index[p.key]; ok {
			pairs[i].val = p.val
			continue
		}
		index[p.key] = len(pairs)
		pairs = append(pairs, p)
	}
	return pairs
}
