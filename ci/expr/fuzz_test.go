package expr

import (
	"errors"
	"strings"
	"testing"
	"unicode/utf8"
)

func seedCorpus(f *testing.F) {
	for _, r := range rows {
		f.Add(r.expr)
	}
	for _, s := range []string{
		`$CI_COMMIT_BRANCH == $CI_DEFAULT_BRANCH && $CI_PIPELINE_SOURCE =~ /push|web/`,
		`$CI_COMMIT_TAG =~ /^v\d+\.\d+\.\d+(-rc\.\d+)?$/ || $FORCE == "true"`,
		`($A || ($B && ($C == "x"))) != null`,
		`/a\/b\\/ =~ /x//`,
		"$A ==\x00\"b\"",
	} {
		f.Add(s)
	}
}

// FuzzParse checks that Parse never panics, that it fails only with a
// *SyntaxError pointing inside the source, and that a parsed expression
// evaluates without panicking, twice the same way.
func FuzzParse(f *testing.F) {
	seedCorpus(f)
	f.Fuzz(func(t *testing.T, src string) {
		e, err := Parse(src)
		if err != nil {
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse(%q) error %T is not a *SyntaxError", src, err)
			}
			if se.Expr != src || se.Offset < 0 || se.Offset > len(src) || se.Msg == "" {
				t.Fatalf("Parse(%q) error = %+v", src, se)
			}
			return
		}
		for _, name := range e.Variables() {
			if !strings.Contains(src, "$"+name) {
				t.Fatalf("Variables(%q) has %q, which the source does not reference", src, name)
			}
		}
		for _, vars := range []Lookup{nil, constLookup("main"), constLookup(src)} {
			if a, b := e.Evaluate(vars), e.Evaluate(vars); a != b {
				t.Fatalf("Evaluate(%q) not deterministic", src)
			}
		}
	})
}

// FuzzEvaluate checks, for any left text and right operand, that !~ is the
// negation of =~ whether the right operand is a string literal or a
// variable (both read as a pattern when they look like one), and that a
// variable right operand behaves like the same text in a literal string.
func FuzzEvaluate(f *testing.F) {
	seeds := [][2]string{
		{"main", "/^ma/"}, {"v1.2", `/^v\d+/i`}, {"23", "1234"}, {"", "/.*/"},
		{"[", "/[/"}, {"x", "//"}, {"a\nb", "one\n/^b$/m"}, {"ü", "/\\w/"},
	}
	for _, s := range seeds {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, left, right string) {
		vars := mapLookup(map[string]string{"L": left, "R": right})
		m, err := Eval(`$L =~ $R`, vars)
		if err != nil {
			t.Fatal(err)
		}
		n, err := Eval(`$L !~ $R`, vars)
		if err != nil {
			t.Fatal(err)
		}
		if m == n {
			t.Fatalf("=~ and !~ both %v for %q, %q", m, left, right)
		}
		if strings.ContainsAny(right, "\"\n") || !utf8.ValidString(right) {
			return // cannot be written as a "string" literal
		}
		lit, err := Eval(`$L =~ "`+right+`"`, vars)
		if err != nil {
			t.Fatalf("literal %q: %v", right, err)
		}
		if lit != m {
			t.Fatalf("=~ %q is %v as a literal, %v as a variable (left %q)", right, lit, m, left)
		}
	})
}

func constLookup(v string) Lookup {
	return func(string) (string, bool) { return v, true }
}
