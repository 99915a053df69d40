package expr

import (
	"fmt"
	"regexp"
	"strings"
	"unicode/utf8"
)

type tokenKind uint8

const (
	tokParenOpen tokenKind = iota
	tokParenClose
	tokVariable
	tokString
	tokPattern
	tokNull
	tokBool
	tokEquals
	tokMatches
	tokNotEquals
	tokNotMatches
	tokAnd
	tokOr
)

// token is one lexeme. text is the source as written; val is the variable
// name or the string literal's content.
type token struct {
	kind tokenKind
	pos  int
	text string
	val  string
}

// maxTokens is GitLab's Lexer::MAX_TOKENS. GitLab's loop scans at most this
// many tokens and fails once it has, so 99 is the longest valid expression.
const maxTokens = 100

// literalPattern is how GitLab's lexer recognises /pattern/flags: at least
// two characters between the slashes, `\/` does not end the pattern, and the
// last character before the closing slash is not a backslash. Go's regexp
// picks the same match a backtracking engine (Ruby's) would, so "/a/" is no
// pattern and "/ab//" is the pattern `ab/`, exactly as in GitLab.
var literalPattern = regexp.MustCompile(`^/(?:[^/]|\\/)+[^\\]/[ismU]*`)

// operators lists the two-character operators in GitLab's lexeme order.
var operators = [...]struct {
	text string
	kind tokenKind
}{
	{"==", tokEquals}, {"=~", tokMatches}, {"!=", tokNotEquals},
	{"!~", tokNotMatches}, {"&&", tokAnd}, {"||", tokOr},
}

// lex splits src into tokens, trying lexemes in GitLab's order.
func lex(src string) ([]token, error) {
	if !utf8.ValidString(src) {
		return nil, &SyntaxError{Expr: src, Offset: firstInvalidUTF8(src), Msg: "invalid UTF-8"}
	}
	var toks []token
	pos := 0
	for range maxTokens {
		pos = skipSpace(src, pos)
		if pos == len(src) {
			if len(toks) == 0 {
				return nil, &SyntaxError{Expr: src, Offset: pos, Msg: "empty expression"}
			}
			return toks, nil
		}
		t, ok := scan(src, pos)
		if !ok {
			return nil, &SyntaxError{Expr: src, Offset: pos, Msg: fmt.Sprintf("unknown lexeme %q", word(src[pos:]))}
		}
		toks = append(toks, t)
		pos += len(t.text)
	}
	return nil, &SyntaxError{Expr: src, Offset: toks[len(toks)-1].pos,
		Msg: fmt.Sprintf("too many tokens (at most %d)", maxTokens-1)}
}

// scan reads the token at pos, if any lexeme matches there.
func scan(src string, pos int) (token, bool) {
	rest := src[pos:]
	t := token{pos: pos}
	switch {
	case rest[0] == '(':
		t.kind, t.text = tokParenOpen, "("
	case rest[0] == ')':
		t.kind, t.text = tokParenClose, ")"
	case rest[0] == '$' && wordLen(rest[1:]) > 0:
		t.kind, t.text = tokVariable, rest[:1+wordLen(rest[1:])]
		t.val = t.text[1:]
	case rest[0] == '"' || rest[0] == '\'':
		// A string ends at the next quote of its kind on the same line;
		// there are no escapes.
		end := strings.IndexByte(rest[1:], rest[0])
		nl := strings.IndexByte(rest[1:], '\n')
		if end < 0 || (nl >= 0 && nl < end) {
			return t, false
		}
		t.kind, t.text, t.val = tokString, rest[:end+2], rest[1:end+1]
	case rest[0] == '/':
		m := literalPattern.FindString(rest)
		if m == "" {
			return t, false
		}
		t.kind, t.text = tokPattern, m
	case strings.HasPrefix(rest, "null"):
		t.kind, t.text = tokNull, "null"
	case keyword(rest, "true"):
		t.kind, t.text = tokBool, "true"
	case keyword(rest, "false"):
		t.kind, t.text = tokBool, "false"
	default:
		for _, op := range operators {
			if strings.HasPrefix(rest, op.text) {
				t.kind, t.text = op.kind, op.text
				return t, true
			}
		}
		return t, false
	}
	return t, true
}

// keyword reports whether s starts with the word kw followed by a word
// boundary (GitLab's /\b(?:true|false)\b/).
func keyword(s, kw string) bool {
	return strings.HasPrefix(s, kw) && wordLen(s[len(kw):]) == 0
}

// wordLen is the length of the run of Ruby \w characters ([A-Za-z0-9_])
// that s starts with.
func wordLen(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c == '_' || '0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z') {
			return i
		}
	}
	return len(s)
}

// skipSpace skips Ruby's \s: space, \t, \n, \v, \f and \r.
func skipSpace(s string, pos int) int {
	for pos < len(s) && strings.IndexByte(" \t\n\v\f\r", s[pos]) >= 0 {
		pos++
	}
	return pos
}

// word returns the start of s up to the next space, for error messages.
func word(s string) string {
	end := 0
	for end < len(s) && end < 24 && strings.IndexByte(" \t\n\v\f\r", s[end]) < 0 {
		_, size := utf8.DecodeRuneInString(s[end:])
		end += size
	}
	return s[:end]
}

func firstInvalidUTF8(s string) int {
	for i, r := range s {
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(s[i:]); size == 1 {
				return i
			}
		}
	}
	return len(s)
}
