package ci

import "strings"

// maxReferenceDepth is how deep !reference chains may nest (GitLab: 10).
const maxReferenceDepth = 10

// referencer resolves !reference [job, key, ...] tags against the merged
// configuration, after includes, so references work across files.
type referencer struct {
	root     *node
	extended func(job string) *node // the job with extends applied
	done     map[string]*node
	chain    []string
}

func resolveReferences(root *node, extended func(string) *node) (*node, error) {
	r := &referencer{root: root, extended: extended, done: map[string]*node{}}
	return r.walk(root, 0)
}

func (r *referencer) walk(n *node, depth int) (*node, error) {
	switch {
	case n == nil:
		return nil, nil
	case n.ref:
		return r.reference(n, depth)
	case n.isSeq():
		return n.mapItems(func(it *node) (*node, error) { return r.walk(it, depth) })
	case n.isMap():
		var pairs []pair
		for i, p := range n.pairs {
			v, err := r.walk(p.val, depth)
			if err != nil {
				return nil, err
			}
			if v != p.val && pairs == nil {
				pairs = append(make([]pair, 0, len(n.pairs)), n.pairs[:i]...)
			}
			if pairs != nil {
				pairs = append(pairs, pair{key: p.key, keyPos: p.keyPos, val: v})
			}
		}
		if pairs == nil {
			return n, nil
		}
		return n.withPairs(pairs), nil
	}
	return n, nil
}

func (r *referencer) reference(n *node, depth int) (*node, error) {
	keys := make([]string, 0, len(n.items))
	for _, it := range n.items {
		if !it.isScalar() {
			return nil, errorf(it, "!reference keys must be strings")
		}
		keys = append(keys, it.str)
	}
	path := "[" + strings.Join(keys, ",") + "]"
	if len(keys) == 0 {
		return nil, errorf(n, "!reference %s is empty", path)
	}
	if v, ok := r.done[path]; ok {
		return v, nil
	}
	for _, c := range r.chain {
		if c == path {
			return nil, errorf(n, "!reference circular chain detected %s", path)
		}
	}
	if depth >= maxReferenceDepth {
		return nil, errorf(n, "!reference %s: references nest deeper than %d levels", path, maxReferenceDepth)
	}
	target := r.root
	for i, k := range keys {
		if i == 1 && r.extended != nil && !target.has(k) {
			if x := r.extended(keys[0]); x != nil {
				target = x
			}
		}
		switch {
		case target.isMap() && target.has(k):
			target = target.get(k)
		case target.isSeq() && n.items[i].kind == intNode:
			idx, ok := n.items[i].intValue()
			if !ok || idx < 0 || idx >= len(target.items) {
				return nil, errorf(n, "!reference %s could not be found", path)
			}
			target = target.items[idx]
		default:
			return nil, errorf(n, "!reference %s could not be found", path)
		}
	}
	r.chain = append(r.chain, path)
	v, err := r.walk(target, depth+1)
	r.chain = r.chain[:len(r.chain)-1]
	if err != nil {
		return nil, err
	}
	if v == nil {
		v = &node{kind: nullNode, pos: n.pos}
	}
	r.done[path] = v
	return v, nil
}
