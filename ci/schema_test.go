package ci_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"go.yaml.in/yaml/v3"

	"github.com/gantry-ci/gantry/ci"
	"github.com/gantry-ci/gantry/internal/corpus"
)

// ciSchema compiles GitLab's CI JSON schema from shared/.
func ciSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	path := filepath.Join(corpus.SharedDir(t), "corpus", "gitlab-ci-schema", "ci.json")
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(mustRead(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("https://gitlab.com/ci.json", doc); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile("https://gitlab.com/ci.json")
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// jsonValue turns YAML-decoded values into what the schema validator
// expects (JSON numbers, string-keyed maps).
func jsonValue(v any) any {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			v[k] = jsonValue(x)
		}
		return v
	case []any:
		for i, x := range v {
			v[i] = jsonValue(x)
		}
		return v
	case int:
		return json.Number(fmt.Sprint(v))
	case float64:
		return json.Number(fmt.Sprint(v))
	}
	return v
}

func validateMerged(t *testing.T, s *jsonschema.Schema, name, merged string) {
	t.Helper()
	var v any
	if err := yaml.Unmarshal([]byte(merged), &v); err != nil {
		t.Errorf("%s: merged_yaml does not parse: %v", name, err)
		return
	}
	if err := s.Validate(jsonValue(v)); err != nil {
		t.Errorf("%s: merged_yaml does not satisfy GitLab's schema: %v\n%s", name, err, merged)
	}
}

// TestMergedYAMLSchema validates every merged_yaml Gantry produces for a
// valid configuration (golden files and corpus cases) against GitLab's
// CI JSON schema.
func TestMergedYAMLSchema(t *testing.T) {
	s := ciSchema(t)
	n := 0
	files, _ := filepath.Glob("testdata/golden/*.yml")
	for _, f := range files {
		plan, err := ci.Compile(t.Context(), mustRead(t, f), goldenOptions())
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		validateMerged(t, s, f, plan.MergedYAML)
		n++
	}
	cases, err := corpus.Load(corpus.Dir(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		for _, ct := range c.Tests {
			if ct.Skip || c.TestNeedsNetwork(ct) || wantError(ct) {
				continue
			}
			opts, src, err := corpusOptions(c, ct)
			if err != nil {
				continue
			}
			plan, err := ci.Compile(t.Context(), src, opts)
			if err != nil {
				continue // covered by TestConformance
			}
			validateMerged(t, s, c.Name+" | "+ct.Name, plan.MergedYAML)
			n++
		}
	}
	t.Logf("%d merged configurations validated against ci.json", n)
	if n < 100 {
		t.Errorf("only %d configurations validated; the corpus or golden files went missing", n)
	}
}

// TestSchemaCatchesInvalid makes sure the validator is live: a config
// GitLab rejects fails the schema too.
func TestSchemaCatchesInvalid(t *testing.T) {
	s := ciSchema(t)
	var v any
	if err := yaml.Unmarshal([]byte("job:\n  script: x\n  when: sometimes\n"), &v); err != nil {
		t.Fatal(err)
	}
	if err := s.Validate(jsonValue(v)); err == nil || !strings.Contains(err.Error(), "when") {
		t.Errorf("schema accepted when: sometimes (err %v)", err)
	}
}
