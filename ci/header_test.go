package ci_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/gantry-ci/gantry/ci"
)

// The first matching spec:inputs rule gives an input its options and
// default; a rule without if is the fallback.
func TestInputRules(t *testing.T) {
	src := `spec:
  inputs:
    target:
      rules:
        - if: $CI_COMMIT_BRANCH == "main"
          options: [production, canary]
          default: production
        - options: [review, staging]
          default: review
---
variables:
  TARGET: $[[ inputs.target ]]
deploy: {script: x}
`
	cases := []struct {
		ref    string
		inputs map[string]any
		want   string // TARGET, or the start of the error
	}{
		{ref: "main", want: "production"},
		{ref: "main", inputs: map[string]any{"target": "canary"}, want: "canary"},
		{ref: "topic", want: "review"},
		{ref: "topic", inputs: map[string]any{"target": "staging"}, want: "staging"},
		{ref: "topic", inputs: map[string]any{"target": "production"}, want: "`target` input: `production` cannot be used"},
	}
	for _, tc := range cases {
		plan, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: tc.ref, Source: "push", Inputs: tc.inputs})
		got := ""
		if err != nil {
			got = "error: " + err.Error()
		} else {
			for _, v := range plan.Variables {
				if v.Key == "TARGET" {
					got = v.Value
				}
			}
		}
		if !strings.Contains(got, tc.want) {
			t.Errorf("ref %s inputs %v: got %q, want %q", tc.ref, tc.inputs, got, tc.want)
		}
	}
}

// Header shapes GitLab's spec entries refuse, each with a positioned error.
func TestRejectedHeaders(t *testing.T) {
	for name, spec := range map[string]string{
		"unknown spec key":          "spec: {stages: [a]}",
		"spec include":              "spec: {include: [{local: inputs.yml}]}",
		"spec description":          "spec: {description: a reusable job}",
		"component field":           "spec: {component: [name, tag]}",
		"component string":          "spec: {component: name}",
		"rules beside default":      "spec: {inputs: {a: {default: x, rules: [{options: [x]}]}}}",
		"rules beside options":      "spec: {inputs: {a: {options: [x], rules: [{options: [x]}]}}}",
		"rule unknown key":          "spec: {inputs: {a: {rules: [{if: $X, default: x, when: always}]}}}",
		"rule if alone":             "spec: {inputs: {a: {rules: [{if: $X}]}}}",
		"fallback without options":  "spec: {inputs: {a: {rules: [{default: x}]}}}",
		"rules not a list":          "spec: {inputs: {a: {rules: {if: $X, default: x}}}}",
		"rule not a hash":           "spec: {inputs: {a: {rules: [always]}}}",
		"rule bad expression":       "spec: {inputs: {a: {rules: [{if: $X ==, default: x}]}}}",
		"fifty-one options":         "spec: {inputs: {a: {options: [" + strings.Repeat("x,", 50) + "x], default: x}}}",
		"fifty-one rule options":    "spec: {inputs: {a: {rules: [{options: [" + strings.Repeat("x,", 50) + "x]}]}}}",
		"input rules with a number": "spec: {inputs: {a: {rules: 3}}}",
	} {
		t.Run(name, func(t *testing.T) {
			src := spec + "\n---\nj: {script: x}\n"
			_, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push"})
			var list ci.Errors
			if !errors.As(err, &list) {
				t.Fatalf("accepted (err %v)", err)
			}
			if list[0].Line == 0 || strings.Contains(err.Error(), "required value") {
				t.Errorf("error without position or for the wrong reason: %v", err)
			}
		})
	}
}

// spec:component lists the $[[ component.* ]] fields a component uses.
func TestSpecComponentAccepted(t *testing.T) {
	src := "spec:\n  component: [name, sha, version, reference]\n  inputs: {a: {default: x}}\n---\nj: {script: x}\n"
	if _, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Source: "push"}); err != nil {
		t.Fatal(err)
	}
}
