package expr

import (
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"strings"
)

// pattern is a compiled /re/flags.
type pattern struct {
	re *regexp.Regexp
	// source is the RE2 source with the flags as a (?flags) prefix; GitLab
	// compares two patterns with == by it.
	source string
	// text is the pattern as written, used when a pattern is matched as text.
	text string
}

// rubySyntax is GitLab's UntrustedRegexp::RubySyntax::PATTERN. In Ruby ^ and
// $ match at line boundaries, hence (?m): a multi-line value whose one line
// reads /re/ is that pattern, as in GitLab.
var rubySyntax = regexp.MustCompile(`(?m)^/(.*)/([ismU]*)$`)

var errNotPattern = errors.New("not of the form /pattern/flags")

// maxInstructions mirrors RE2's default memory budget (8 MiB, two thirds of
// it for the program, 4 bytes per instruction of 8): GitLab cannot compile a
// larger pattern, and Go's regexp, which has no DFA, would match it slowly.
// Go counts instructions a little differently from RE2, so the limit is
// close to GitLab's, not exact.
const maxInstructions = (8 << 20 * 2 / 3) / 4 / 8

// compilePattern turns s (a pattern token, or a string that may read as one)
// into a pattern the way GitLab's Lexeme::Pattern does: `\/` becomes `/`,
// the result must read /re/flags, and the flags become an RE2 (?flags)
// prefix. RE2 and Go's regexp accept the same syntax, bar a few escapes
// such as \C.
func compilePattern(s string) (*pattern, error) {
	m := rubySyntax.FindStringSubmatch(strings.ReplaceAll(s, `\/`, "/"))
	if m == nil {
		return nil, errNotPattern
	}
	src := m[1]
	if m[2] != "" {
		src = "(?" + m[2] + ")" + src
	}
	re, err := regexp.Compile(src)
	if err != nil {
		return nil, err
	}
	if n := instructions(src); n > maxInstructions {
		return nil, fmt.Errorf("pattern too large: %d instructions, RE2 allows about %d", n, maxInstructions)
	}
	return &pattern{re: re, source: src, text: s}, nil
}

// stringPattern is the pattern a string operand of =~ or !~ reads as, or nil
// when GitLab would use the string as it is.
func stringPattern(s string) *pattern {
	p, err := compilePattern(s)
	if err != nil {
		return nil
	}
	return p
}

// instructions is the size of src's compiled program; src has compiled.
func instructions(src string) int {
	re, err := syntax.Parse(src, syntax.Perl)
	if err != nil {
		return 0
	}
	prog, err := syntax.Compile(re.Simplify())
	if err != nil {
		return 0
	}
	return len(prog.Inst)
}
