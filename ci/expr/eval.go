package expr

import (
	"strings"
	"unicode"
)

// kind is the Ruby class of a value: nil, false, true, String or a regexp.
type kind uint8

const (
	kindNil kind = iota
	kindFalse
	kindTrue
	kindString
	kindPattern
)

type value struct {
	kind kind
	s    string
	pat  *pattern
}

func boolValue(b bool) value {
	if b {
		return value{kind: kindTrue}
	}
	return value{kind: kindFalse}
}

// truthy is Ruby truthiness, used by && and ||.
func (v value) truthy() bool { return v.kind != kindNil && v.kind != kindFalse }

// present is ActiveSupport's present?: strings of only white space are blank.
func (v value) present() bool {
	switch v.kind {
	case kindString:
		return strings.IndexFunc(v.s, func(r rune) bool { return !unicode.IsSpace(r) }) >= 0
	default:
		return v.truthy()
	}
}

// text is Ruby's to_s, which =~ applies to its left operand.
func (v value) text() string {
	switch v.kind {
	case kindString:
		return v.s
	case kindTrue:
		return "true"
	case kindFalse:
		return "false"
	case kindPattern:
		return v.pat.text // Ruby prints an object id here; the source is as good
	default:
		return ""
	}
}

// evaluator holds one evaluation's state. GitLab raises on a few operand
// combinations; the first such fault is recorded and the verdict is false.
type evaluator struct {
	vars     Lookup
	cache    *patternCache
	fault    *node
	faultMsg string
}

func (ev *evaluator) fail(n *node, msg string) value {
	if ev.fault == nil {
		ev.fault, ev.faultMsg = n, msg
	}
	return value{}
}

func (ev *evaluator) eval(n *node) value {
	if ev.fault != nil {
		return value{}
	}
	switch n.op {
	case opVariable:
		if ev.vars == nil {
			return value{}
		}
		if s, ok := ev.vars(n.text); ok {
			return value{kind: kindString, s: s}
		}
		return value{}
	case opString:
		return value{kind: kindString, s: n.text}
	case opPattern:
		return value{kind: kindPattern, pat: n.pat}
	case opNull:
		return value{}
	case opBool:
		return boolValue(n.b)
	case opAnd:
		if l := ev.eval(n.left); !l.truthy() {
			return l
		}
		return ev.eval(n.right)
	case opOr:
		if l := ev.eval(n.left); l.truthy() {
			return l
		}
		return ev.eval(n.right)
	case opEquals, opNotEquals:
		eq := ev.equal(n, ev.eval(n.left), ev.eval(n.right))
		return boolValue(eq == (n.op == opEquals))
	default: // opMatches, opNotMatches
		m := ev.match(n)
		return boolValue(m == (n.op == opMatches))
	}
}

// equal is Ruby's ==. A pattern on the left compares by source and fails
// (NoMethodError in GitLab) against anything that is not a pattern.
func (ev *evaluator) equal(n *node, l, r value) bool {
	switch {
	case l.kind == kindPattern && r.kind != kindPattern:
		ev.fail(n, "a pattern can only be compared with a pattern")
		return false
	case l.kind == kindPattern:
		return l.pat.source == r.pat.source
	case l.kind == kindString:
		return r.kind == kindString && l.s == r.s
	default:
		return l.kind == r.kind
	}
}

// match reports whether the right operand of =~ or !~ matches the left
// operand's text; !~ is its negation in every case GitLab does not fail.
func (ev *evaluator) match(n *node) bool {
	text := ev.eval(n.left).text()
	r := ev.eval(n.right)
	var p *pattern
	switch r.kind {
	case kindNil, kindFalse:
		return false
	case kindTrue:
		ev.fail(n, n.text+" needs a pattern or a string on its right, not true")
		return false
	case kindPattern:
		p = r.pat
	default:
		if n.right.op == opString {
			p = n.right.pat // converted by Parse
		} else {
			p = ev.cache.get(r.s)
		}
		if p == nil {
			// GitLab calls String#scan with the left text: a substring test.
			return strings.Contains(r.s, text)
		}
	}
	return p.re.MatchString(text)
}
