package expr

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/internal/corpus"
)

type corpusRow struct {
	Expr      string            `json:"expr"`
	Variables map[string]string `json:"variables"`
	Expected  any               `json:"expected"` // true, false or "error"
	Note      string            `json:"note"`
}

// gitlabDiffers lists the rows where gitlab-ci-local (whose outcomes the
// corpus records) differs from GitLab, with GitLab's verdict. GitLab's
// Lexeme::Matches converts a string right operand that does not read
// /re/flags with nothing and calls String#scan on it, i.e. it tests whether
// the left text occurs in the right string; gitlab-ci-local refuses it.
var gitlabDiffers = map[string]bool{
	`"23" =~ "1234"`: true,
	`"23" =~ '1234'`: true,
}

func TestCorpusRulesIf(t *testing.T) {
	path := filepath.Join(corpus.Dir(t), "_tables", "rules_if.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read corpus: %v", err)
	}
	var table struct {
		Rows []corpusRow `json:"rows"`
	}
	if err := json.Unmarshal(data, &table); err != nil {
		t.Fatalf("decode %s: %v", path, err)
	}
	if len(table.Rows) < 50 {
		t.Fatalf("%s has %d rows, want at least 50", path, len(table.Rows))
	}
	for i, row := range table.Rows {
		t.Run(row.Expr, func(t *testing.T) {
			got, err := Eval(row.Expr, mapLookup(row.Variables))
			want := row.Expected
			if gl, ok := gitlabDiffers[row.Expr]; ok {
				if want != "error" {
					t.Fatalf("row %d: corpus now expects %v; drop it from gitlabDiffers", i, want)
				}
				want = gl
			}
			if want == "error" {
				var se *SyntaxError
				if !errors.As(err, &se) || !strings.Contains(err.Error(), "invalid expression syntax") {
					t.Fatalf("row %d: Eval = %v, %v; want a *SyntaxError", i, got, err)
				}
				return
			}
			if err != nil || got != want {
				t.Errorf("row %d: Eval = %v, %v; want %v (note: %s)", i, got, err, want, row.Note)
			}
		})
	}
}

func mapLookup(m map[string]string) Lookup {
	return func(name string) (string, bool) {
		v, ok := m[name]
		return v, ok
	}
}
