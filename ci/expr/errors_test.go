package expr

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestSyntaxErrorPosition(t *testing.T) {
	tests := []struct {
		expr   string
		offset int
		msg    string
	}{
		{`${VAR} == 'true'`, 0, `unknown lexeme "${VAR}"`},
		{`$A == 12`, 6, `unknown lexeme "12"`},
		{`$A   &&  ! $B`, 9, `unknown lexeme "!"`},
		{`"test/url" =~ /test/ur/`, 20, `unknown lexeme "ur/"`},
		{"", 0, "empty expression"},
		{"  ", 2, "empty expression"},
		{"$A == \"\xffx\"", 7, "invalid UTF-8"},
		{`$A =~ /a(/`, 6, "invalid regular expression /a(/: error parsing regexp: missing closing ): `a(`"},
		{`$A ==`, 3, "missing operand for =="},
		{`$A && ($B ||)`, 3, "missing operand for &&"}, // RPN "$A $B || &&": || takes $A, && lacks one
		{`$A $B`, 3, "value without an operator"},
		{`$A == $B "x"`, 9, "value without an operator"},
		{`($A) ($B)`, 5, "value without an operator"},
		{`($A == $B`, 0, `unmatched parenthesis "("`},
		{`$A == $B)`, 8, `unmatched parenthesis ")"`},
		{`(  )`, 0, "nothing to evaluate"},
		{`$A =~ true`, 3, "=~ needs a pattern or a string on its right, not true"},
		{`$A || (/xy/ == $B)`, 12, "a pattern can only be compared with a pattern"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr)
			var se *SyntaxError
			if !errors.As(err, &se) {
				t.Fatalf("Parse error = %v, want a *SyntaxError", err)
			}
			want := SyntaxError{Expr: tt.expr, Offset: tt.offset, Msg: tt.msg}
			if diff := cmp.Diff(want, *se); diff != "" {
				t.Errorf("Parse error mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// Errors from the lexer come before those of the parser, and the parser's
// follow GitLab's two passes: an unmatched ")" is found before an invalid
// pattern that precedes it.
func TestSyntaxErrorOrder(t *testing.T) {
	tests := []struct{ expr, msg string }{
		{`$A =~ /a(/ && 1`, `unknown lexeme "1"`},
		{`$A =~ /a(/ )`, `unmatched parenthesis ")"`},
		{`$A =~ /a(/ ==`, "invalid regular expression"},
	}
	for _, tt := range tests {
		_, err := Parse(tt.expr)
		var se *SyntaxError
		if !errors.As(err, &se) || !strings.HasPrefix(se.Msg, tt.msg) {
			t.Errorf("Parse(%q) error = %v, want message starting %q", tt.expr, err, tt.msg)
		}
	}
}

func TestSyntaxErrorText(t *testing.T) {
	_, err := Parse(`${VAR} == "x"`)
	want := `invalid expression syntax: unknown lexeme "${VAR}" at offset 0`
	if err == nil || err.Error() != want {
		t.Errorf("Error() = %v, want %q", err, want)
	}
}

// GitLab's lexer stops after Lexer::MAX_TOKENS (100) tokens and fails, so
// the longest valid expression has 99.
func TestTokenLimit(t *testing.T) {
	chain := func(n int) string { // n variables joined by ||: 2n-1 tokens
		return strings.TrimSuffix(strings.Repeat("$A || ", n), " || ")
	}
	ok := chain(50) // 99 tokens
	if _, err := Parse(ok + "  "); err != nil {
		t.Errorf("99 tokens: %v", err)
	}
	tooMany := ok + " )" // 100 tokens
	_, err := Parse(tooMany)
	var se *SyntaxError
	if !errors.As(err, &se) || se.Msg != "too many tokens (at most 99)" || se.Offset != len(ok)+1 {
		t.Errorf("100 tokens: error = %#v", err)
	}
	if _, err := Parse(chain(500)); err == nil {
		t.Error("999 tokens: no error")
	}
}

func TestEvalReturnsSyntaxError(t *testing.T) {
	got, err := Eval(`$A == `, mapLookup(nil))
	var se *SyntaxError
	if got || !errors.As(err, &se) {
		t.Errorf("Eval = %v, %v; want false and a *SyntaxError", got, err)
	}
	got, err = Eval(`$A == "x"`, mapLookup(map[string]string{"A": "x"}))
	if !got || err != nil {
		t.Errorf("Eval = %v, %v; want true, nil", got, err)
	}
}
