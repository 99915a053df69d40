package ci

import "testing"

// TestExpand covers GitLab-side expansion: $VAR, ${VAR}, %VAR%, recursion,
// unknown references and $$ kept, raw variables not expanded.
func TestExpand(t *testing.T) {
	sc := newScope([]Variable{
		{Key: "A", Value: "a"}, {Key: "B", Value: "<$A>"}, {Key: "LOOP", Value: "$LOOP"},
		{Key: "RAW", Value: "$A", Raw: true}, {Key: "EMPTY", Value: ""},
	})
	tests := map[string]string{
		"$A":            "a",
		"${A}x":         "ax",
		"%A%":           "a",
		"$B":            "<a>",
		"$UNKNOWN/$A":   "$UNKNOWN/a",
		"${UNKNOWN}":    "${UNKNOWN}",
		"$$A":           "$$A",
		"$RAW":          "$A",
		"x$EMPTY-y":     "x-y",
		"$LOOP":         "$LOOP",
		"100%":          "100%",
		"$":             "$",
		"${A":           "${A",
		"no references": "no references",
	}
	for in, want := range tests {
		if got := sc.expand(in); got != want {
			t.Errorf("expand(%q) = %q, want %q", in, got, want)
		}
	}
}
