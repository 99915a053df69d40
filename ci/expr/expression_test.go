package expr

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestVariables(t *testing.T) {
	tests := []struct {
		expr string
		want []string
	}{
		{`"a" == "b"`, nil},
		{`$A`, []string{"A"}},
		{`$B == $A && ($A =~ $RE || $C_1 != null)`, []string{"B", "A", "RE", "C_1"}},
		{`"$NOT_A_VAR" == $X`, []string{"X"}},
		{`$X =~ /$NOT_A_VAR_EITHER/`, []string{"X"}},
	}
	for _, tt := range tests {
		e, err := Parse(tt.expr)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.expr, err)
		}
		got := e.Variables()
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("Variables(%q) mismatch (-want +got):\n%s", tt.expr, diff)
		}
		if len(got) > 0 {
			got[0] = "CHANGED" // the caller owns the slice
			if e.Variables()[0] == "CHANGED" {
				t.Errorf("Variables(%q) returned the Expression's own slice", tt.expr)
			}
		}
	}
}

func TestNilLookup(t *testing.T) {
	e, err := Parse(`$A == null && $B !~ /x+/`)
	if err != nil {
		t.Fatal(err)
	}
	if !e.Evaluate(nil) {
		t.Error("Evaluate(nil) = false, want true: a nil Lookup defines nothing")
	}
}

func TestString(t *testing.T) {
	const src = ` $A  == "x" `
	e, err := Parse(src)
	if err != nil {
		t.Fatal(err)
	}
	if e.String() != src {
		t.Errorf("String() = %q, want %q", e.String(), src)
	}
}

// One Expression is evaluated from many goroutines, with patterns read from
// variables going through the shared cache; run with -race.
func TestConcurrentEvaluate(t *testing.T) {
	e, err := Parse(`$REF =~ $PATTERN && $REF != "skip"`)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			for i := range 500 {
				n := (g*500 + i) % 300 // more values than the cache holds
				vars := mapLookup(map[string]string{
					"REF":     fmt.Sprintf("release-%d", n),
					"PATTERN": fmt.Sprintf("/^release-%d$/", n),
				})
				if !e.Evaluate(vars) {
					t.Errorf("Evaluate(release-%d) = false", n)
					return
				}
				vars = mapLookup(map[string]string{
					"REF":     fmt.Sprintf("release-%d", n),
					"PATTERN": fmt.Sprintf("/^release-%d$/", n+1),
				})
				if e.Evaluate(vars) {
					t.Errorf("Evaluate(release-%d against %d) = true", n, n+1)
					return
				}
			}
		})
	}
	wg.Wait()
	if n := len(e.cache.m); n > patternCacheSize {
		t.Errorf("pattern cache holds %d entries, limit %d", n, patternCacheSize)
	}
}

// A pattern over RE2's default budget is invalid in GitLab: as a literal it
// is a syntax error, in a variable it is matched as plain text.
func TestPatternTooLarge(t *testing.T) {
	big := "/" + strings.Repeat("a", maxInstructions) + "/"
	_, err := Parse(`$A =~ ` + big)
	var se *SyntaxError
	if !errors.As(err, &se) || !strings.Contains(se.Msg, "pattern too large") {
		t.Errorf("Parse(huge literal) error = %v, want pattern too large", err)
	}
	e, err := Parse(`$A =~ $B`)
	if err != nil {
		t.Fatal(err)
	}
	text := strings.Repeat("a", 2*maxInstructions)
	if e.Evaluate(mapLookup(map[string]string{"A": text, "B": big})) {
		t.Error("huge pattern in a variable matched as a pattern; want a plain-text search, which fails")
	}
	if !e.Evaluate(mapLookup(map[string]string{"A": big[:100], "B": big})) {
		t.Error("plain-text search of a prefix of the huge pattern failed")
	}
	small := "/" + strings.Repeat("a", 1000) + "/"
	if !e.Evaluate(mapLookup(map[string]string{"A": text, "B": small})) {
		t.Error("a 1000-character pattern did not match")
	}
}
