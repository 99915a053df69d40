package ci

import (
	"fmt"
	"regexp"
	"strings"
)

// needDef is one needs: entry before parallel jobs are known.
type needDef struct {
	at        *node
	job       string
	artifacts bool
	optional  bool
	pipeline  string
	project   string
	ref       string
	matrix    []map[string][]string // needs:parallel:matrix selectors
	keys      [][]string            // key order of each selector
}

// maxNeeds is GitLab's default limit of needs per job.
const maxNeeds = 50

var needKeys = set("job", "artifacts", "optional", "pipeline", "project", "ref", "parallel")

func (c *compiler) needDefs(loc string, v *node) []needDef {
	items, ok := flattenSeq(v, 10)
	if !ok {
		c.errs.addf(v, "%s config can only be an array of strings or hashes", loc)
		return nil
	}
	if len(items) > maxNeeds {
		c.errs.addf(v, "%s config has too many entries (maximum %d)", loc, maxNeeds)
		return nil
	}
	out := make([]needDef, 0, len(items))
	for _, it := range items {
		if d, ok := c.needDef(loc, it); ok {
			out = append(out, d)
		}
	}
	return out
}

func (c *compiler) needDef(loc string, it *node) (needDef, bool) {
	d := needDef{at: it, artifacts: true}
	if it.isStr() {
		if it.str == "" {
			c.errs.addf(it, "%s config can't contain an empty job name", loc)
			return d, false
		}
		d.job = it.str
		return d, true
	}
	if !it.isMap() {
		c.errs.addf(it, "%s config can only be an array of strings or hashes", loc)
		return d, false
	}
	if bad := unknownKeys(it, needKeys); bad != "" {
		c.errs.addf(it, "%s:need config contains unknown keys: %s", loc, bad)
		return d, false
	}
	j := it.get("job")
	if !j.isScalar() || j.str == "" {
		c.errs.addf(it, "%s:need job config can't be blank", loc)
		return d, false
	}
	d.job = j.str
	if a, ok := nonNull(it, "artifacts"); ok {
		d.artifacts = c.boolean(loc+":need artifacts", a)
	}
	if o, ok := nonNull(it, "optional"); ok {
		d.optional = c.boolean(loc+":need optional", o)
	}
	for _, k := range []string{"pipeline", "project", "ref"} {
		if x, ok := nonNull(it, k); ok {
			s := c.str(loc+":need "+k, x)
			switch k {
			case "pipeline":
				d.pipeline = s
			case "project":
				d.project = s
			default:
				d.ref = s
			}
		}
	}
	if p, ok := nonNull(it, "parallel"); ok {
		c.needMatrix(loc, p, &d)
	}
	return d, true
}

func (c *compiler) needMatrix(loc string, p *node, d *needDef) {
	m := p.get("matrix")
	if !p.isMap() || !m.isSeq() {
		c.errs.addf(p, "%s:need:parallel config should be a hash with a matrix array", loc)
		return
	}
	for _, entry := range m.items {
		if !entry.isMap() {
			c.errs.addf(entry, "%s:need:parallel:matrix config should be an array of hashes", loc)
			return
		}
		sel := map[string][]string{}
		var keys []string
		for _, kv := range entry.pairs {
			keys = append(keys, kv.key)
			sel[kv.key] = c.strList(loc+":need:parallel:matrix "+kv.key, kv.val)
		}
		d.matrix = append(d.matrix, sel)
		d.keys = append(d.keys, keys)
	}
}

// parallel reads parallel: N (1..200) or parallel:matrix.
func (c *compiler) parallel(loc string, v *node, d *jobDef) {
	if v.kind == intNode {
		n, _ := v.intValue()
		if n < 1 || n > maxParallel {
			c.errs.addf(v, "%s config should be an integer from 1 to %d", loc, maxParallel)
			return
		}
		d.parallel = n
		return
	}
	m := v.get("matrix")
	if !v.isMap() || !m.isSeq() {
		c.errs.addf(v, "%s config should be an integer or a hash with a matrix array", loc)
		return
	}
	if bad := unknownKeys(v, set("matrix")); bad != "" {
		c.errs.addf(v, "%s config contains unknown keys: %s", loc, bad)
	}
	for _, entry := range m.items {
		if !entry.isMap() || len(entry.pairs) == 0 {
			c.errs.addf(entry, "%s:matrix config should be an array of hashes", loc)
			return
		}
		combos, ok := c.matrixEntry(loc, entry)
		if !ok {
			return
		}
		d.matrix = append(d.matrix, combos...)
		if len(d.matrix) > maxParallel {
			c.errs.addf(m, "%s:matrix config generates too many jobs (maximum is %d)", loc, maxParallel)
			d.matrix = nil
			return
		}
	}
}

