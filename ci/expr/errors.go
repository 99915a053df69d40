package expr

import "fmt"

// SyntaxError reports where and why src is not a valid expression.
type SyntaxError struct {
	Expr   string // the whole source
	Offset int    // byte offset of the problem
	Msg    string
}

// Error returns GitLab's wording, "invalid expression syntax", followed by
// the detail GitLab keeps to itself; callers prefix the location in the
// configuration (`jobs:build:rules:rule if`).
func (e *SyntaxError) Error() string {
	return fmt.Sprintf("invalid expression syntax: %s at offset %d", e.Msg, e.Offset)
}
