package ci_test

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/gantry-ci/gantry/ci"
)

// allocated returns the bytes f allocates.
func allocated(f func()) uint64 {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	f()
	runtime.ReadMemStats(&after)
	return after.TotalAlloc - before.TotalAlloc
}

func billionLaughs() string {
	var b strings.Builder
	b.WriteString("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n")
	for i := 1; i <= 9; i++ {
		fmt.Fprintf(&b, "a%d: &a%d [", i, i)
		for j := 0; j < 10; j++ {
			if j > 0 {
				b.WriteString(", ")
			}
			fmt.Fprintf(&b, "*a%d", i-1)
		}
		b.WriteString("]\n")
	}
	b.WriteString("job:\n  script: *a9\n")
	return b.String()
}

func deepNesting(n int) string {
	return "job:\n  script: echo\n  variables: " + strings.Repeat("[", n) + strings.Repeat("]", n) + "\n"
}

func deepBlock(n int) string {
	var b strings.Builder
	b.WriteString("job:\n  script: echo\n")
	for i := 0; i < n; i++ {
		b.WriteString(strings.Repeat(" ", 2*(i+1)) + "k:\n")
	}
	return b.String()
}

// TestBadInput feeds hostile configurations: each must give a positioned
// (or at least file-named) error, allocate a bounded amount of memory and
// never panic.
func TestBadInput(t *testing.T) {
	huge := "job:\n  script: echo\n" + strings.Repeat("# padding padding padding padding padding padding\n", 10<<20/50)
	tests := []struct {
		name     string
		src      string
		want     string
		maxAlloc uint64
		needLine bool
	}{
		{"malformed", "job:\n  script: [a, b\n  stage: test\n", "invalid YAML", 1 << 20, true},
		{"tabs", "job:\n\tscript: x\n", "invalid YAML", 1 << 20, true},
		{"10MB file", huge, "too big", 1 << 20, false},
		{"billion laughs", billionLaughs(), "too big", 64 << 20, false},
		{"1000-deep flow nesting", deepNesting(1000), "nesting deeper than 100", 16 << 20, true},
		{"1000-deep block nesting", deepBlock(1000), "nesting deeper than 100", 32 << 20, true},
		{"include cycle", "include: a.yml\njob: {script: x}\n", "include cycle detected", 1 << 20, true},
		{"self include", "include: .gitlab-ci.yml\njob: {script: x}\n", "include cycle detected", 1 << 20, true},
		{"recursive alias", "a: &a [*a]\njob: {script: x}\n", "", 1 << 20, false},
		{"not a hash", "just a string", "Invalid configuration format", 1 << 20, true},
		{"empty", "", "Please provide content", 1 << 20, false},
		{"binary", "\x00\x01\x02\xff\xfe", "", 1 << 20, false},
	}
	repo := fstest.MapFS{
		"a.yml":          {Data: []byte("include: b.yml\n")},
		"b.yml":          {Data: []byte("include: a.yml\n")},
		".gitlab-ci.yml": {Data: []byte("include: .gitlab-ci.yml\n")},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opts := ci.Options{Ref: "main", Source: "push", Includer: &ci.FSIncluder{FS: repo}}
			var err error
			src := []byte(tt.src)
			n := allocated(func() {
				_, err = ci.Compile(t.Context(), src, opts)
			})
			var list ci.Errors
			if !errors.As(err, &list) {
				t.Fatalf("got %v (%T), want ci.Errors", err, err)
			}
			if tt.want != "" && !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q lacks %q", err, tt.want)
			}
			e := list[0]
			if e.File == "" {
				t.Errorf("error has no file: %v", e)
			}
			if tt.needLine && e.Line == 0 {
				t.Errorf("error has no line: %v", e)
			}
			if n > tt.maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", n, tt.maxAlloc)
			}
		})
	}
}

// TestTooManyIncludes checks the include limit counts every inclusion.
func TestTooManyIncludes(t *testing.T) {
	repo := fstest.MapFS{"t.yml": {Data: []byte("x:\n  script: x\n")}}
	src := "include:\n" + strings.Repeat("  - t.yml\n", 151)
	_, err := ci.Compile(t.Context(), []byte(src), ci.Options{Includer: &ci.FSIncluder{FS: repo}})
	if err == nil || !strings.Contains(err.Error(), "Maximum of 150 nested includes are allowed!") {
		t.Fatalf("got %v", err)
	}
	src = "include:\n" + strings.Repeat("  - t.yml\n", 150)
	if _, err := ci.Compile(t.Context(), []byte(src), ci.Options{Ref: "main", Includer: &ci.FSIncluder{FS: repo}}); err != nil {
		t.Fatalf("150 includes: %v", err)
	}
}

// TestTotalSizeLimit bounds the bytes all included files add up to.
func TestTotalSizeLimit(t *testing.T) {
	big := "x:\n  script: x\n" + strings.Repeat("# pad\n", 20000)
	repo := fstest.MapFS{"t.yml": {Data: []byte(big)}}
	src := "include:\n" + strings.Repeat("  - t.yml\n", 10)
	opts := ci.Options{Includer: &ci.FSIncluder{FS: repo}, Limits: ci.Limits{MaxTotalSize: 500_000}}
	_, err := ci.Compile(t.Context(), []byte(src), opts)
	if err == nil || !strings.Contains(err.Error(), "too big") {
		t.Fatalf("got %v", err)
	}
}