const maxParallel = 200

// matrixEntry expands one matrix hash into its Cartesian product, the
// first key varying slowest.
func (c *compiler) matrixEntry(loc string, entry *node) ([][]Variable, bool) {
	combos := [][]Variable{nil}
	for _, kv := range entry.pairs {
		var values []string
		switch {
		case kv.val.isSeq():
			values = c.strList(loc+":matrix "+kv.key, kv.val)
		case kv.val.isScalar() && kv.val.kind != boolNode:
			values = []string{kv.val.str}
		default:
			c.errs.addf(kv.val, "%s:matrix %s should be a string, a number or an array", loc, kv.key)
			return nil, false
		}
		if len(combos)*len(values) > maxParallel {
			c.errs.addf(entry, "%s:matrix config generates too many jobs (maximum is %d)", loc, maxParallel)
			return nil, false
		}
		next := make([][]Variable, 0, len(combos)*len(values))
		for _, combo := range combos {
			for _, val := range values {
				nc := append(append(make([]Variable, 0, len(combo)+1), combo...), Variable{Key: kv.key, Value: val})
				next = append(next, nc)
			}
		}
		combos = next
	}
	return combos, true
}

// matrixName is GitLab's name for a matrix instance: "job: [v1, v2]".
func matrixName(base string, vars []Variable) string {
	vals := make([]string, len(vars))
	for i, v := range vars {
		vals[i] = v.Value
	}
	return base + ": [" + strings.Join(vals, ", ") + "]"
}

var matrixExprRE = regexp.MustCompile(`\$\[\[\s*matrix\.([A-Za-z0-9_-]+)\s*\]\]`)

// selectInstances returns the names of producer instances a
// needs:parallel:matrix entry selects, for the consumer instance whose
// matrix values are own (for $[[ matrix.X ]] expressions).
func selectInstances(consumer string, own []Variable, need needDef, producer []*Job, hasMatrix bool) ([]string, error) {
	if !hasMatrix {
		return nil, fmt.Errorf("%s uses needs.parallel.matrix targeting %s, but %s has no parallel:matrix configuration",
			consumer, need.job, need.job)
	}
	var names []string
	for _, sel := range need.matrix {
		resolved := map[string][]string{}
		for k, vals := range sel {
			for _, v := range vals {
				r, err := resolveMatrixExpr(consumer, v, own)
				if err != nil {
					return nil, err
				}
				resolved[k] = append(resolved[k], r)
			}
		}
		for _, p := range producer {
			if matches(p.Parallel.Matrix, resolved) && !contains(names, p.Name) {
				names = append(names, p.Name)
			}
		}
	}
	if len(names) == 0 && !need.optional {
		return nil, fmt.Errorf("%s needs.parallel.matrix selector for %s matched zero permutations", consumer, need.job)
	}
	return names, nil
}

func resolveMatrixExpr(consumer, v string, own []Variable) (string, error) {
	if !strings.Contains(v, "$[[") {
		return v, nil
	}
	if own == nil {
		return "", fmt.Errorf("%s uses $[[ matrix.X ]] expressions in needs.parallel.matrix but is not parallelized with parallel:matrix", consumer)
	}
	var err error
	out := matrixExprRE.ReplaceAllStringFunc(v, func(m string) string {
		key := matrixExprRE.FindStringSubmatch(m)[1]
		for _, o := range own {
			if o.Key == key {
				return o.Value
			}
		}
		err = fmt.Errorf("'%s' does not exist in matrix configuration", key)
		return m
	})
	return out, err
}

func matches(instance []Variable, sel map[string][]string) bool {
	for k, vals := range sel {
		found := false
		for _, v := range instance {
			if v.Key == k && contains(vals, v.Value) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
