package expr

import "fmt"

// op is what a node does when evaluated.
type op uint8

const (
	opVariable op = iota
	opString
	opPattern
	opNull
	opBool
	opEquals
	opNotEquals
	opMatches
	opNotMatches
	opAnd
	opOr
)

// node is one node of the parse tree. It is a concrete struct rather than an
// interface so that evaluation is a switch without allocations.
type node struct {
	op    op
	pos   int    // offset of the token that made the node
	start int    // offset of the node's leftmost token
	text  string // variable name, string content or pattern token
	b     bool   // value of a boolean literal
	// pat is the compiled literal pattern, or, for a string literal, the
	// pattern the string reads as (nil when it reads as none).
	pat         *pattern
	left, right *node
}

// Precedences are GitLab's: a lower number binds tighter, and an operator
// pops every stacked operator whose number is not greater than its own.
const (
	precComparison = 10
	precAnd        = 11
	precOr         = 12
	precParenClose = 900
	precParenOpen  = 901
)

func precedence(k tokenKind) int {
	switch k {
	case tokAnd:
		return precAnd
	case tokOr:
		return precOr
	case tokParenOpen:
		return precParenOpen
	case tokParenClose:
		return precParenClose
	default:
		return precComparison
	}
}

// parse turns tokens into a tree the way GitLab's Expression::Parser does:
// a shunting-yard pass to reverse Polish notation, then a stack build. The
// two steps are kept separate because GitLab's error precedence follows
// them (an unmatched ")" is found before an invalid pattern).
func parse(src string, toks []token) (*node, error) {
	rpn, err := toRPN(src, toks)
	if err != nil {
		return nil, err
	}
	var stack []*node
	for _, t := range rpn {
		switch t.kind {
		case tokParenOpen:
			return nil, &SyntaxError{Expr: src, Offset: t.pos, Msg: `unmatched parenthesis "("`}
		case tokParenClose: // toRPN drops every ")"
		case tokVariable, tokString, tokPattern, tokNull, tokBool:
			n, err := leaf(src, t)
			if err != nil {
				return nil, err
			}
			stack = append(stack, n)
		default:
			if len(stack) < 2 {
				return nil, &SyntaxError{Expr: src, Offset: t.pos, Msg: fmt.Sprintf("missing operand for %s", t.text)}
			}
			l, r := stack[len(stack)-2], stack[len(stack)-1]
			stack = stack[:len(stack)-2]
			stack = append(stack, &node{op: binaryOp(t.kind), pos: t.pos,
				start: min(t.pos, l.start, r.start), text: t.text, left: l, right: r})
		}
	}
	switch {
	case len(stack) == 0:
		return nil, &SyntaxError{Expr: src, Offset: 0, Msg: "nothing to evaluate"}
	case len(stack) > 1:
		return nil, &SyntaxError{Expr: src, Offset: danglingValue(toks, stack[1].start), Msg: "value without an operator"}
	}
	return stack[0], nil
}

// danglingValue points an error for leftover values at the first value that
// directly follows another one, where an infix reader would want an operator.
func danglingValue(toks []token, fallback int) int {
	for i := 1; i < len(toks); i++ {
		prev, cur := toks[i-1].kind, toks[i].kind
		if (isValue(prev) || prev == tokParenClose) && (isValue(cur) || cur == tokParenOpen) {
			return toks[i].pos
		}
	}
	return fallback
}

func isValue(k tokenKind) bool {
	return k == tokVariable || k == tokString || k == tokPattern || k == tokNull || k == tokBool
}

// toRPN is the shunting-yard pass, including GitLab's handling of
// parentheses: a ")" with no "(" before it is an error, a "(" left open
// stays in the output and is rejected by parse.
func toRPN(src string, toks []token) ([]token, error) {
	out := make([]token, 0, len(toks))
	var ops []token
	for _, t := range toks {
		switch t.kind {
		case tokVariable, tokString, tokPattern, tokNull, tokBool:
			out = append(out, t)
		case tokParenOpen:
			ops = append(ops, t)
		default:
			p := precedence(t.kind)
			for len(ops) > 0 && p >= precedence(ops[len(ops)-1].kind) {
				out = append(out, ops[len(ops)-1])
				ops = ops[:len(ops)-1]
			}
			if t.kind != tokParenClose {
				ops = append(ops, t)
				continue
			}
			if len(ops) == 0 {
				return nil, &SyntaxError{Expr: src, Offset: t.pos, Msg: `unmatched parenthesis ")"`}
			}
			ops = ops[:len(ops)-1] // the "(" that t closes
		}
	}
	for i := len(ops) - 1; i >= 0; i-- {
		out = append(out, ops[i])
	}
	return out, nil
}

func leaf(src string, t token) (*node, error) {
	n := &node{pos: t.pos, start: t.pos, text: t.val}
	switch t.kind {
	case tokVariable:
		n.op = opVariable
	case tokString:
		n.op = opString
		n.pat = stringPattern(t.val)
	case tokNull:
		n.op = opNull
	case tokBool:
		n.op, n.b = opBool, t.text == "true"
	case tokPattern:
		n.op, n.text = opPattern, t.text
		p, err := compilePattern(t.text)
		if err != nil {
			return nil, &SyntaxError{Expr: src, Offset: t.pos, Msg: fmt.Sprintf("invalid regular expression %s: %v", t.text, err)}
		}
		n.pat = p
	}
	return n, nil
}

func binaryOp(k tokenKind) op {
	switch k {
	case tokEquals:
		return opEquals
	case tokNotEquals:
		return opNotEquals
	case tokMatches:
		return opMatches
	case tokNotMatches:
		return opNotMatches
	case tokAnd:
		return opAnd
	default:
		return opOr
	}
}
