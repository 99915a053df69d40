// Package expr implements GitLab CI's rules:if expression language.
//
// The language is GitLab's Gitlab::Ci::Pipeline::Expression, reproduced
// fact for fact so that a .gitlab-ci.yml behaves on Gantry as it does on
// GitLab, quirks included:
//
//   - tokens are $VAR, "string", 'string', /pattern/flags, null, true, false,
//     ==, !=, =~, !~, &&, ||, ( and ); anything else (${VAR}, numbers, !)
//     is a syntax error, and so is an expression of 100 tokens or more;
//   - operators are ordered by a shunting-yard pass with GitLab's
//     precedences (comparisons, then &&, then ||), so the same odd inputs
//     GitLab accepts (`== $A $B`) are accepted here too;
//   - && and || return one of their operands with Ruby truthiness (only null
//     and false are falsy), and the verdict is ActiveSupport's present?
//     (null, false, "" and whitespace-only strings are false);
//   - =~ and !~ use RE2 syntax (Go's regexp) unanchored; a right operand
//     that is a string is turned into a pattern when it reads /re/flags, and
//     is otherwise searched for the left text as a plain substring.
package expr

import (
	"sync"
)

// Expression is a parsed rules:if expression; safe for concurrent use.
//
// Parse it once and call Evaluate for every job and pipeline: literal
// patterns are compiled by Parse, and patterns read from variables are
// compiled on first use and cached per Expression.
type Expression struct {
	src   string
	root  *node
	names []string
	cache patternCache
}

// Lookup returns a variable's value; ok=false means undefined (nil in GitLab).
type Lookup func(name string) (value string, ok bool)

// Parse compiles src. Errors are *SyntaxError.
//
// Like GitLab's validator, Parse also evaluates the expression once with no
// variables defined, and rejects it when that evaluation fails (for example
// `/a/ == "a"`, which makes GitLab raise).
func Parse(src string) (*Expression, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	root, err := parse(src, toks)
	if err != nil {
		return nil, err
	}
	e := &Expression{src: src, root: root, names: variableNames(toks)}
	ev := evaluator{cache: &e.cache}
	ev.eval(root)
	if ev.fault != nil {
		return nil, &SyntaxError{Expr: src, Offset: ev.fault.pos, Msg: ev.faultMsg}
	}
	return e, nil
}

// Evaluate returns the verdict of the expression (GitLab's `present?` of the result).
//
// A nil vars defines no variable. An expression that fails only with some
// variable values (GitLab raises an internal error there, for instance when
// `$A =~ ($B == $C)` compares equal values) evaluates to false.
func (e *Expression) Evaluate(vars Lookup) bool {
	ev := evaluator{vars: vars, cache: &e.cache}
	v := ev.eval(e.root)
	if ev.fault != nil {
		return false
	}
	return v.present()
}

// Eval parses and evaluates in one step.
func Eval(src string, vars Lookup) (bool, error) {
	e, err := Parse(src)
	if err != nil {
		return false, err
	}
	return e.Evaluate(vars), nil
}

// Variables lists the variable names the expression reads (for diagnostics
// and caching), each once, in order of first appearance. The caller owns
// the returned slice.
func (e *Expression) Variables() []string {
	return append([]string(nil), e.names...)
}

// String returns the source the expression was parsed from.
func (e *Expression) String() string { return e.src }

func variableNames(toks []token) []string {
	var names []string
	seen := make(map[string]bool)
	for _, t := range toks {
		if t.kind == tokVariable && !seen[t.val] {
			seen[t.val] = true
			names = append(names, t.val)
		}
	}
	return names
}

// patternCache keeps the patterns compiled from variable values; it is
// bounded because the values come from users.
type patternCache struct {
	mu sync.RWMutex
	m  map[string]*pattern // nil value: the string is not a valid pattern
}

const patternCacheSize = 256

func (c *patternCache) get(s string) (p *pattern) {
	c.mu.RLock()
	p, ok := c.m[s]
	c.mu.RUnlock()
	if ok {
		return p
	}
	p = stringPattern(s)
	c.mu.Lock()
	if c.m == nil {
		c.m = make(map[string]*pattern)
	}
	if len(c.m) < patternCacheSize {
		c.m[s] = p
	}
	c.mu.Unlock()
	return p
}
