package ci

import (
	"fmt"
	"strings"

	"github.com/gantry-ci/gantry"
)

// Error is one configuration problem at a position. Line and Column are
// 1-based; both are 0 when the problem has no single place (for example a
// missing include reached through the include graph). Error() reads
// "file:line:col: message", the shape editors and CI logs understand.
type Error struct {
	File   string `json:"file,omitempty"`
	Line   int    `json:"line,omitempty"`
	Column int    `json:"column,omitempty"`
	Msg    string `json:"message"`
}

func (e *Error) Error() string {
	switch {
	case e.File == "" && e.Line == 0:
		return e.Msg
	case e.Line == 0:
		return e.File + ": " + e.Msg
	default:
		return fmt.Sprintf("%s:%d:%d: %s", e.File, e.Line, e.Column, e.Msg)
	}
}

// Unwrap makes every configuration error an invalid-input error for the
// layers that map errors to HTTP statuses.
func (e *Error) Unwrap() error { return gantry.ErrInvalid }

// Errors is every problem found in one compilation, in discovery order.
// Compile returns it (never an empty one) when the configuration is invalid.
type Errors []*Error

func (l Errors) Error() string {
	var b strings.Builder
	for i, e := range l {
		if i > 0 {
			b.WriteByte('\n')
		}
		b.WriteString(e.Error())
	}
	return b.String()
}

// Unwrap exposes the individual errors to errors.Is/As.
func (l Errors) Unwrap() []error {
	out := make([]error, len(l))
	for i, e := range l {
		out[i] = e
	}
	return out
}

// errorf builds an *Error at the position of n (which may be nil).
func errorf(n *node, format string, args ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	if n != nil {
		e.File, e.Line, e.Column = n.pos.file, int(n.pos.line), int(n.pos.col)
	}
	return e
}

// errs collects errors up to a bound, so a pathological file cannot make
// the compiler build an unbounded error list.
type errs struct {
	list Errors
}

const maxErrors = 100

func (c *errs) add(e *Error) {
	if len(c.list) < maxErrors {
		c.list = append(c.list, e)
	}
}

func (c *errs) addf(n *node, format string, args ...any) {
	c.add(errorf(n, format, args...))
}

func (c *errs) err() error {
	if len(c.list) == 0 {
		return nil
	}
	return c.list
}
