package expr

import (
	"errors"
	"strings"
	"testing"
)

// env is the variable set every row of TestEvaluate sees.
var env = map[string]string{
	"PRESENT":  "my variable",
	"EMPTY":    "",
	"BLANK":    " \t",
	"NBSP":     "\u00a0",
	"PATH":     "a/path/variable/value",
	"FULL":     "/a/full/path/variable/value",
	"BRANCH":   "main",
	"DEFAULT":  "main",
	"FEATURE":  "feature/login",
	"SOURCE":   "push",
	"TAG":      "v1.2.3",
	"RE":       `/^v\d+\.\d+/`,
	"RE_I":     "/^MAIN$/i",
	"RE_ESC":   `/^feature\/.+/`,
	"RE_BAD":   "/[/",
	"RE_EMPTY": "//",
	"PLAIN":    "1234",
	"TRUE":     "true",
	"FALSE":    "false",
	"NULL":     "null",
	"MULTI":    "first line\n/^ma/",
	"LINES":    "one\ntwo",
	"UNI":      "ünïcödé",
	"ONE":      "1",
	"_under":   "x",
	"1":        "digit",
}

type row struct {
	expr string
	want bool
	// err, when set, is a substring of the SyntaxError's Msg Parse must return.
	err string
}

var rows = []row{
	// Presence of variables: the verdict is present?.
	{expr: `$PRESENT`, want: true},
	{expr: `$EMPTY`, want: false},
	{expr: `$UNDEFINED`, want: false},
	{expr: `$BLANK`, want: false},   // white space only is blank
	{expr: `$NBSP`, want: false},    // Unicode white space too
	{expr: `$FALSE`, want: true},    // the string "false" is present
	{expr: `$NULL`, want: true},     // so is "null"
	{expr: `$_under`, want: true},   // names are Ruby \w+
	{expr: `$1`, want: true},        // even all digits
	{expr: `$present`, want: false}, // names are case-sensitive
	{expr: `$UNI`, want: true},
	{expr: "  $PRESENT  ", want: true},
	{expr: "\t$PRESENT\n", want: true},
	{expr: "\v\f\r$PRESENT", want: true},

	// Literals alone.
	{expr: `"string"`, want: true},
	{expr: `''`, want: false},
	{expr: `" "`, want: false},
	{expr: `null`, want: false},
	{expr: `true`, want: true},
	{expr: `false`, want: false},
	{expr: `/ab/`, want: true}, // a pattern object is present
	{expr: `'it''s'`, err: "value without an operator"},

	// == compares strings, null and booleans.
	{expr: `$PRESENT == "my variable"`, want: true},
	{expr: `"my variable" == $PRESENT`, want: true},
	{expr: `$PRESENT == 'my variable'`, want: true},
	{expr: `$PRESENT == "My variable"`, want: false},
	{expr: `$PRESENT == null`, want: false},
	{expr: `$EMPTY == null`, want: false},
	{expr: `$EMPTY == ""`, want: true},
	{expr: `$EMPTY == ''`, want: true},
	{expr: `$UNDEFINED == null`, want: true},
	{expr: `null == $UNDEFINED`, want: true},
	{expr: `$UNDEFINED == ""`, want: false},
	{expr: `$UNDEFINED == $ALSO_UNDEFINED`, want: true},
	{expr: `$BRANCH == $DEFAULT`, want: true},
	{expr: `$BRANCH == $FEATURE`, want: false},
	{expr: `$TRUE == true`, want: false}, // a string is never a boolean
	{expr: `$TRUE == "true"`, want: true},
	{expr: `$NULL == null`, want: false},
	{expr: `null == null`, want: true},
	{expr: `true == true`, want: true},
	{expr: `false == false`, want: true},
	{expr: `true == false`, want: false},
	{expr: `null == false`, want: false},
	{expr: `/ab/ == /ab/`, want: true},
	{expr: `/ab/i == /ab/`, want: false},
	{expr: `"ab" == /ab/`, want: false},
	{expr: `null == /ab/`, want: false},
	{expr: `$UNI == "ünïcödé"`, want: true},

	// != is the negation of ==.
	{expr: `$PRESENT != "my variable"`, want: false},
	{expr: `"my variable" != $PRESENT`, want: false},
	{expr: `$PRESENT != "nope"`, want: true},
	{expr: `$PRESENT != null`, want: true},
	{expr: `$EMPTY != null`, want: true},
	{expr: `$UNDEFINED != null`, want: false},
	{expr: `null != $UNDEFINED`, want: false},
	{expr: `$EMPTY != ""`, want: false},
	{expr: `$BRANCH != $DEFAULT`, want: false},
	{expr: `true != false`, want: true},
	{expr: `/ab/ != /cd/`, want: true},

	// =~ with literal patterns: RE2, unanchored.
	{expr: `$PRESENT =~ /var.*e$/`, want: true},
	{expr: `$PRESENT =~ /^var.*/`, want: false},
	{expr: `$PRESENT =~ /VAR.*/i`, want: true},
	{expr: `$PRESENT =~ /VAR.*/`, want: false},
	{expr: `$PRESENT =~ /va\r.*e$/`, want: false},  // \r is a carriage return
	{expr: `$PRESENT =~ /va\/r.*e$/`, want: false}, // \/ is a slash
	{expr: `$EMPTY =~ /var.*/`, want: false},
	{expr: `$UNDEFINED =~ /var.*/`, want: false},
	{expr: `$UNDEFINED =~ /.*/`, want: true}, // null reads as "", which .* matches
	{expr: `$EMPTY =~ /^$/`, want: true},
	{expr: `$PATH =~ /path\/variable/`, want: true},
	{expr: `$FULL =~ /^\/a\/full\/path\/variable\/value$/`, want: true},
	{expr: `$FULL =~ /\/path\/variable\/value$/`, want: true},
	{expr: `$BRANCH =~ /^main$/`, want: true},
	{expr: `$BRANCH =~ /^mai$/`, want: false},
	{expr: `$FEATURE =~ /^feature\//`, want: true},
	{expr: `$TAG =~ /^v\d+\.\d+\.\d+$/`, want: true},
	{expr: `$TAG =~ /^V\d+/i`, want: true},
	{expr: `$TAG =~ /^v(?P<major>\d+)/`, want: true},
	{expr: `$SOURCE =~ /push|web/`, want: true},
	{expr: `$SOURCE =~ /^(web|api)$/`, want: false},
	{expr: `$UNI =~ /^ü.+é$/`, want: true},
	{expr: `$UNI =~ /^\w+$/`, want: false}, // RE2's \w is ASCII
	{expr: `$PRESENT =~ /(?i)MY/`, want: true},
	{expr: `$BRANCH =~ /[[:alpha:]]+/`, want: true},
	{expr: `"MAIN" =~ /main/i`, want: true},
	{expr: `"aaa" =~ /a{3}/`, want: true},
	{expr: `"ab" =~ /AB/iU`, want: true},
	{expr: `$BRANCH =~ /ma/ism`, want: true},
	{expr: `$LINES =~ /^two$/`, want: false},
	{expr: `$LINES =~ /^two$/m`, want: true},
	{expr: `$LINES =~ /one.two/`, want: false},
	{expr: `$LINES =~ /one.two/s`, want: true},
	{expr: `"price $5" =~ /\$5/`, want: true},
	{expr: `"some x / pattern" =~ /some .* \/ pattern/`, want: true},
	{expr: `"a/" =~ /a//`, want: true}, // GitLab's lexer reads /a// as the pattern a/

	// !~ is the negation of =~.
	{expr: `$PRESENT !~ /var.*e$/`, want: false},
	{expr: `$PRESENT !~ /^var.*/`, want: true},
	{expr: `$PRESENT !~ /^v\ar.*/`, want: true},
	{expr: `$PRESENT !~ /^v\/ar.*/`, want: true},
	{expr: `$EMPTY !~ /var.*/`, want: true},
	{expr: `$UNDEFINED !~ /var.*/`, want: true},
	{expr: `$UNDEFINED !~ /.*/`, want: false},
	{expr: `$PRESENT !~ /VAR.*/i`, want: false},

	// The right operand may be a string or variable holding /re/flags.
	{expr: `$TAG =~ $RE`, want: true},
	{expr: `$BRANCH =~ $RE`, want: false},
	{expr: `$BRANCH =~ $RE_I`, want: true},
	{expr: `$FEATURE =~ $RE_ESC`, want: true},
	{expr: `$BRANCH =~ $RE_ESC`, want: false},
	{expr: `$TAG !~ $RE`, want: false},
	{expr: `$BRANCH !~ $RE`, want: true},
	{expr: `$BRANCH =~ $RE_EMPTY`, want: true}, // an empty pattern matches anything
	{expr: `$BRANCH =~ $MULTI`, want: true},    // one line of the value reads /^ma/
	{expr: `$BRANCH =~ "/^MA/i"`, want: true},
	{expr: `$BRANCH =~ '/^ma/'`, want: true},
	{expr: `"test/url" =~ "/test\/ur/"`, want: true},
	{expr: `"a" =~ "/a/"`, want: true}, // unlike a literal, a string may hold /a/
	{expr: `$BRANCH =~ "/^ma/x"`, want: false},

	// A string that is no pattern is searched for the left text.
	{expr: `"23" =~ $PLAIN`, want: true},
	{expr: `"23" =~ "1234"`, want: true},
	{expr: `"1234" =~ "23"`, want: false},
	{expr: `"23" !~ $PLAIN`, want: false},
	{expr: `"5" =~ $PLAIN`, want: false},
	{expr: `$PLAIN =~ $PLAIN`, want: true},
	{expr: `$UNDEFINED =~ $PLAIN`, want: true}, // "" occurs in every string
	{expr: `"[" =~ $RE_BAD`, want: true},       // invalid pattern: used as text
	{expr: `"x" =~ $RE_BAD`, want: false},
	{expr: `$BRANCH =~ $TRUE`, want: false},
	{expr: `"ru" =~ $TRUE`, want: true},

	// A null or false right operand matches nothing.
	{expr: `$BRANCH =~ $UNDEFINED`, want: false},
	{expr: `$BRANCH !~ $UNDEFINED`, want: true},
	{expr: `$BRANCH =~ null`, want: false},
	{expr: `$BRANCH !~ null`, want: true},
	{expr: `$BRANCH =~ false`, want: false},
	{expr: `$BRANCH !~ false`, want: true},

	// The left operand is matched as Ruby's to_s.
	{expr: `true =~ /^true$/`, want: true},
	{expr: `false =~ /^false$/`, want: true},
	{expr: `null =~ /^$/`, want: true},
	{expr: `($BRANCH == "main") =~ /true/`, want: true},

	// && and || return an operand; only null and false are falsy.
	{expr: `$PRESENT && "string"`, want: true},
	{expr: `$PRESENT && $EMPTY`, want: false},
	{expr: `$EMPTY && $PRESENT`, want: true}, // "" is truthy inside &&
	{expr: `$BLANK && "x"`, want: true},
	{expr: `$UNDEFINED && $PRESENT`, want: false},
	{expr: `$PRESENT && null`, want: false},
	{expr: `$PRESENT && $UNDEFINED`, want: false},
	{expr: `null && null`, want: false},
	{expr: `$EMPTY && $EMPTY`, want: false},
	{expr: `$PRESENT || $UNDEFINED`, want: true},
	{expr: `$UNDEFINED || $PRESENT`, want: true},
	{expr: `$UNDEFINED || $EMPTY`, want: false},
	{expr: `$EMPTY || $PRESENT`, want: false}, // || returns "", which is not present
	{expr: `$FALSE && $PRESENT`, want: true},
	{expr: `false || $PRESENT`, want: true},
	{expr: `true && false`, want: false},
	{expr: `false || false`, want: false},
	{expr: `false || null`, want: false},
	{expr: `$PRESENT =~ /my var/ && $EMPTY =~ /nope/`, want: false},
	{expr: `$EMPTY == "" && $PRESENT`, want: true},
	{expr: `$EMPTY == "" && $PRESENT != "nope"`, want: true},
	{expr: `$PRESENT =~ /my var/ || $EMPTY =~ /nope/`, want: true},
	{expr: `$UNDEFINED == null || $PRESENT`, want: true},

	// && binds tighter than ||, comparisons tighter than both.
	{expr: `$PRESENT && null || $EMPTY == ""`, want: true},
	{expr: `$PRESENT || $UNDEFINED == null`, want: true},
	{expr: `"string" == "test" || "string"`, want: true},
	{expr: `"string" == ("test" || "string")`, want: false},
	{expr: `"string" == ("test" && "string")`, want: true},
	{expr: `null || "test" == "string"`, want: false},
	{expr: `$PRESENT || $UNDEFINED && $UNDEFINED`, want: true},
	{expr: `$UNDEFINED && $UNDEFINED || $PRESENT`, want: true},
	{expr: `($PRESENT || $UNDEFINED) && $UNDEFINED`, want: false},
	{expr: `$BRANCH == "main" && $SOURCE == "push" || $TAG == "none"`, want: true},
	{expr: `$BRANCH == "dev" && $SOURCE == "push" || $TAG =~ /^v1/`, want: true},
	{expr: `$BRANCH == "dev" && ($SOURCE == "push" || $TAG =~ /^v1/)`, want: false},
	{expr: `(($PRESENT))`, want: true},
	{expr: `((($EMPTY)))`, want: false},
	{expr: `($PRESENT) && (null || $EMPTY == "")`, want: true},
	{expr: `(($PRESENT && null) || $EMPTY == "")`, want: true},
	{expr: `("string" == ("string" || (("1" == "1") && ("2" == "3"))))`, want: true},
	{expr: `$BRANCH == $DEFAULT == true`, want: true}, // comparisons are left-associative
	{expr: `"main" == $BRANCH == $DEFAULT`, want: false},
	{expr: `$BRANCH =~ /^ma/ == true`, want: true},

	// Spacing does not matter.
	{expr: `$BRANCH=="main"`, want: true},
	{expr: `$BRANCH=~/^ma/&&$SOURCE!~/web/`, want: true},
	{expr: `"foo"=~/foo/`, want: true},
	{expr: "$BRANCH ==\n\"main\"", want: true},
	{expr: "$BRANCH\t==\t'main'", want: true},
	{expr: `($BRANCH=="x")||($SOURCE=="push")`, want: true},

	// Odd inputs GitLab's shunting-yard parser accepts.
	{expr: `== $BRANCH $DEFAULT`, want: true},
	{expr: `$BRANCH $DEFAULT ==`, want: true},
	{expr: `$BRANCH (== $DEFAULT)`, want: true},
	{expr: `$BRANCH "x" == "x" &&`, want: true},

	// An evaluation that fails only for some values is false.
	{expr: `$BRANCH =~ ($BRANCH == "main")`, want: false},
	{expr: `$BRANCH !~ ($BRANCH == "main")`, want: false},
	{expr: `$PRESENT && /ab/ == "ab"`, want: false},
	{expr: `$PRESENT && /ab/ != "ab"`, want: false},
	{expr: `$UNDEFINED && /ab/ != "ab"`, want: false},

	// Syntax errors.
	{expr: `${BRANCH} == "main"`, err: `unknown lexeme "${BRANCH}"`},
	{expr: `$BRANCH == 1`, err: `unknown lexeme "1"`},
	{expr: `!$BRANCH`, err: "unknown lexeme"},
	{expr: `$BRANCH = "main"`, err: "unknown lexeme"},
	{expr: `$BRANCH === "main"`, err: "unknown lexeme"},
	{expr: `$BRANCH & $X`, err: "unknown lexeme"},
	{expr: `$BRANCH | $X`, err: "unknown lexeme"},
	{expr: `$`, err: "unknown lexeme"},
	{expr: `$-x`, err: "unknown lexeme"},
	{expr: `"unterminated`, err: "unknown lexeme"},
	{expr: `'mixed"`, err: "unknown lexeme"},
	{expr: "\"a\nb\" == $X", err: "unknown lexeme"},
	{expr: `nullx`, err: "unknown lexeme"},
	{expr: `truex`, err: "unknown lexeme"},
	{expr: `true1`, err: "unknown lexeme"},
	{expr: `TRUE`, err: "unknown lexeme"},
	{expr: `NULL`, err: "unknown lexeme"},
	{expr: `$[[ inputs.x ]] == "a"`, err: "unknown lexeme"},
	{expr: `$BRANCH =~ /a/`, err: `unknown lexeme "/a/"`}, // one character is no pattern
	{expr: `$BRANCH =~ //`, err: "unknown lexeme"},
	{expr: `$BRANCH =~ /ma/x`, err: `unknown lexeme "x"`},
	{expr: `$BRANCH =~ /ma\/`, err: "unknown lexeme"},
	{expr: `"test/url" =~ /test/ur/`, err: `unknown lexeme "ur/"`},
	{expr: `"x" =~ /some .* / pattern/`, err: `unknown lexeme "pattern/"`},
	{expr: `$BRANCH =~ /(ma/`, err: "invalid regular expression /(ma/"},
	{expr: `$BRANCH =~ /ma)/`, err: "invalid regular expression"},
	{expr: ``, err: "empty expression"},
	{expr: "   \t", err: "empty expression"},
	{expr: `$BRANCH ==`, err: "missing operand for =="},
	{expr: `&&`, err: "missing operand for &&"},
	{expr: `$BRANCH || `, err: "missing operand for ||"},
	{expr: `$BRANCH $DEFAULT`, err: "value without an operator"},
	{expr: `($BRANCH`, err: `unmatched parenthesis "("`},
	{expr: `$BRANCH)`, err: `unmatched parenthesis ")"`},
	{expr: `($BRANCH))`, err: `unmatched parenthesis ")"`},
	{expr: `()`, err: "nothing to evaluate"},
	{expr: `$BRANCH == ()`, err: "missing operand for =="},
	{expr: `/ab/ == "ab"`, err: "a pattern can only be compared with a pattern"},
	{expr: `/ab/ != null`, err: "a pattern can only be compared with a pattern"},
	{expr: `$BRANCH =~ true`, err: "=~ needs a pattern or a string on its right"},
	{expr: `$BRANCH !~ ($UNDEFINED == null)`, err: "!~ needs a pattern or a string on its right"},
	{expr: "$BRANCH == \"\xff\"", err: "invalid UTF-8"},
}

func TestEvaluate(t *testing.T) {
	if len(rows) < 150 {
		t.Fatalf("the table has %d rows; keep at least 150", len(rows))
	}
	vars := mapLookup(env)
	for _, r := range rows {
		t.Run(r.expr, func(t *testing.T) {
			t.Parallel()
			e, err := Parse(r.expr)
			if r.err != "" {
				var se *SyntaxError
				if !errors.As(err, &se) {
					t.Fatalf("Parse = %v, %v; want a *SyntaxError containing %q", e, err, r.err)
				}
				if !strings.Contains(se.Msg, r.err) || se.Expr != r.expr {
					t.Fatalf("Parse error = %+v; want Msg containing %q", se, r.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			if got := e.Evaluate(vars); got != r.want {
				t.Errorf("Evaluate = %v, want %v", got, r.want)
			}
			// Evaluation does not depend on earlier evaluations (pattern cache).
			if got := e.Evaluate(vars); got != r.want {
				t.Errorf("second Evaluate = %v, want %v", got, r.want)
			}
		})
	}
}
