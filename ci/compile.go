package ci

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"

	"github.com/gantry-ci/gantry/ci/expr"
)

// compiler holds the state of one compilation. It is not shared between
// goroutines; Compile creates one per call.
type compiler struct {
	ctx  context.Context
	opts Options
	lim  Limits
	ld   *loader
	errs errs

	pre        *scope // predefined + CI + pipeline variables: include and header scope
	includes   int
	totalSize  int
	docs       map[string]*document
	exprs      map[string]*expr.Expression
	files      []string
	stageOrder []string // for "available stages are" messages
	filesErr   error
	filesRead  bool
}

// Compile turns the main configuration file src into a Plan for the
// pipeline described by opts. It is pure apart from opts.Includer: the
// same inputs give the same plan.
//
// A configuration GitLab would reject returns a nil plan and an error that
// is an Errors list of *Error (file:line:col: message). A valid
// configuration for which no pipeline is created (workflow:rules, or no
// job left) returns a Plan with Filtered set. Other errors (an Includer
// failing, ctx cancelled) are returned wrapped.
func Compile(ctx context.Context, src []byte, opts Options) (*Plan, error) {
	c := newCompiler(ctx, opts)
	root, err := c.load(src)
	if err != nil {
		return nil, asErrors(err)
	}
	cfg := c.parseConfig(root)
	if err := c.errs.err(); err != nil {
		return nil, err
	}
	plan, err := c.evaluate(cfg)
	if err != nil {
		return nil, asErrors(err)
	}
	plan.MergedYAML = mergedYAML(root)
	return plan, nil
}

func newCompiler(ctx context.Context, opts Options) *compiler {
	lim := opts.Limits.withDefaults()
	return &compiler{
		ctx:   ctx,
		opts:  opts,
		lim:   lim,
		ld:    &loader{maxDepth: lim.MaxDepth, budget: lim.MaxNodes},
		pre:   newScope(Predefined(opts), opts.CIVariables, opts.PipelineVariables),
		docs:  map[string]*document{},
		exprs: map[string]*expr.Expression{},
	}
}

// load parses the main file and applies includes, !reference and extends:
// the "merged YAML" stage of the pipeline.
func (c *compiler) load(src []byte) (*node, error) {
	file := c.opts.configPath()
	if len(src) > c.lim.MaxFileSize {
		return nil, &Error{File: file, Msg: fmt.Sprintf("the parsed YAML is too big: %d bytes, the limit is %d", len(src), c.lim.MaxFileSize)}
	}
	c.totalSize = len(src)
	doc, err := c.ld.load(file, src)
	if err != nil {
		return nil, err
	}
	if doc.body.isNull() {
		return nil, &Error{File: file, Msg: "Please provide content of " + file}
	}
	if !doc.body.isMap() {
		return nil, errorf(doc.body, "Invalid configuration format")
	}
	inputs := inputsNode(c.opts.Inputs)
	root, err := c.resolve(doc, includeCtx{loc: location{kind: "local", path: file}, chain: []string{"local " + file}}, inputs, doc.body)
	if err != nil {
		return nil, err
	}
	if err := c.ctx.Err(); err != nil {
		return nil, err
	}
	// !reference is resolved before extends, so that referenced hashes
	// merge like written ones; a reference to a key a job only gets
	// through extends looks at that job's extended form.
	var extErrs errs
	ext := newExtender(root, &extErrs)
	if root, err = resolveReferences(root, ext.extended); err != nil {
		return nil, err
	}
	root = resolveExtends(root, &c.errs)
	if err := c.errs.err(); err != nil {
		return nil, err
	}
	return root, nil
}

// inputsNode converts pipeline inputs to a node for validation.
func inputsNode(in map[string]any) *node {
	if in == nil {
		return nil
	}
	n := &node{kind: mapNode}
	for _, k := range slices.Sorted(maps.Keys(in)) {
		n.pairs = append(n.pairs, pair{key: k, val: anyNode(in[k])})
	}
	return n
}

func anyNode(v any) *node {
	switch v := v.(type) {
	case nil:
		return &node{kind: nullNode}
	case bool:
		return &node{kind: boolNode, str: fmt.Sprint(v)}
	case int, int64, int32:
		return &node{kind: intNode, str: fmt.Sprint(v)}
	case float64, float32:
		return &node{kind: floatNode, str: fmt.Sprint(v)}
	case string:
		return &node{kind: strNode, str: v}
	case []any:
		n := &node{kind: seqNode}
		for _, it := range v {
			n.items = append(n.items, anyNode(it))
		}
		return n
	case map[string]any:
		return inputsNode(v)
	}
	return &node{kind: strNode, str: fmt.Sprint(v)}
}

// repoFiles lists the repository once per compilation.
func (c *compiler) repoFiles() ([]string, error) {
	if !c.filesRead {
		c.filesRead = true
		if c.opts.Includer == nil {
			c.filesErr = errors.New("the repository file list is not available")
		} else {
			c.files, c.filesErr = c.opts.Includer.Files(c.ctx)
		}
	}
	return c.files, c.filesErr
}

// asErrors makes every configuration error an Errors list and passes other
// errors through.
func asErrors(err error) error {
	var list Errors
	if errors.As(err, &list) {
		return list
	}
	var e *Error
	if errors.As(err, &e) {
		return Errors{e}
	}
	return err
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
